//! The policy pages a sign-in can end with: change password, update names, change org; and
//! the `switch_org` step, the same organization choice at the end of every sign-in.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::Step;
use gatehouse_store::AccountStore;

use super::browser::Browser;
use super::forms::PolicyForm;
use super::pages::{render, Chrome};
use super::pages::{PolicyFields, PolicyPage};
use super::step::{refused_again, OwedPage, OwedPost, Refusal, StepPage};
use super::{i18n, respond};
use crate::error::ServiceError;
use crate::services::signin::Transaction;
use crate::services::users;
use crate::state::AppState;

/// The page of a policy step: `(tx_id, tx)` is the sign-in it belongs to.
fn policy_view(
    state: &AppState,
    browser: &Browser,
    (tx_id, tx): (&str, &Transaction),
    locale: &str,
    step: Step,
    fields: PolicyFields<'_>,
    error: Option<Refusal>,
) -> Response {
    let t = i18n::texts(locale);
    let title = match step {
        Step::ChangePassword => t.change_password_title,
        Step::ChangeOrg | Step::SwitchOrg => t.change_org_title,
        _ => t.update_info_title,
    };
    let action = respond::step_path(step).unwrap_or_default();
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    render(
        status,
        &PolicyPage {
            c: Chrome::new(&state.config, locale, None).branded(tx.branding.as_ref()),
            title,
            action,
            tx: tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            fields,
            error,
        },
        None,
    )
}

/// What the policy page shows for `step`: the user's names, or their organizations with the
/// one to mark (the posted choice, else the active one).
async fn policy_fields(
    state: &AppState,
    user_id: UserId,
    step: Step,
    chosen: Option<&str>,
) -> Result<PolicyFieldsOwned, ServiceError> {
    let user = state.store.user_by_id(user_id).await?;
    Ok(match step {
        Step::ChangePassword => PolicyFieldsOwned::NewPassword,
        Step::ChangeOrg | Step::SwitchOrg => {
            let active = chosen
                .map(str::to_owned)
                .or_else(|| user.as_ref().map(|u| u.org_slug.trim().to_owned()))
                .unwrap_or_default();
            let orgs = crate::services::users::own_orgs(state, user_id).await?;
            PolicyFieldsOwned::Org(
                orgs.into_iter()
                    .map(|o| {
                        let current = o.slug == active;
                        (o.slug, o.name, current)
                    })
                    .collect(),
            )
        }
        _ => {
            let user = user.as_ref();
            PolicyFieldsOwned::Names(
                user.and_then(|u| u.first_name.clone()).unwrap_or_default(),
                user.and_then(|u| u.last_name.clone()).unwrap_or_default(),
            )
        }
    })
}

/// [`PolicyFields`] with its own strings, for pages built from loaded records.
enum PolicyFieldsOwned {
    NewPassword,
    Names(String, String),
    Org(Vec<(String, String, bool)>),
}

impl PolicyFieldsOwned {
    fn view(&self) -> PolicyFields<'_> {
        match self {
            Self::NewPassword => PolicyFields::NewPassword,
            Self::Names(first, last) => PolicyFields::Names { first, last },
            Self::Org(orgs) => PolicyFields::Org(orgs.clone()),
        }
    }
}

async fn policy_page<P: StepPage>(page: OwedPage<P>) -> Response {
    let state = &page.state;
    let step = page.at.step();
    let fields = match policy_fields(state, page.at.user().id, step, None).await {
        Ok(fields) => fields,
        Err(err) => {
            return crate::http::error::page_internal_error(&state.config, &page.locale, &err)
        }
    };
    policy_view(
        state,
        &page.browser,
        (&page.tx_id, &page.tx),
        &page.locale,
        step,
        fields.view(),
        None,
    )
}

async fn policy_submit<P: StepPage>(post: OwedPost<P, PolicyForm>) -> Response {
    let (state, form) = (&post.state, &post.form);
    let step = post.at.step();
    let user_id = post.at.user().id;
    let (first, last) = (form.first_name.as_deref(), form.last_name.as_deref());
    let applied = match step {
        Step::ChangePassword => users::change_own_password(state, user_id, &form.password).await,
        Step::ChangeOrg | Step::SwitchOrg => {
            let org = form.org.as_deref().unwrap_or_default();
            users::change_own_org(state, user_id, org).await
        }
        _ => users::update_own_names(state, user_id, first, last).await,
    };
    let Err(err) = applied else {
        return post.complete().await;
    };
    refused_again(state, &post.locale, err, |refusal| async {
        let fields = match step {
            Step::UpdateInfo => PolicyFieldsOwned::Names(
                first.unwrap_or_default().to_owned(),
                last.unwrap_or_default().to_owned(),
            ),
            _ => match policy_fields(state, user_id, step, form.org.as_deref()).await {
                Ok(fields) => fields,
                Err(err) => {
                    return crate::http::error::page_internal_error(
                        &state.config,
                        &post.locale,
                        &err,
                    )
                }
            },
        };
        let shown = (form.tx.as_str(), &post.tx);
        policy_view(
            state,
            &post.browser,
            shown,
            &post.locale,
            step,
            fields.view(),
            Some(refusal),
        )
    })
    .await
}

/// A policy page's route: the page on GET, its form on POST.
pub(super) fn policy_route<P: StepPage>() -> MethodRouter<AppState> {
    get(policy_page::<P>).post(policy_submit::<P>)
}
