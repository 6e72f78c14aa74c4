//! The `switch_org` step (with `enable_org` and `allow_user_switch_org_on_sign_in`): the user
//! picks which of their organizations the sign-in is for.

use gatehouse_core::signin::{AtStep, SignInError, Step};
use gatehouse_store::{AccountStore, OrgRecord, OrgStore};

use super::{complete_step, Outcome, StepCall};
use crate::error::ServiceError;
use crate::state::AppState;

const NO_ORG: &str = "No organization found";

/// Whether sign-ins end with the `switch_org` step.
pub fn org_switch_on(state: &AppState) -> bool {
    state.config.enable_org && state.config.allow_user_switch_org_on_sign_in
}

/// The organizations the signed-in user may switch to, and the slug of the active one.
pub struct OrgChoices {
    pub orgs: Vec<OrgRecord>,
    pub active_slug: String,
}

/// What the `switch_org` step offers the user it is owed by.
pub async fn org_choices(state: &AppState, at: &AtStep) -> Result<OrgChoices, ServiceError> {
    let user_id = at.user().id;
    let orgs = state.store.user_orgs(user_id).await?;
    let active_slug = state
        .store
        .user_by_id(user_id)
        .await?
        .map(|user| user.org_slug.trim().to_owned())
        .unwrap_or_default();
    Ok(OrgChoices { orgs, active_slug })
}

/// Makes `slug`, one of the user's organizations, the active one and moves the sign-in on. An
/// organization the user is not a member of is not found, whether or not it exists.
pub async fn switch_org(call: StepCall<'_>, slug: &str) -> Result<Outcome, ServiceError> {
    if call.at.step() != Step::SwitchOrg {
        return Err(SignInError::WrongStep.into());
    }
    let state = call.call.state;
    let user_id = call.at.user().id;
    let slug = slug.trim();
    let orgs = state.store.user_orgs(user_id).await?;
    if !slug.is_empty() && !orgs.iter().any(|org| org.slug == slug) {
        return Err(ServiceError::NotFound(NO_ORG));
    }
    crate::services::users::change_own_org(state, user_id, slug).await?;
    complete_step(call).await
}
