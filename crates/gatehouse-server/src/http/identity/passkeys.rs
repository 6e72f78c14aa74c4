//! Passkey pages: the enrollment step after sign-in, the `manage_passkey` policy, and the
//! sign-in with a passkey posted from the sign-in page.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use gatehouse_core::signin::{AtStep, SignInError, Step};

use super::browser::Browser;
use super::forms::{CredentialForm, PasskeyAction, PasskeyForm};
use super::pages::{render, Chrome, PasskeyPage};
use super::step::{answered, ManagePasskey, OwedPage, OwedPost, PasskeyEnroll, PostedTx, StepPage};
use super::{form_error, i18n, page_error, sign_in_view};
use crate::services::passkeys;
use crate::services::signin::Transaction;
use crate::services::signin::TxCall;
use crate::state::AppState;

const ENROLL_PATH: &str = "/identity/v1/view/passkey-enroll";
const MANAGE_PATH: &str = "/identity/v1/view/manage-passkey";
const SIGN_IN_PATH: &str = "/identity/v1/view/passkey";

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            ENROLL_PATH,
            get(page::<PasskeyEnroll>).post(submit::<PasskeyEnroll>),
        )
        .route(
            MANAGE_PATH,
            get(page::<ManagePasskey>).post(submit::<ManagePasskey>),
        )
        .route(SIGN_IN_PATH, post(sign_in))
}

#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    browser: &Browser,
    tx_id: &str,
    tx: &Transaction,
    locale: &str,
    at: &AtStep,
    error: Option<(StatusCode, String)>,
) -> Response {
    let t = i18n::texts(locale);
    let (step, user_id) = (at.step(), at.user().id);
    let options = match passkeys::enroll_options(state, user_id).await {
        Ok(options) => options,
        Err(err) => return page_error(state, locale, err),
    };
    let listed = match passkeys::list(state, user_id).await {
        Ok(list) => list,
        Err(err) => return page_error(state, locale, err),
    };
    let manage = step == Step::ManagePasskey;
    let passkeys = if manage {
        listed
            .into_iter()
            .map(|p| {
                let short: String = p.credential_id.chars().take(10).collect();
                (
                    p.id,
                    format!("{short}… ({})", p.created_at.format("%Y-%m-%d")),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let nonce = crate::crypto::random_token::<16>();
    let response = render(
        status,
        &PasskeyPage {
            c: Chrome::new(&state.config, locale, None).branded(tx.branding.as_ref()),
            title: if manage {
                t.manage_passkey_title
            } else {
                t.passkey_enroll_title
            },
            intro: if manage {
                t.manage_passkey_intro
            } else {
                t.passkey_enroll_intro
            },
            action: if manage { MANAGE_PATH } else { ENROLL_PATH },
            tx: tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            passkeys,
            options_json: options.to_string(),
            nonce: &nonce,
            decline: !manage,
            error,
        },
        Some(&nonce),
    );
    browser.with_csrf_cookie(state, response)
}

async fn page<P: StepPage>(page: OwedPage<P>) -> Response {
    view(
        &page.state,
        &page.browser,
        &page.tx_id,
        &page.tx,
        &page.locale,
        &page.at,
        None,
    )
    .await
}

async fn submit<P: StepPage>(post: OwedPost<P, PasskeyForm>) -> Response {
    let (state, browser, locale) = (&post.state, &post.browser, post.locale.as_str());
    let step = post.at.step();
    let user_id = post.at.user().id;
    // Enrollment ends with the passkey; management shows the list again.
    let done = match PasskeyAction::try_from(&post.form) {
        Ok(PasskeyAction::Add(response)) => passkeys::enroll(state, user_id, &response)
            .await
            .map(|()| step == Step::PasskeyEnroll),
        Ok(PasskeyAction::Delete(id)) => passkeys::remove(state, user_id, id).await.map(|()| false),
        Ok(PasskeyAction::Done { remember }) => {
            if step == Step::PasskeyEnroll && remember {
                if let Err(err) = passkeys::decline_enrollment(state, user_id).await {
                    return page_error(state, locale, err);
                }
            }
            Ok(true)
        }
        Err(err) => Err(err),
    };
    let again = |refusal| {
        view(
            state,
            browser,
            &post.form.tx,
            &post.tx,
            locale,
            &post.at,
            refusal,
        )
    };
    match done {
        Ok(true) => {}
        Ok(false) => return again(None).await,
        Err(err) => {
            return match form_error(state, locale, err) {
                Ok(refusal) => again(Some(refusal)).await,
                Err(page) => *page,
            }
        }
    }
    post.complete().await
}

/// The sign-in page's passkey button posts here.
async fn sign_in(post: PostedTx<CredentialForm>) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
    let shown = tx.clone();
    // The challenge travels inside the signed client data; take it from there.
    let parsed = serde_json::from_str::<passkeys::AuthenticationResponse>(&form.credential);
    let result = match parsed {
        Ok(response) => {
            let challenge = passkeys::challenge_of(&response).unwrap_or_default();
            let meta = browser.meta();
            passkeys::sign_in_with_passkey(
                TxCall::new(&state, &form.tx, tx, meta),
                &response,
                &challenge,
            )
            .await
        }
        Err(_) => Err(SignInError::BadInput("Invalid passkey request".into()).into()),
    };
    answered(&state, (&form.tx, &locale), result, |refusal| {
        sign_in_view(
            &state,
            &browser,
            &form.tx,
            &shown,
            &locale,
            "",
            Some(refusal),
            None,
        )
    })
    .await
}
