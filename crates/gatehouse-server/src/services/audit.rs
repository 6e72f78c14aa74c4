//! The audit trail as the API and the panel read it, and the changes the user services record
//! (each is written by the store in the transaction of the write it describes).

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::MfaTypes;
use gatehouse_core::webhooks;
use gatehouse_store::changes::Change;
use gatehouse_store::{AccountStore, AuditFilter, AuditRecord, AuditStore, Store, UserRecord};
use serde_json::{json, Value};

use crate::error::ServiceError;
use crate::state::AppState;

/// The most records one page holds.
pub const MAX_PAGE: i64 = 200;

/// A page of records newest first, and the cursor of the next page when there may be one.
pub async fn page(
    store: &Store,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditRecord>, Option<i64>), ServiceError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let records = store.audit_records(filter, before, limit).await?;
    let next = (records.len() as i64 == limit)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    Ok((records, next))
}

/// The user `id`, for the changes of a flow that knows only their row id.
pub async fn user_by_id(state: &AppState, id: UserId) -> Result<UserRecord, ServiceError> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or(ServiceError::NotFound("No user found"))
}

/// What a webhook event tells of a user.
pub fn user_data(user: &UserRecord) -> Value {
    json!({
        "authId": user.auth_id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "isActive": user.is_active,
    })
}

/// A new user, made by the write the change is recorded with.
pub fn user_created(
    auth_id: &str,
    email: Option<&str>,
    first_name: Option<&str>,
    last_name: Option<&str>,
    event: &'static str,
) -> Change {
    let fields = json!({"email": email, "firstName": first_name, "lastName": last_name});
    let mut data = fields.clone();
    data["authId"] = json!(auth_id);
    Change::of("user", auth_id, "created")
        .fields_new(&fields)
        .event(event, data)
}

/// A change to `user`, raising `event`.
pub fn user_change(user: &UserRecord, action: &'static str, event: &'static str) -> Change {
    Change::of("user", &user.auth_id, action).event(event, user_data(user))
}

/// The user enrolled in MFA, leaving them with `types`.
pub fn mfa_enrolled(user: &UserRecord, types: &MfaTypes) -> Change {
    user_change(user, "mfa_enrolled", webhooks::USER_MFA_ENROLLED).field(
        "mfaTypes",
        user.mfa_types.to_list(),
        types.to_list(),
    )
}

/// An event about `user` that changes nothing the audit trail keeps (a sign-in).
pub fn user_event(user: &UserRecord, event: &'static str) -> Change {
    let mut change = Change::event_only("user", &user.auth_id, event);
    change.data = user_data(user);
    change
}

/// A role given to or taken from a user.
pub fn role_change(user: &UserRecord, role: &str, assigned: bool) -> Change {
    let (action, event) = if assigned {
        ("role_assigned", webhooks::USER_ROLE_ASSIGNED)
    } else {
        ("role_removed", webhooks::USER_ROLE_REMOVED)
    };
    let mut data = user_data(user);
    data["role"] = json!(role);
    Change::of("user", &user.auth_id, action)
        .field(
            "role",
            (!assigned).then_some(role),
            assigned.then_some(role),
        )
        .event(event, data)
}

/// Tells the webhooks a sign-in failed for an account that exists, and that it is now locked
/// when this failure reached the threshold. Best effort: the refusal stands whatever happens.
pub async fn sign_in_failed(state: &AppState, email: &str, ip: Option<&str>, err: &ServiceError) {
    use gatehouse_core::signin::SignInError;
    let wrong_password = matches!(err, ServiceError::SignIn(SignInError::NoUserFound));
    if !wrong_password && !matches!(err, ServiceError::SignIn(SignInError::DisabledAccount)) {
        return;
    }
    let email = email.trim().to_lowercase();
    let Ok(Some(account)) = state.store.password_account(&email).await else {
        return;
    };
    let data = json!({"authId": account.auth_id, "email": email});
    let mut failed = Change::event_only("user", &account.auth_id, webhooks::USER_SIGN_IN_FAILED);
    failed.data = data.clone();
    let mut recorded = vec![failed];
    let lockout = crate::services::password_check::PasswordLockout::new(state, &email, ip);
    if wrong_password && lockout.is_locked().await.unwrap_or(false) {
        recorded.push(
            Change::of("user", &account.auth_id, "locked").event(webhooks::USER_LOCKED, data),
        );
    }
    for change in recorded {
        if let Err(err) = state.store.record_change(change).await {
            tracing::warn!(code = "GH-AUDIT", error = %err, "sign-in event not recorded");
        }
    }
}

/// Tells the webhooks `user` signed in to `client_id`.
pub async fn signed_in(
    state: &AppState,
    auth_id: &str,
    client_id: &str,
) -> Result<(), ServiceError> {
    let mut change = Change::event_only("user", auth_id, webhooks::USER_SIGNED_IN);
    change.data = json!({"authId": auth_id, "clientId": client_id});
    Ok(state.store.record_change(change).await?)
}
