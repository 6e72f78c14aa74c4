//! SCIM Groups: roles, or organization groups (`scim_groups`). Whichever they are, the other
//! kind cannot be reached: ids, names and memberships are looked up in one kind only.

use chrono::NaiveDateTime;
use gatehouse_core::scim::{
    apply_patch, get_attr, Filter, PatchOp, ScimError, ScimGroups, GROUP_SCHEMA,
};
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{OrgRecord, OrgStore, RoleStore, ScimUserStore, UserRecord, UserStore};
use serde_json::{json, Value};

use super::{precondition, text, with_meta, Result, ScimFailure};
use crate::services::authority::Authority;
use crate::services::orgs;
use crate::services::users::{self, UserUpdate};
use crate::state::AppState;

const MEMBERS_READ_ONLY: &[&str] = &["id", "meta", "schemas"];

/// A role or an organization group, as SCIM shows it.
struct Group {
    id: i64,
    display_name: String,
    /// The organization of an organization group.
    org: Option<OrgRecord>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn not_found() -> ScimFailure {
    ScimError::status(404, "Group not found").into()
}

fn group_id(id: &str) -> Result<i64> {
    id.parse().map_err(|_| not_found())
}

/// Every group of the kind SCIM Groups are.
async fn all_groups(state: &AppState) -> Result<Vec<Group>> {
    Ok(match state.config.scim_groups {
        ScimGroups::Roles => state
            .roles()
            .list()
            .await?
            .into_iter()
            .map(|r| Group {
                id: r.id,
                display_name: r.name,
                org: None,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect(),
        ScimGroups::OrgGroups => {
            let orgs = state.store.list_orgs().await?;
            state
                .store
                .list_org_groups(None)
                .await?
                .into_iter()
                .filter_map(|g| {
                    let org = orgs.iter().find(|o| o.id == g.org_id)?.clone();
                    Some(Group {
                        id: g.id,
                        display_name: format!("{}/{}", org.slug, g.name),
                        org: Some(org),
                        created_at: g.created_at,
                        updated_at: g.updated_at,
                    })
                })
                .collect()
        }
    })
}

async fn group(state: &AppState, id: &str) -> Result<Group> {
    let id = group_id(id)?;
    all_groups(state)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(not_found)
}

async fn members(state: &AppState, group: &Group) -> Result<Vec<UserRecord>> {
    Ok(match state.config.scim_groups {
        ScimGroups::Roles => state.store.users_with_role(group.id).await?,
        ScimGroups::OrgGroups => state.store.org_group_members(group.id).await?,
    })
}

fn group_json(
    group: &Group,
    members: &[UserRecord],
    external_id: Option<&str>,
    base: &str,
) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|u| {
            json!({"value": u.auth_id, "$ref": format!("{base}/Users/{}", u.auth_id), "type": "User"})
        })
        .collect();
    let mut resource = json!({"schemas": [GROUP_SCHEMA], "id": group.id.to_string(),
                              "displayName": group.display_name});
    if let Some(object) = resource.as_object_mut() {
        if let Some(external_id) = external_id {
            object.insert("externalId".into(), Value::from(external_id));
        }
        if !members.is_empty() {
            object.insert("members".into(), Value::Array(members));
        }
    }
    with_meta(
        resource,
        "Group",
        format!("{base}/Groups/{}", group.id),
        group.created_at,
        group.updated_at,
    )
}

async fn shown(state: &AppState, group: &Group, base: &str) -> Result<Value> {
    let external_ids = state
        .store
        .group_external_ids(state.config.scim_groups)
        .await?;
    let members = members(state, group).await?;
    Ok(group_json(
        group,
        &members,
        external_ids.get(&group.id).map(String::as_str),
        base,
    ))
}

pub async fn get_group(state: &AppState, id: &str, base: &str) -> Result<Value> {
    shown(state, &group(state, id).await?, base).await
}

pub async fn list_groups(
    state: &AppState,
    filter: Option<&Filter>,
    base: &str,
) -> Result<Vec<Value>> {
    let external_ids = state
        .store
        .group_external_ids(state.config.scim_groups)
        .await?;
    let mut found = Vec::new();
    for group in all_groups(state).await? {
        let members = members(state, &group).await?;
        let resource = group_json(
            &group,
            &members,
            external_ids.get(&group.id).map(String::as_str),
            base,
        );
        if filter.is_none_or(|f| f.matches(&resource)) {
            found.push(resource);
        }
    }
    Ok(found)
}

fn display_name_in(resource: &Value) -> std::result::Result<&str, ScimError> {
    text(resource, &["displayName"])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))
}

/// The organization and the group name an organization group's `org-slug/group name` names;
/// the longest slug wins, so a slug may itself hold a `/`.
async fn org_and_name(state: &AppState, display_name: &str) -> Result<(OrgRecord, String)> {
    let refused = || {
        ScimFailure::from(ScimError::invalid_value(
            "displayName must be org-slug/group name, naming an existing organization",
        ))
    };
    let org = state
        .store
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| {
            display_name
                .strip_prefix(o.slug.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
        })
        .max_by_key(|o| o.slug.len())
        .ok_or_else(refused)?;
    let name = display_name[org.slug.len() + 1..].trim().to_owned();
    if name.is_empty() {
        return Err(refused());
    }
    Ok((org, name))
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

/// Adds a user to, or removes them from, a group. A role goes through the users service (so
/// protected roles hold); an organization group takes only users of its organization (one
/// without an active organization joins it).
async fn set_member(
    state: &AppState,
    authority: &Authority,
    auth_id: &str,
    group: &Group,
    member: bool,
) -> Result<()> {
    let user = users::user(&state.store, auth_id).await.map_err(|_| {
        ScimFailure::Scim(ScimError::invalid_value(format!(
            "No user {auth_id} to be a member"
        )))
    })?;
    let Some(org) = &group.org else {
        let mut held = state.store.user_role_names(user.id).await?;
        if held.contains(&group.display_name) == member {
            return Ok(());
        }
        if member {
            held.push(group.display_name.clone());
        } else {
            held.retain(|r| *r != group.display_name);
        }
        let update = UserUpdate {
            roles: Some(held),
            ..UserUpdate::default()
        };
        users::update(state, authority, auth_id, update).await?;
        return Ok(());
    };
    if member {
        let active = user.org_slug.trim();
        if active.is_empty() {
            if !state.store.is_org_member(user.id, org.id).await? {
                let mut ids: Vec<i64> = state
                    .store
                    .user_orgs(user.id)
                    .await?
                    .iter()
                    .map(|o| o.id)
                    .collect();
                ids.push(org.id);
                users::set_orgs(&state.store, auth_id, &ids).await?;
            }
            let update = UserUpdate {
                org_slug: Some(org.slug.clone()),
                ..UserUpdate::default()
            };
            users::update(state, authority, auth_id, update).await?;
        } else if active != org.slug {
            return Err(ScimError::invalid_value(format!(
                "User {auth_id} belongs to organization {active}: a user joins only groups of \
                 their active organization"
            ))
            .into());
        }
    }
    users::set_org_group(&state.store, auth_id, group.id, member).await?;
    Ok(())
}

/// Makes the group's name, externalId and members those of `wanted`.
async fn write_group(
    state: &AppState,
    authority: &Authority,
    mut group: Group,
    current: &Value,
    wanted: &Value,
) -> Result<()> {
    let name = display_name_in(wanted)?;
    if name != group.display_name {
        match &group.org {
            None => {
                let role = state
                    .roles()
                    .update(authority, group.id, Some(name), None)
                    .await?;
                group.display_name = role.name;
            }
            Some(org) => {
                let (named, group_name) = org_and_name(state, name).await?;
                if named.id != org.id {
                    return Err(
                        ScimError::mutability("A group's organization cannot change").into(),
                    );
                }
                orgs::rename_group(&state.store, group.id, &group_name).await?;
            }
        }
    }
    let external_id = text(wanted, &["externalId"]);
    let before = text(current, &["externalId"]);
    if external_id != before {
        let resource = match group.org {
            None => "role",
            Some(_) => "org_group",
        };
        let change =
            Change::of(resource, group.id, "updated").field("scimExternalId", before, external_id);
        let groups = state.config.scim_groups;
        let write = state
            .store
            .set_group_external_id(groups, group.id, external_id);
        recording(change, write).await?;
    }
    let (before, after) = (member_ids(current), member_ids(wanted));
    for id in after.iter().filter(|id| !before.contains(id)) {
        set_member(state, authority, id, &group, true).await?;
    }
    for id in before.iter().filter(|id| !after.contains(id)) {
        set_member(state, authority, id, &group, false).await?;
    }
    Ok(())
}

pub async fn create_group(
    state: &AppState,
    authority: &Authority,
    body: &Value,
    base: &str,
) -> Result<Value> {
    let name = display_name_in(body)?;
    let group = match state.config.scim_groups {
        ScimGroups::Roles => {
            let role = state.roles().create(authority, name, None).await?;
            Group {
                id: role.id,
                display_name: role.name,
                org: None,
                created_at: role.created_at,
                updated_at: role.updated_at,
            }
        }
        ScimGroups::OrgGroups => {
            let (org, group_name) = org_and_name(state, name).await?;
            let created = orgs::create_group(&state.store, org.id, &group_name).await?;
            Group {
                id: created.id,
                display_name: format!("{}/{}", org.slug, created.name),
                org: Some(org),
                created_at: created.created_at,
                updated_at: created.updated_at,
            }
        }
    };
    let (id, numeric) = (group.id.to_string(), group.id);
    let empty = group_json(&group, &[], None, base);
    if let Err(refused) = write_group(state, authority, group, &empty, body).await {
        // A group whose members were refused is not left half made.
        match state.config.scim_groups {
            ScimGroups::Roles => state.roles().delete(authority, numeric).await?,
            ScimGroups::OrgGroups => orgs::delete_group(&state.store, numeric).await?,
        }
        return Err(refused);
    }
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
    let group = group(state, id).await?;
    let current = shown(state, &group, base).await?;
    precondition(&current, if_match)?;
    write_group(state, authority, group, &current, body).await?;
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
    let group = group(state, id).await?;
    let current = shown(state, &group, base).await?;
    precondition(&current, if_match)?;
    let mut patched = current.clone();
    apply_patch(&mut patched, ops, MEMBERS_READ_ONLY)?;
    write_group(state, authority, group, &current, &patched).await?;
    get_group(state, id, base).await
}

pub async fn delete_group(
    state: &AppState,
    authority: &Authority,
    id: &str,
    if_match: Option<&str>,
    base: &str,
) -> Result<()> {
    let group = group(state, id).await?;
    precondition(&shown(state, &group, base).await?, if_match)?;
    match state.config.scim_groups {
        ScimGroups::Roles => state.roles().delete(authority, group.id).await?,
        ScimGroups::OrgGroups => orgs::delete_group(&state.store, group.id).await?,
    }
    Ok(())
}
