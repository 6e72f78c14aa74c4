//! A user's organization memberships and groups.

use gatehouse_core::webhooks::{ORG_MEMBER_ADDED, ORG_MEMBER_REMOVED};
use gatehouse_store::changes::{recording, recording_all, Change};
use gatehouse_store::{OrgRecord, OrgStore, Store};
use serde_json::json;

use super::user;
use crate::error::ServiceError;

pub async fn orgs(store: &Store, auth_id: &str) -> Result<Vec<OrgRecord>, ServiceError> {
    let current = user(store, auth_id).await?;
    Ok(store.user_orgs(current.id).await?)
}

/// Replaces the user's organization memberships.
pub async fn set_orgs(store: &Store, auth_id: &str, org_ids: &[i64]) -> Result<(), ServiceError> {
    let current = user(store, auth_id).await?;
    let mut ids = org_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in &ids {
        if store.org_by_id(*id).await?.is_none() {
            return Err(ServiceError::NotFound("No organization found"));
        }
    }
    let held: Vec<i64> = store
        .user_orgs(current.id)
        .await?
        .iter()
        .map(|o| o.id)
        .collect();
    let member = json!({ "userId": current.auth_id });
    let joined = ids.iter().filter(|id| !held.contains(id)).map(|org| {
        Change::event_only("org", org, ORG_MEMBER_ADDED).event(ORG_MEMBER_ADDED, member.clone())
    });
    let left = held.iter().filter(|id| !ids.contains(id)).map(|org| {
        Change::event_only("org", org, ORG_MEMBER_REMOVED).event(ORG_MEMBER_REMOVED, member.clone())
    });
    let mut changes =
        vec![Change::of("user", &current.auth_id, "orgs_set").field("orgs", &held, &ids)];
    changes.extend(joined.chain(left));
    recording_all(changes, store.set_user_orgs(current.id, &ids)).await?;
    Ok(())
}

/// Adds the user to (or removes them from) a group of their active organization.
pub async fn set_org_group(
    store: &Store,
    auth_id: &str,
    group_id: i64,
    member: bool,
) -> Result<(), ServiceError> {
    let current = user(store, auth_id).await?;
    let org = match current.org_slug.trim() {
        "" => None,
        slug => store.org_by_slug(slug).await?,
    }
    .ok_or(ServiceError::NotFound("No organization found"))?;
    let group = store
        .org_group_by_id(group_id)
        .await?
        .filter(|g| g.org_id == org.id)
        .ok_or(ServiceError::NotFound("Organization group not found"))?;
    let action = if member {
        "org_group_joined"
    } else {
        "org_group_left"
    };
    let change = Change::of("user", &current.auth_id, action).field(
        "orgGroup",
        (!member).then_some(group.id),
        member.then_some(group.id),
    );
    let write = store.set_org_group_member(current.id, group.id, member);
    recording(change, write).await?;
    Ok(())
}
