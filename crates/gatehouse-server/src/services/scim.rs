//! SCIM 2.0 provisioning: users and groups (our roles) shown as SCIM resources, changed through
//! the users and roles services so their rules (email uniqueness, protected roles, password
//! policy, cache invalidation) apply. Parsing and patching live in `gatehouse_core::scim`.

use gatehouse_core::admin::email_address;
use gatehouse_core::password::check_new_password;
use gatehouse_core::scim::{
    apply_patch, get_attr, version_of, Filter, PatchOp, ScimError, GROUP_SCHEMA, USER_SCHEMA,
};
use gatehouse_core::ErrorClass;
use gatehouse_store::{
    AccountStore, LifecycleStore, NewSignUp, RoleRecord, RoleStore, ScimUserStore, StoreError,
    UserRecord, UserStore,
};
use serde_json::{json, Value};

use super::authority::Authority;
use super::users::{self, UserUpdate};
use crate::error::ServiceError;
use crate::state::AppState;

/// A SCIM refusal, or a service's one (mapped to SCIM at the edge).
#[derive(Debug)]
pub enum ScimFailure {
    Scim(ScimError),
    Service(ServiceError),
}

impl From<ScimError> for ScimFailure {
    fn from(err: ScimError) -> Self {
        Self::Scim(err)
    }
}

impl From<ServiceError> for ScimFailure {
    fn from(err: ServiceError) -> Self {
        Self::Service(err)
    }
}

impl From<StoreError> for ScimFailure {
    fn from(err: StoreError) -> Self {
        Self::Service(err.into())
    }
}

impl ScimFailure {
    /// The SCIM error to answer, and the service error to log when it is a server fault.
    pub fn into_scim(self) -> (ScimError, Option<ServiceError>) {
        let err = match self {
            Self::Scim(err) => return (err, None),
            Self::Service(err) => err,
        };
        let detail = err.to_string();
        let scim = match err.class() {
            ErrorClass::Invalid => ScimError::invalid_value(detail),
            ErrorClass::Unauthenticated => ScimError::status(401, detail),
            ErrorClass::Forbidden => ScimError::status(403, detail),
            ErrorClass::NotFound => ScimError::status(404, detail),
            ErrorClass::Conflict => ScimError {
                status: 409,
                scim_type: Some("uniqueness"),
                detail,
            },
            ErrorClass::Upstream | ErrorClass::Unavailable | ErrorClass::Internal => {
                let shown = format!("Internal error ({})", err.internal_code());
                return (ScimError::status(500, shown), Some(err));
            }
        };
        (scim, None)
    }
}

type Result<T> = std::result::Result<T, ScimFailure>;

const MEMBERS_READ_ONLY: &[&str] = &["id", "meta", "schemas"];
const USER_READ_ONLY: &[&str] = &["id", "meta", "schemas", "groups"];

fn timestamp(at: chrono::NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn with_meta(
    mut resource: Value,
    kind: &str,
    location: String,
    created: String,
    modified: String,
) -> Value {
    let version = version_of(&resource);
    if let Some(object) = resource.as_object_mut() {
        object.insert(
            "meta".into(),
            json!({"resourceType": kind, "created": created, "lastModified": modified,
                   "location": location, "version": version}),
        );
    }
    resource
}

/// The userName SCIM shows: the one a provisioning client gave, else the email (else the authId).
fn user_name_of(user: &UserRecord) -> &str {
    user.scim_user_name
        .as_deref()
        .or(user.email.as_deref())
        .unwrap_or(&user.auth_id)
}

/// The user as SCIM shows it: `id` is the authId, `userName` and `externalId` what the
/// provisioning client gave (`userName` falls back to the email).
pub fn user_json(user: &UserRecord, base: &str) -> Value {
    let mut name = serde_json::Map::new();
    for (key, value) in [
        ("givenName", &user.first_name),
        ("familyName", &user.last_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            name.insert(key.into(), Value::from(v));
        }
    }
    let mut resource = json!({
        "schemas": [USER_SCHEMA],
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
            object.insert(
                "emails".into(),
                json!([{"value": email, "type": "work", "primary": true}]),
            );
        }
    }
    with_meta(
        resource,
        "User",
        format!("{base}/Users/{}", user.auth_id),
        timestamp(user.created_at),
        timestamp(user.updated_at),
    )
}

pub fn group_json(role: &RoleRecord, members: &[UserRecord], base: &str) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|u| {
            json!({"value": u.auth_id, "$ref": format!("{base}/Users/{}", u.auth_id),
                   "display": user_name_of(u), "type": "User"})
        })
        .collect();
    let mut resource =
        json!({"schemas": [GROUP_SCHEMA], "id": role.id.to_string(), "displayName": role.name});
    if !members.is_empty() {
        if let Some(object) = resource.as_object_mut() {
            object.insert("members".into(), Value::Array(members));
        }
    }
    with_meta(
        resource,
        "Group",
        format!("{base}/Groups/{}", role.id),
        timestamp(role.created_at),
        timestamp(role.updated_at),
    )
}

fn text<'a>(resource: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = resource;
    for name in path {
        at = get_attr(at, name)?;
    }
    at.as_str()
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

/// The primary (else the first) `emails[].value` of a resource.
fn given_email(resource: &Value) -> Option<&str> {
    let Some(Value::Array(emails)) = get_attr(resource, "emails") else {
        return None;
    };
    let primary = emails
        .iter()
        .find(|e| get_attr(e, "primary").and_then(Value::as_bool) == Some(true));
    primary
        .into_iter()
        .chain(emails.iter())
        .find_map(|e| text(e, &["value"]))
}

/// The account's email for a new SCIM user: the primary (or first) email given, else the
/// userName when it is an email address.
fn email_for_new_user(body: &Value, user_name: &str) -> std::result::Result<String, ScimError> {
    match given_email(body) {
        Some(email) => email_address(email)
            .map_err(|_| ScimError::invalid_value(format!("{email} is not an email address"))),
        None => email_address(user_name).map_err(|_| {
            ScimError::invalid_value("an email is needed: give emails or an email userName")
        }),
    }
}

/// The userName a resource asks for: required, and not blank.
fn user_name_in(resource: &Value) -> std::result::Result<&str, ScimError> {
    text(resource, &["userName"])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))
}

/// Writes the userName and externalId `wanted` asks for when they differ from the user's; a
/// userName another user shows is a `uniqueness` refusal.
async fn write_scim_fields(state: &AppState, user: &UserRecord, wanted: &Value) -> Result<()> {
    let user_name = user_name_in(wanted)?;
    let external_id = text(wanted, &["externalId"]);
    if user_name == user_name_of(user) && external_id == user.scim_external_id.as_deref() {
        return Ok(());
    }
    let stored = if user.scim_user_name.is_none() && user.email.as_deref() == Some(user_name) {
        None
    } else {
        Some(user_name)
    };
    if stored.is_some()
        && state
            .store
            .scim_user_name_taken(user_name, Some(user.id))
            .await?
    {
        return Err(uniqueness("A user with this userName already exists").into());
    }
    state
        .store
        .set_scim_fields(user.id, stored, external_id)
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => {
                ScimFailure::Scim(uniqueness("A user with this userName already exists"))
            }
            other => other.into(),
        })
}

/// Refuses emails other than the user's: SCIM does not change emails here (a change of sign-in
/// address goes through verification).
fn same_email(user: &UserRecord, resource: &Value) -> std::result::Result<(), ScimError> {
    let current = user.email.clone().unwrap_or_else(|| user.auth_id.clone());
    let differs = |v: &str| !v.trim().eq_ignore_ascii_case(&current);
    if let Some(Value::Array(emails)) = get_attr(resource, "emails") {
        if emails
            .iter()
            .filter_map(|e| text(e, &["value"]))
            .any(differs)
        {
            return Err(ScimError::mutability(
                "emails cannot be changed through SCIM",
            ));
        }
    }
    Ok(())
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

pub async fn get_user(state: &AppState, auth_id: &str, base: &str) -> Result<Value> {
    Ok(user_json(&users::user(&state.store, auth_id).await?, base))
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
    Ok(found
        .iter()
        .map(|u| user_json(u, base))
        .filter(|u| filter.is_none_or(|f| f.matches(u)))
        .collect())
}

pub async fn create_user(
    state: &AppState,
    authority: &Authority,
    body: &Value,
    base: &str,
) -> Result<Value> {
    let user_name = user_name_in(body)?;
    let email = email_for_new_user(body, user_name)?;
    let password_hash = match text(body, &["password"]) {
        Some(password) => {
            check_new_password(password).map_err(|e| ScimError::invalid_value(e.to_string()))?;
            Some(state.passwords.hash(password.to_owned()).await?)
        }
        None => None,
    };
    if state.store.scim_user_name_taken(user_name, None).await? {
        return Err(uniqueness("A user with this userName already exists").into());
    }
    if state.store.password_account(&email).await?.is_some() {
        return Err(uniqueness("A user with this email already exists").into());
    }
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
            StoreError::Conflict(_) => {
                ScimFailure::Scim(uniqueness("A user with this email already exists"))
            }
            other => other.into(),
        })?;
    write_scim_fields(state, &user, body).await?;
    // The provisioning system vouches for the address, as an admin does.
    state.store.set_email_verified(user.id).await?;
    if update.is_active == Some(false) {
        let deactivate = UserUpdate {
            is_active: Some(false),
            ..UserUpdate::default()
        };
        users::update(state, authority, &user.auth_id, deactivate).await?;
    }
    get_user(state, &user.auth_id, base).await
}

fn uniqueness(detail: &str) -> ScimError {
    ScimError {
        status: 409,
        scim_type: Some("uniqueness"),
        detail: detail.into(),
    }
}

/// Checks `If-Match` against the resource as it is now.
fn precondition(current: &Value, if_match: Option<&str>) -> std::result::Result<(), ScimError> {
    let version = text(current, &["meta", "version"]).unwrap_or_default();
    if gatehouse_core::scim::if_match_allows(if_match, version) {
        Ok(())
    } else {
        Err(ScimError::status(
            412,
            "The resource changed since it was read (If-Match)",
        ))
    }
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
    precondition(&user_json(&user, base), if_match)?;
    same_email(&user, body)?;
    let update = user_update(body, true)?;
    write_scim_fields(state, &user, body).await?;
    users::update(state, authority, auth_id, update).await?;
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
    let current = user_json(&user, base);
    precondition(&current, if_match)?;
    let mut patched = current.clone();
    apply_patch(&mut patched, ops, USER_READ_ONLY)?;
    same_email(&user, &patched)?;
    let mut update = user_update(&patched, true)?;
    write_scim_fields(state, &user, &patched).await?;
    // Only what the patch changed is written.
    if update.is_active == Some(user.is_active) {
        update.is_active = None;
    }
    users::update(state, authority, auth_id, update).await?;
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

fn role_id(id: &str) -> Result<i64> {
    id.parse()
        .map_err(|_| ScimFailure::Scim(ScimError::status(404, "Group not found")))
}

pub async fn get_group(state: &AppState, id: &str, base: &str) -> Result<Value> {
    let id = role_id(id)?;
    let roles = state.roles();
    let role = roles.get(id).await?;
    Ok(group_json(&role, &roles.users(id).await?, base))
}

pub async fn list_groups(
    state: &AppState,
    filter: Option<&Filter>,
    base: &str,
) -> Result<Vec<Value>> {
    let mut shown = Vec::new();
    for role in state.roles().list().await? {
        let members = state.store.users_with_role(role.id).await?;
        let group = group_json(&role, &members, base);
        if filter.is_none_or(|f| f.matches(&group)) {
            shown.push(group);
        }
    }
    Ok(shown)
}

fn member_ids(group: &Value) -> Vec<String> {
    match get_attr(group, "members") {
        Some(Value::Array(members)) => members
            .iter()
            .filter_map(|m| text(m, &["value"]).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Adds or removes a user from a role through the users service (so protected roles hold).
async fn set_member(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    role: &str,
    member: bool,
) -> Result<()> {
    let user = users::user(&state.store, auth_id).await.map_err(|_| {
        ScimFailure::Scim(ScimError::invalid_value(format!(
            "No user {auth_id} to be a member"
        )))
    })?;
    let mut held = state.store.user_role_names(user.id).await?;
    if held.iter().any(|r| r == role) == member {
        return Ok(());
    }
    if member {
        held.push(role.to_owned());
    } else {
        held.retain(|r| r != role);
    }
    let update = UserUpdate {
        roles: Some(held),
        ..UserUpdate::default()
    };
    users::update(state, authority, auth_id, update).await?;
    Ok(())
}

/// Makes the role's name and members those of `wanted`.
async fn write_group(
    state: &AppState,
    authority: &Authority,
    role: RoleRecord,
    current: &Value,
    wanted: &Value,
) -> Result<()> {
    let name = text(wanted, &["displayName"])
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let mut role = role;
    if name != role.name {
        role = state
            .roles()
            .update(authority, role.id, Some(name), None)
            .await?;
    }
    let (before, after) = (member_ids(current), member_ids(wanted));
    for id in after.iter().filter(|id| !before.contains(id)) {
        set_member(state, authority, id, &role.name, true).await?;
    }
    for id in before.iter().filter(|id| !after.contains(id)) {
        set_member(state, authority, id, &role.name, false).await?;
    }
    Ok(())
}

pub async fn create_group(
    state: &AppState,
    authority: &Authority,
    body: &Value,
    base: &str,
) -> Result<Value> {
    let name = text(body, &["displayName"])
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let role = state
        .roles()
        .create(authority, name, None)
        .await
        .map_err(|err| match err {
            ServiceError::Conflict(_) => ScimFailure::Scim(ScimError {
                status: 409,
                scim_type: Some("uniqueness"),
                detail: "A group with this displayName already exists".into(),
            }),
            other => other.into(),
        })?;
    let id = role.id.to_string();
    let empty = group_json(&role, &[], base);
    write_group(state, authority, role, &empty, body).await?;
    get_group(state, &id, base).await
}

pub async fn replace_group(
    state: &AppState,
    authority: &Authority,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
    base: &str,
) -> Result<Value> {
    let current = get_group(state, id, base).await?;
    precondition(&current, if_match)?;
    let role = state.roles().get(role_id(id)?).await?;
    write_group(state, authority, role, &current, body).await?;
    get_group(state, id, base).await
}

pub async fn patch_group(
    state: &AppState,
    authority: &Authority,
    id: &str,
    ops: &[PatchOp],
    if_match: Option<&str>,
    base: &str,
) -> Result<Value> {
    let current = get_group(state, id, base).await?;
    precondition(&current, if_match)?;
    let mut patched = current.clone();
    apply_patch(&mut patched, ops, MEMBERS_READ_ONLY)?;
    let role = state.roles().get(role_id(id)?).await?;
    write_group(state, authority, role, &current, &patched).await?;
    get_group(state, id, base).await
}

pub async fn delete_group(
    state: &AppState,
    authority: &Authority,
    id: &str,
    if_match: Option<&str>,
    base: &str,
) -> Result<()> {
    let current = get_group(state, id, base).await?;
    precondition(&current, if_match)?;
    state.roles().delete(authority, role_id(id)?).await?;
    Ok(())
}
