//! SCIM Users: accounts, with the `userName`, `externalId` and email labels a provisioning
//! client gave them, and the enterprise extension as the deployment keeps it.

use gatehouse_core::admin::{email_address, UserAction};
use gatehouse_core::password::check_new_password;
use gatehouse_core::scim::{
    apply_patch, get_attr, Filter, PatchOp, PatchOpKind, ScimError, ENTERPRISE_USER_SCHEMA,
    USER_SCHEMA,
};
use gatehouse_core::webhooks;
use gatehouse_store::changes::recording;
use gatehouse_store::{
    AccountStore, LifecycleStore, NewSignUp, OrgStore, ScimUserFields, ScimUserStore, StoreError,
    UserRecord, UserStore,
};
use serde_json::{json, Value};

use super::enterprise::EnterpriseMap;
use super::{precondition, text, uniqueness, with_meta, Result, ScimFailure};
use crate::services::audit;
use crate::services::authority::Authority;
use crate::services::users::{self, UserUpdate};
use crate::state::AppState;

const USER_READ_ONLY: &[&str] = &["id", "meta", "schemas", "groups"];
const NAME_TAKEN: &str = "A user with this userName already exists";
const EMAIL_TAKEN: &str = "A user with this email already exists";

/// The userName SCIM shows: the one a provisioning client gave, else the email (else the authId).
fn user_name_of(user: &UserRecord) -> &str {
    user.scim_user_name
        .as_deref()
        .or(user.email.as_deref())
        .unwrap_or(&user.auth_id)
}

/// The user as SCIM shows it: `id` is the authId, `userName` and `externalId` what the
/// provisioning client gave (`userName` falls back to the email), `enterprise` the extension's
/// stored values.
fn user_json(user: &UserRecord, base: &str, enterprise: serde_json::Map<String, Value>) -> Value {
    let mut name = serde_json::Map::new();
    for (key, value) in [
        ("givenName", &user.first_name),
        ("familyName", &user.last_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            name.insert(key.into(), Value::from(v));
        }
    }
    let mut schemas = vec![USER_SCHEMA];
    if !enterprise.is_empty() {
        schemas.push(ENTERPRISE_USER_SCHEMA);
    }
    let mut resource = json!({
        "schemas": schemas,
        "id": user.auth_id,
        "userName": user_name_of(user),
        "active": user.is_active,
    });
    if let Some(object) = resource.as_object_mut() {
        if let Some(external_id) = &user.scim_external_id {
            object.insert("externalId".into(), Value::from(external_id.as_str()));
        }
        if !name.is_empty() {
            object.insert("name".into(), Value::Object(name));
        }
        if let Some(email) = &user.email {
            let kind = user.scim_email_type.as_deref().unwrap_or("work");
            let primary = user.scim_email_primary.unwrap_or(true);
            object.insert(
                "emails".into(),
                json!([{"value": email, "type": kind, "primary": primary}]),
            );
        }
        if !enterprise.is_empty() {
            object.insert(ENTERPRISE_USER_SCHEMA.into(), Value::Object(enterprise));
        }
    }
    with_meta(
        resource,
        "User",
        format!("{base}/Users/{}", user.auth_id),
        user.created_at,
        user.updated_at,
    )
}

/// `active` as a boolean; some clients send the strings "True" and "False".
fn active_of(resource: &Value) -> std::result::Result<Option<bool>, ScimError> {
    match get_attr(resource, "active") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ScimError::invalid_value("active must be a boolean")),
    }
}

/// The one email a resource gives, with the labels to keep.
struct GivenEmail {
    address: String,
    kind: Option<String>,
    primary: Option<bool>,
}

/// The email `emails` gives: `None` when it gives none. A user has one address, so more than
/// one is refused rather than some dropped.
fn given_email(resource: &Value) -> std::result::Result<Option<GivenEmail>, ScimError> {
    let emails = match get_attr(resource, "emails") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(emails)) => emails,
        Some(_) => return Err(ScimError::invalid_value("emails must be an array")),
    };
    let email = match emails.as_slice() {
        [] => return Ok(None),
        [email] => email,
        _ => {
            return Err(ScimError::invalid_value(
                "A user has one email: give emails a single value (the sign-in address)",
            ))
        }
    };
    let value = text(email, &["value"])
        .ok_or_else(|| ScimError::invalid_value("emails[].value is required"))?;
    let address = email_address(value)
        .map_err(|_| ScimError::invalid_value(format!("{value} is not an email address")))?;
    let kind = match get_attr(email, "type") {
        None | Some(Value::Null) => None,
        Some(Value::String(kind)) => Some(kind.clone()),
        Some(_) => return Err(ScimError::invalid_value("emails[].type must be a string")),
    };
    let primary = match get_attr(email, "primary") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(primary)) => Some(*primary),
        Some(_) => {
            return Err(ScimError::invalid_value(
                "emails[].primary must be a boolean",
            ))
        }
    };
    Ok(Some(GivenEmail {
        address,
        kind,
        primary,
    }))
}

/// The userName a resource asks for: required, and not blank.
fn user_name_in(resource: &Value) -> std::result::Result<&str, ScimError> {
    text(resource, &["userName"])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))
}

/// The names and `active` a resource asks for; a missing name part is cleared when `replace`.
fn user_update(resource: &Value, replace: bool) -> std::result::Result<UserUpdate, ScimError> {
    let part = |name: &str| {
        let value = text(resource, &["name", name]).map(str::to_owned);
        if replace {
            Some(value.unwrap_or_default())
        } else {
            value
        }
    };
    Ok(UserUpdate {
        first_name: part("givenName"),
        last_name: part("familyName"),
        is_active: active_of(resource)?,
        ..UserUpdate::default()
    })
}

/// What a write does with the password.
enum PasswordChange<'a> {
    Keep,
    Set(&'a str),
    Remove,
}

fn checked_password(password: &str) -> std::result::Result<&str, ScimError> {
    check_new_password(password).map_err(|e| ScimError::invalid_value(e.to_string()))?;
    Ok(password)
}

async fn shown(
    state: &AppState,
    map: &EnterpriseMap,
    user: &UserRecord,
    base: &str,
) -> Result<Value> {
    Ok(user_json(user, base, map.values(state, user).await?))
}

pub async fn get_user(state: &AppState, auth_id: &str, base: &str) -> Result<Value> {
    let user = users::user(&state.store, auth_id).await?;
    shown(state, &EnterpriseMap::load(state).await?, &user, base).await
}

/// Every user matching `filter`, oldest first (evaluated in memory: the filter language reaches
/// past what one query can say, and an exact `id` is looked up directly).
pub async fn list_users(
    state: &AppState,
    filter: Option<&Filter>,
    base: &str,
) -> Result<Vec<Value>> {
    let found = match filter.and_then(|f| f.equality_on("id")) {
        Some(id) => state.store.user_by_auth_id(id).await?.into_iter().collect(),
        None => users::list(&state.store, None, None).await?.0,
    };
    let map = EnterpriseMap::load(state).await?;
    let mut matching = Vec::new();
    for user in &found {
        let resource = shown(state, &map, user, base).await?;
        if filter.is_none_or(|f| f.matches(&resource)) {
            matching.push(resource);
        }
    }
    Ok(matching)
}

pub async fn create_user(
    state: &AppState,
    authority: &Authority,
    body: &Value,
    base: &str,
) -> Result<Value> {
    let user_name = user_name_in(body)?;
    let given = given_email(body)?;
    let email = match &given {
        Some(given) => given.address.clone(),
        None => email_address(user_name).map_err(|_| {
            ScimError::invalid_value("an email is needed: give emails or an email userName")
        })?,
    };
    let password_hash = match text(body, &["password"]) {
        Some(password) => Some(
            state
                .passwords
                .hash(checked_password(password)?.to_owned())
                .await?,
        ),
        None => None,
    };
    if state.store.scim_user_name_taken(user_name, None).await? {
        return Err(uniqueness(NAME_TAKEN).into());
    }
    if state.store.password_account(&email).await?.is_some() {
        return Err(uniqueness(EMAIL_TAKEN).into());
    }
    let map = EnterpriseMap::load(state).await?;
    let enterprise = map.write(&json!({}), body)?;
    let update = user_update(body, false)?;
    let locale = state
        .config
        .supported_locales
        .first()
        .cloned()
        .unwrap_or_else(|| "en".to_owned());
    let user = state
        .store
        .insert_sign_up(&NewSignUp {
            auth_id: uuid::Uuid::new_v4().to_string(),
            email,
            password_hash,
            first_name: update.first_name.clone(),
            last_name: update.last_name.clone(),
            locale,
        })
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => ScimFailure::Scim(uniqueness(EMAIL_TAKEN)),
            other => other.into(),
        })?;
    let finished = async {
        // The provisioning system vouches for the address of an account it creates, as an
        // admin does; a later change of address is unverified (see `users::set_email`).
        state.store.set_email_verified(user.id).await?;
        write_scim_fields(state, &user, body, given.as_ref()).await?;
        let later = UserUpdate {
            is_active: update.is_active.filter(|active| !active),
            attributes: Some(enterprise.attributes).filter(|a| !a.is_empty()),
            ..UserUpdate::default()
        };
        if later.is_active.is_some() || later.attributes.is_some() {
            users::update(state, authority, &user.auth_id, later).await?;
        }
        if let Some(slug) = &enterprise.organization {
            join_org(state, authority, &user, slug).await?;
        }
        Ok::<(), ScimFailure>(())
    };
    if let Err(refused) = finished.await {
        // An attribute or organization refused: the user is not left half made.
        state.store.delete_user(user.id).await?;
        return Err(refused);
    }
    get_user(state, &user.auth_id, base).await
}

/// Makes `slug` the user's active organization, making them a member first.
async fn join_org(
    state: &AppState,
    authority: &Authority,
    user: &UserRecord,
    slug: &str,
) -> Result<()> {
    let org =
        state.store.org_by_slug(slug).await?.ok_or_else(|| {
            ScimError::invalid_value(format!("No organization has the slug {slug}"))
        })?;
    if !state.store.is_org_member(user.id, org.id).await? {
        let mut ids: Vec<i64> = state
            .store
            .user_orgs(user.id)
            .await?
            .iter()
            .map(|o| o.id)
            .collect();
        ids.push(org.id);
        users::set_orgs(&state.store, &user.auth_id, &ids).await?;
    }
    let update = UserUpdate {
        org_slug: Some(org.slug),
        ..UserUpdate::default()
    };
    users::update(state, authority, &user.auth_id, update).await?;
    Ok(())
}

/// Writes the userName, externalId and email labels `wanted` asks for when they differ from
/// the user's (`user` as it is now, its email already changed). The userName is checked for
/// uniqueness before; the database's unique index answers a race.
async fn write_scim_fields(
    state: &AppState,
    user: &UserRecord,
    wanted: &Value,
    email: Option<&GivenEmail>,
) -> Result<()> {
    let user_name = user_name_in(wanted)?;
    // Defaults are not stored, so what is shown stays what was given.
    let fields = ScimUserFields {
        // A userName equal to the email is not stored, so it follows the email.
        user_name: Some(user_name).filter(|n| user.email.as_deref() != Some(*n)),
        external_id: text(wanted, &["externalId"]),
        email_type: match email {
            Some(email) => email.kind.as_deref().filter(|k| *k != "work"),
            None => user.scim_email_type.as_deref(),
        },
        email_primary: match email {
            Some(email) => email.primary.filter(|primary| !primary),
            None => user.scim_email_primary,
        },
    };
    if fields.user_name == user.scim_user_name.as_deref()
        && fields.external_id == user.scim_external_id.as_deref()
        && fields.email_type == user.scim_email_type.as_deref()
        && fields.email_primary == user.scim_email_primary
    {
        return Ok(());
    }
    let change = audit::user_change(user, "scim_fields_set", webhooks::USER_UPDATED)
        .field("scimUserName", &user.scim_user_name, fields.user_name)
        .field("scimExternalId", &user.scim_external_id, fields.external_id)
        .field("scimEmailType", &user.scim_email_type, fields.email_type)
        .field(
            "scimEmailPrimary",
            user.scim_email_primary,
            fields.email_primary,
        );
    recording(change, state.store.set_scim_fields(user.id, fields))
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => ScimFailure::Scim(uniqueness(NAME_TAKEN)),
            other => other.into(),
        })
}

/// Makes the user what `wanted` says: checks everything that can be refused before writing.
/// `replace` clears missing name parts (PUT); `password` is what the request does with it.
async fn write_user(
    state: &AppState,
    authority: &Authority,
    user: &UserRecord,
    current: &Value,
    wanted: &Value,
    password: PasswordChange<'_>,
) -> Result<()> {
    let user_name = user_name_in(wanted)?;
    let given = given_email(wanted)?;
    let new_email = given
        .as_ref()
        .map(|g| g.address.as_str())
        .filter(|address| user.email.as_deref() != Some(*address));
    let mut update = user_update(wanted, true)?;
    if update.is_active == Some(user.is_active) {
        update.is_active = None;
    }
    let map = EnterpriseMap::load(state).await?;
    let enterprise = map.write(current, wanted)?;
    if !enterprise.attributes.is_empty() {
        update.attributes = Some(enterprise.attributes);
    }
    if let PasswordChange::Set(password) = &password {
        checked_password(password)?;
    }
    // Refusals first, so a refused request changes nothing.
    if user_name != user_name_of(user)
        && state
            .store
            .scim_user_name_taken(user_name, Some(user.id))
            .await?
    {
        return Err(uniqueness(NAME_TAKEN).into());
    }
    if let Some(address) = new_email {
        users::may_change_sign_in(state, authority, user, UserAction::ChangeEmail).await?;
        if state.store.email_in_use(address).await? {
            return Err(uniqueness(EMAIL_TAKEN).into());
        }
    }
    if !matches!(password, PasswordChange::Keep) {
        users::may_change_sign_in(state, authority, user, UserAction::SetPassword).await?;
    }
    users::update(state, authority, &user.auth_id, update).await?;
    if let Some(address) = new_email {
        users::set_email(state, authority, &user.auth_id, address).await?;
    }
    match password {
        PasswordChange::Keep => {}
        PasswordChange::Set(password) => {
            users::set_password(state, authority, &user.auth_id, Some(password)).await?;
        }
        PasswordChange::Remove => {
            users::set_password(state, authority, &user.auth_id, None).await?;
        }
    }
    let user = users::user(&state.store, &user.auth_id).await?;
    write_scim_fields(state, &user, wanted, given.as_ref()).await?;
    if let Some(slug) = &enterprise.organization {
        join_org(state, authority, &user, slug).await?;
    }
    Ok(())
}

pub async fn replace_user(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    body: &Value,
    if_match: Option<&str>,
    base: &str,
) -> Result<Value> {
    let user = users::user(&state.store, auth_id).await?;
    let current = get_user(state, auth_id, base).await?;
    precondition(&current, if_match)?;
    // A write-only password left out of a PUT is kept: clients that read, change and put a
    // user back never have it.
    let password = match text(body, &["password"]) {
        Some(password) => PasswordChange::Set(password),
        None => PasswordChange::Keep,
    };
    write_user(state, authority, &user, &current, body, password).await?;
    get_user(state, auth_id, base).await
}

pub async fn patch_user(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    ops: &[PatchOp],
    if_match: Option<&str>,
    base: &str,
) -> Result<Value> {
    let user = users::user(&state.store, auth_id).await?;
    let current = get_user(state, auth_id, base).await?;
    precondition(&current, if_match)?;
    let removes = |attribute: &str| {
        ops.iter().any(|op| {
            op.op == PatchOpKind::Remove
                && op
                    .path
                    .as_ref()
                    .is_some_and(|p| p.attribute.eq_ignore_ascii_case(attribute))
        })
    };
    if removes("active") {
        return Err(ScimError::mutability(
            "active cannot be removed: replace it with false to disable the user",
        )
        .into());
    }
    let mut patched = current.clone();
    apply_patch(&mut patched, ops, USER_READ_ONLY)?;
    // The password is never shown, so the patched user holds one only when the patch sets it.
    let password = match text(&patched, &["password"]) {
        Some(password) => PasswordChange::Set(password),
        None if removes("password") => PasswordChange::Remove,
        None => PasswordChange::Keep,
    };
    write_user(state, authority, &user, &current, &patched, password).await?;
    get_user(state, auth_id, base).await
}

pub async fn delete_user(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    if_match: Option<&str>,
    base: &str,
) -> Result<()> {
    let current = get_user(state, auth_id, base).await?;
    precondition(&current, if_match)?;
    users::delete(state, authority, auth_id).await?;
    Ok(())
}
