//! `/identity/v1`: the sign-in pages (server-rendered forms) and Melody's logout call.

pub mod browser;
mod change_email;
mod confirm_identity;
mod connect;
mod consent;
mod device;
mod federation;
mod forms;
mod invitations;
mod lifecycle;
mod link_account;
mod logout;
mod mfa;
mod my_pass;
pub mod pages;
mod passkeys;
mod passwordless;
mod policy;
mod recovery_codes;
pub mod respond;
mod sign_up;
mod sms;
pub mod step;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::signin::{SignInError, Step};
use serde::Deserialize;

use self::browser::Browser;
use self::forms::{Posted, Protected, SignInForm};
use self::pages::{message, render, Chrome, SignInPage};
use crate::error::ServiceError;
use crate::http::error::status_of;
use crate::i18n;
use crate::services::captcha::{self, CaptchaPage};
use crate::services::signin::{self, Transaction, TxCall};
use crate::state::AppState;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/identity/v1/view/authorize",
            get(sign_in_page).post(sign_in_submit),
        )
        .route(
            "/identity/v1/view/sign-up",
            get(sign_up::sign_up_page).post(sign_up::sign_up_submit),
        )
        .route(
            "/identity/v1/view/consent",
            get(consent::consent_page).post(consent::consent_submit),
        )
        .route(
            "/identity/v1/view/change-password",
            policy::policy_route::<step::ChangePassword>(),
        )
        .route(
            "/identity/v1/view/update-info",
            policy::policy_route::<step::UpdateInfo>(),
        )
        .route(
            "/identity/v1/view/change-org",
            policy::policy_route::<step::ChangeOrg>(),
        )
        .route(
            "/identity/v1/view/switch-org",
            policy::policy_route::<step::SwitchOrg>(),
        )
        .route("/identity/v1/view/auth-code-expired", get(expired_page))
        .route("/connect/{name}", get(connect::start))
        .route(
            crate::services::device_flow::PAGE,
            get(device::device_page).post(device::device_submit),
        )
        .merge(lifecycle::routes())
        .merge(confirm_identity::routes())
        .merge(link_account::routes())
        .merge(mfa::routes())
        .merge(passkeys::routes())
        .merge(federation::routes())
        .merge(my_pass::routes())
        .merge(passwordless::routes())
        .merge(recovery_codes::routes())
        .merge(sms::routes())
        .merge(change_email::routes())
        .merge(invitations::routes())
        .layer(axum::middleware::from_fn_with_state(
            state,
            browser::remember_picked_locale,
        ))
}

/// The self-service flows the account page offers, as (policy, label in `locale`).
pub fn account_policies(state: &AppState, locale: &str) -> Vec<(&'static str, &'static str)> {
    my_pass::policies(state, i18n::texts(locale))
}

/// The logout endpoints, which browser apps call from scripts as well as by navigation.
pub fn logout_routes() -> Router<AppState> {
    Router::new()
        .route("/identity/v1/logout", post(logout::identity_logout))
        .route("/oauth2/v1/logout", get(logout::end_session))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    tx: Option<String>,
    locale: Option<String>,
}

/// A page's locale: an explicit `locale` choice, else the transaction's.
fn page_locale(state: &AppState, query: Option<&str>, tx: &Transaction) -> String {
    match query {
        Some(l) => gatehouse_core::authorize::pick_locale([l], &state.config.supported_locales),
        None => tx.request.locale.clone(),
    }
}

fn expired(state: &AppState, locale: &str) -> Response {
    let t = i18n::texts(locale);
    message(
        &state.config,
        locale,
        StatusCode::NOT_FOUND,
        t.expired_title,
        t.expired_text,
    )
}

/// What a failed step shows: a page for unknown or foreign transactions, an error page for
/// internal failures. Refusals a form can show come back as `Ok(message)`, in the page's language.
fn form_error(
    state: &AppState,
    locale: &str,
    err: ServiceError,
) -> Result<(StatusCode, String), Box<Response>> {
    match err {
        ServiceError::SignIn(SignInError::UnknownTransaction) => {
            Err(Box::new(expired(state, locale)))
        }
        other if other.class().is_server_fault() => Err(Box::new(
            crate::http::error::page_internal_error(&state.config, locale, &other),
        )),
        refusal => Ok((status_of(refusal.class()), i18n::refusal(locale, &refusal))),
    }
}

/// The page a GET shows when its transaction cannot be loaded.
fn page_error(state: &AppState, locale: &str, err: ServiceError) -> Response {
    match form_error(state, locale, err) {
        Err(page) => *page,
        Ok(_) => expired(state, locale),
    }
}

/// Loads the transaction a page or form names, bound to this browser.
async fn transaction(
    state: &AppState,
    browser: &Browser,
    tx: Option<&str>,
) -> Result<Transaction, ServiceError> {
    let tx = tx
        .filter(|t| !t.is_empty())
        .ok_or(SignInError::UnknownTransaction)?;
    signin::load(state, tx, browser.csrf.as_deref()).await
}

/// Loads a posted form's transaction after the CSRF and Origin checks.
async fn posted_transaction(
    state: &AppState,
    browser: &Browser,
    form: &impl Posted,
) -> Result<Transaction, ServiceError> {
    check_form_origin(browser, form)?;
    transaction(state, browser, Some(form.tx())).await
}

/// A posted form must come from a page this browser loaded: the same site, and its CSRF token.
fn check_form_origin(browser: &Browser, form: &impl Protected) -> Result<(), ServiceError> {
    if browser.foreign_origin || !browser.csrf_matches(form.csrf_token()) {
        return Err(SignInError::CsrfMismatch.into());
    }
    Ok(())
}

/// A page load that failed: the expired page, or the refusal of a step not owed.
fn load_error(state: &AppState, locale: &str, err: ServiceError) -> Response {
    match err {
        ServiceError::SignIn(SignInError::WrongStep) => refused_post(state, err),
        other => page_error(state, locale, other),
    }
}

/// Where a new transaction `tx_id` goes first: signed in at once by this browser's live
/// single sign-on session, or to the sign-in page.
async fn sign_in_from(state: &AppState, browser: &Browser, tx_id: &str, locale: &str) -> Response {
    let config = &state.config;
    let session = match state
        .sessions()
        .resume(browser.session.as_deref(), browser.now)
        .await
    {
        Ok(session) => session,
        Err(err) => return crate::http::error::page_internal_error(config, locale, &err),
    };
    let Some(session) = session else {
        return respond::see_other(&sign_in_url(tx_id, locale));
    };
    let tx = match signin::load(state, tx_id, browser.csrf.as_deref()).await {
        Ok(tx) => tx,
        Err(err) => return crate::http::error::page_internal_error(config, locale, &err),
    };
    let call = TxCall::new(state, tx_id, tx, browser.meta());
    match signin::sign_in_with_session(call, &session).await {
        Ok(next) => respond::outcome(config, tx_id, locale, next),
        Err(ServiceError::SignIn(SignInError::DisabledAccount)) => message(
            config,
            locale,
            StatusCode::FORBIDDEN,
            i18n::texts(locale).error_title,
            &i18n::refusal(locale, &SignInError::DisabledAccount.into()),
        ),
        Err(err) => crate::http::error::page_internal_error(config, locale, &err),
    }
}

/// The sign-in page of a transaction, in `locale`: where the other pages lead back to.
fn sign_in_url(tx_id: &str, locale: &str) -> String {
    format!("/identity/v1/view/authorize?tx={tx_id}&locale={locale}")
}

fn sign_up_url(state: &AppState, tx: &Transaction, tx_id: &str, locale: &str) -> Option<String> {
    signin::sign_up_open(state, tx)
        .then(|| format!("/identity/v1/view/sign-up?tx={tx_id}&locale={locale}"))
}

#[allow(clippy::too_many_arguments)]
async fn sign_in_view(
    state: &AppState,
    browser: &Browser,
    tx_id: &str,
    tx: &Transaction,
    locale: &str,
    email: &str,
    error: Option<(StatusCode, String)>,
    notice: Option<&str>,
) -> Response {
    let base = format!("/identity/v1/view/authorize?tx={tx_id}");
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let email = if email.is_empty() {
        tx.request.login_hint.as_deref().unwrap_or_default()
    } else {
        email
    };
    let passkey_options = if crate::services::passkeys::passkeys_on(state) {
        match crate::services::passkeys::sign_in_options(state).await {
            Ok(options) => Some(options.to_string()),
            Err(err) => {
                return crate::http::error::page_internal_error(&state.config, locale, &err)
            }
        }
    } else {
        None
    };
    let nonce = crate::crypto::random_token::<16>();
    let captcha = crate::services::captcha::widget(state, CaptchaPage::SignIn);
    let other_ways = tx
        .request
        .policy
        .as_deref()
        .and_then(Step::from_policy)
        .is_none();
    let google = crate::services::google_identity::provider(state)
        .filter(|_| other_ways)
        .map(|p| (p.client_id, crate::services::google_identity::nonce(tx_id)));
    let facebook = other_ways && crate::services::facebook::enabled(state);
    let mut response = render(
        status,
        &SignInPage {
            c: Chrome::new(&state.config, locale, Some(&base)).branded(tx.branding.as_ref()),
            app_name: &tx.app_name,
            tx: tx_id,
            csrf: browser.csrf.as_deref().unwrap_or_default(),
            email,
            error,
            notice,
            passwordless: state.config.enable_passwordless_sign_in,
            sign_up_url: if tx.request.policy.is_none() {
                sign_up_url(state, tx, tx_id, locale)
            } else {
                None
            },
            reset_url: (tx.request.policy.is_none() && crate::services::lifecycle::reset_on(state))
                .then(|| format!("/identity/v1/view/reset-password?tx={tx_id}&locale={locale}")),
            recovery_url: crate::services::mfa::recovery_codes_on(state)
                .then(|| format!("/identity/v1/view/recovery-code?tx={tx_id}&locale={locale}")),
            passkey_options,
            nonce: &nonce,
            captcha: captcha.clone(),
            // Account policies hide the other ways in; `oidc_sso_<name>` is not one of them.
            providers: if other_ways {
                provider_buttons(state, locale)
            } else {
                Vec::new()
            },
            google: google.clone(),
            facebook: facebook.then(|| {
                (
                    state.config.facebook_auth_client_id.as_str(),
                    state.config.facebook_auth_scope.as_str(),
                    i18n::texts(locale)
                        .sign_in_with_provider
                        .replace("{provider}", "Facebook"),
                )
            }),
        },
        Some(&nonce),
    );
    let sources = captcha
        .as_ref()
        .map(|w| w.sources)
        .into_iter()
        .chain(google.is_some().then_some(pages::GOOGLE_IDENTITY_SOURCES))
        .chain(facebook.then_some(pages::FACEBOOK_SOURCES));
    let sources = sources.collect::<Vec<_>>().join(" ");
    if !sources.is_empty() {
        pages::allow_sources(&mut response, &sources, &nonce);
    }
    browser.set_csrf_cookie(state, &mut response);
    response
}

/// The sign-in page's buttons for outside providers, labelled in the page's language.
fn provider_buttons<'a>(state: &'a AppState, locale: &str) -> Vec<pages::ProviderButton<'a>> {
    use crate::services::social_oauth::SocialProvider;
    let t = i18n::texts(locale);
    let label = |name: &str| t.sign_in_with_provider.replace("{provider}", name);
    let built_in = SocialProvider::ALL
        .into_iter()
        .filter(|p| p.is_configured(state))
        .map(|p| pages::ProviderButton {
            id: format!("social-{}", p.slug()),
            action: format!("/identity/v1/view/authorize-social/{}", p.slug()),
            label: label(p.name()),
            logo_url: "",
        });
    let configured = crate::services::federation::buttons(state).map(|p| pages::ProviderButton {
        id: format!("oidc-{}", p.name),
        action: format!("/identity/v1/view/authorize-oidc/{}", p.name),
        label: if p.button_text.is_empty() {
            label(&p.name)
        } else {
            p.button_text.clone()
        },
        logo_url: &p.logo_url,
    });
    built_in.chain(configured).collect()
}

async fn sign_in_page(page: step::TxPage) -> Response {
    let (state, browser, tx_id, tx, locale) = page.into_parts();
    sign_in_view(&state, &browser, &tx_id, &tx, &locale, "", None, None).await
}

async fn sign_in_submit(post: step::PostedTx<SignInForm>) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
    let shown = tx.clone();
    let token = form
        .extra
        .get(captcha::response_field(&state.config.captcha_provider));
    let checked = captcha::check(
        &state,
        CaptchaPage::SignIn,
        token.map(String::as_str),
        browser.ip.as_deref(),
    )
    .await;
    let (tx_id, email, meta) = (&form.tx, &form.email, browser.meta());
    let result = if let Err(err) = checked {
        Err(err)
    } else if state.config.enable_passwordless_sign_in {
        crate::services::passwordless::sign_in_passwordless(
            TxCall::new(&state, tx_id, tx, meta),
            email,
        )
        .await
    } else {
        signin::sign_in_with_password(TxCall::new(&state, tx_id, tx, meta), email, &form.password)
            .await
    };
    step::answered(&state, (tx_id, &locale), result, |refusal| {
        sign_in_view(
            &state,
            &browser,
            tx_id,
            &shown,
            &locale,
            email,
            Some(refusal),
            None,
        )
    })
    .await
}

/// A post that failed its CSRF or transaction check.
fn refused_post(state: &AppState, err: ServiceError) -> Response {
    match form_error(state, "en", err) {
        Ok((status, text)) => message(
            &state.config,
            "en",
            status,
            i18n::texts("en").error_title,
            &text,
        ),
        Err(page) => *page,
    }
}

async fn expired_page(State(state): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let locale = gatehouse_core::authorize::pick_locale(
        q.locale.as_deref(),
        &state.config.supported_locales,
    );
    let t = i18n::texts(&locale);
    message(
        &state.config,
        &locale,
        StatusCode::OK,
        t.expired_title,
        t.expired_text,
    )
    .into_response()
}
