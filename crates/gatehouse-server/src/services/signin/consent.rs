//! The consent page: which scopes to ask for, and the user's answer.

use gatehouse_core::signin::{SignInError, Step};
use gatehouse_store::{AccountStore, ScopeLocaleRecord, ScopeRecord};

use super::complete_step;
use super::{discard, Outcome, StepCall, Transaction};
use crate::error::ServiceError;
use crate::state::AppState;

/// A scope the user is asked to consent to, with what describes it.
pub struct ConsentScope {
    pub name: String,
    /// The scope's note (empty for unknown scopes).
    pub note: String,
    /// The stored scope (`None` for a scope with no record).
    pub record: Option<ScopeRecord>,
    /// The scope's description in each locale it has one in.
    pub locales: Vec<ScopeLocaleRecord>,
}

/// The scopes still needing consent, with their stored descriptions.
pub async fn consent_scopes(
    state: &AppState,
    tx: &Transaction,
) -> Result<Vec<ConsentScope>, ServiceError> {
    use gatehouse_store::ScopeStore;
    let wanted = scopes_needing_consent(state, tx).await?;
    let records = state.store.list_scopes().await?;
    let mut scopes = Vec::with_capacity(wanted.len());
    for name in wanted {
        let record = records.iter().find(|r| r.name == name).cloned();
        let locales = match &record {
            Some(record) => state.store.scope_locales(record.id).await?,
            None => Vec::new(),
        };
        scopes.push(ConsentScope {
            name,
            note: record.as_ref().map(|r| r.note.clone()).unwrap_or_default(),
            record,
            locales,
        });
    }
    Ok(scopes)
}

/// The user's answer on the consent page, at the consent step. `Ok(None)`: consent denied
/// (transaction ended).
pub async fn answer_consent(
    call: StepCall<'_>,
    accept: bool,
) -> Result<Option<Outcome>, ServiceError> {
    let (state, id, tx, at, meta) = call.into_parts();
    if at.step() != Step::Consent {
        return Err(SignInError::WrongStep.into());
    }
    if !accept {
        if let Some(target) = &tx.device {
            crate::services::device_flow::deny(state, target).await?;
        }
        discard(state, id).await?;
        return Ok(None);
    }
    state
        .store
        .grant_consent(at.user().id, tx.app_id, &tx.request.scopes)
        .await?;
    complete_step(StepCall::new(state, id, tx, at, meta))
        .await
        .map(Some)
}

/// Requested scopes the user has not granted this app yet.
pub async fn scopes_needing_consent(
    state: &AppState,
    tx: &Transaction,
) -> Result<Vec<String>, ServiceError> {
    let Some(user) = tx.user() else {
        return Ok(tx.request.scopes.clone());
    };
    if tx.request.prompt.consent {
        return Ok(tx.request.scopes.clone());
    }
    let granted = state.store.consented_scopes(user.id, tx.app_id).await?;
    Ok(tx
        .request
        .scopes
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect())
}
