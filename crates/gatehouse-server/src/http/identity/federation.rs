//! Sign-in through an outside provider (a configured OpenID Connect provider, GitHub, Discord):
//! the sign-in page's button sends the browser there, and the provider sends it back to Melody's
//! callback path.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::browser::Browser;
use super::forms::{CredentialForm, TxForm};
use super::respond::{self, see_other};
use super::step::PostedTx;
use super::{form_error, page_error, sign_in_view};
use crate::error::ServiceError;
use crate::http::error::ApiError;
use gatehouse_core::social_profiles::apple_user_names;

use crate::services::federation::{self, PendingSignIn, PostedNames, ProviderAnswer};
use crate::services::google_identity;
use crate::services::signin::{self, Transaction, TxCall};
use crate::services::social_oauth::{self, SocialProvider};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/identity/v1/view/authorize-oidc/{provider}", post(start))
        .route("/identity/v1/authorize-oidc/{provider}", get(callback))
        .route("/identity/v1/authorize-oidc-configs", get(oidc_configs))
        .route(
            "/identity/v1/view/authorize-social/{provider}",
            post(start_social),
        )
        .route("/identity/v1/authorize-google", post(google_credential))
        .route("/identity/v1/authorize-facebook", post(facebook_token))
        .route(
            "/identity/v1/authorize-apple",
            get(apple_return).post(apple_form_post),
        )
        .route("/identity/v1/authorize-github", get(github_callback))
        .route("/identity/v1/authorize-discord", get(discord_callback))
}

async fn start_social(Path(slug): Path<String>, post: PostedTx<TxForm>) -> Response {
    let (state, browser, form, tx, _) = post.into_parts();
    let started = match social_oauth::provider(&state, &slug) {
        Ok(provider) => social_oauth::start(&state, &form.tx, &tx, provider).await,
        Err(err) => Err(err),
    };
    match started {
        Ok(url) => see_other(&url),
        Err(err) => refusal(&state, &browser, &form.tx, &tx, err).await,
    }
}

/// A credential the sign-in page's script got from a provider's own SDK and posts.
#[derive(Clone, Copy)]
enum PostedCredential {
    /// Google Identity Services' ID token.
    Google,
    /// The Facebook SDK's user access token.
    Facebook,
}

async fn google_credential(post: PostedTx<CredentialForm>) -> Response {
    credential_sign_in(post, PostedCredential::Google).await
}

async fn facebook_token(post: PostedTx<CredentialForm>) -> Response {
    credential_sign_in(post, PostedCredential::Facebook).await
}

async fn credential_sign_in(post: PostedTx<CredentialForm>, kind: PostedCredential) -> Response {
    let (state, browser, form, tx, locale) = post.into_parts();
    let credential = form.credential.as_str();
    let shown = tx.clone();
    let meta = browser.meta();
    let signed_in = match kind {
        PostedCredential::Google => {
            google_identity::sign_in_with_credential(
                TxCall::new(&state, &form.tx, tx, meta),
                credential,
            )
            .await
        }
        PostedCredential::Facebook => {
            crate::services::facebook::sign_in_with_token(
                TxCall::new(&state, &form.tx, tx, meta),
                credential,
            )
            .await
        }
    };
    match signed_in {
        Ok(outcome) => respond::outcome(&state.config, &form.tx, &locale, outcome),
        Err(err) => refusal(&state, &browser, &form.tx, &shown, err).await,
    }
}

async fn github_callback(
    State(state): State<AppState>,
    browser: Browser,
    Query(answer): Query<ProviderAnswer>,
) -> Response {
    social_callback(state, browser, SocialProvider::GitHub, answer).await
}

async fn discord_callback(
    State(state): State<AppState>,
    browser: Browser,
    Query(answer): Query<ProviderAnswer>,
) -> Response {
    social_callback(state, browser, SocialProvider::Discord, answer).await
}

async fn social_callback(
    state: AppState,
    browser: Browser,
    provider: SocialProvider,
    answer: ProviderAnswer,
) -> Response {
    let (pending, tx) = match pending_transaction(&state, &browser, provider.name(), &answer).await
    {
        Ok(found) => found,
        Err(err) => return page_error(&state, "en", err),
    };
    let locale = tx.request.locale.clone();
    let shown = tx.clone();
    let meta = browser.meta();
    match social_oauth::sign_in_with(&state, provider, &pending, tx, &answer, meta).await {
        Ok(outcome) => respond::outcome(&state.config, &pending.tx_id, &locale, outcome),
        Err(err) => refusal(&state, &browser, &pending.tx_id, &shown, err).await,
    }
}

/// The sign-in a callback's `state` names (once), and its transaction, bound to this browser.
async fn pending_transaction(
    state: &AppState,
    browser: &Browser,
    provider: &str,
    answer: &ProviderAnswer,
) -> Result<(PendingSignIn, Transaction), ServiceError> {
    let pending = federation::take_pending(state, provider, answer).await?;
    let tx = signin::load(state, &pending.tx_id, browser.csrf.as_deref()).await?;
    Ok((pending, tx))
}

/// Melody's list of the configured providers for its own page. Its `codeVerifier` is left out:
/// Gatehouse keeps the PKCE verifier of each sign-in on the server (`OIDCS-<state>`), so a
/// verifier handed to the page would be honoured by no flow.
async fn oidc_configs(State(state): State<AppState>) -> Response {
    match federation::public_configs(&state).await {
        Ok(configs) => {
            let configs: Vec<_> = configs
                .into_iter()
                .map(|(name, config)| serde_json::json!({ "name": name, "config": config }))
                .collect();
            axum::Json(serde_json::json!({ "configs": configs })).into_response()
        }
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The button: off to the provider with a state, nonce and PKCE challenge kept here.
async fn start(Path(provider): Path<String>, post: PostedTx<TxForm>) -> Response {
    let (state, browser, form, tx, _) = post.into_parts();
    match federation::start(&state, &form.tx, &tx, &provider).await {
        Ok(url) => see_other(&url),
        Err(err) => refusal(&state, &browser, &form.tx, &tx, err).await,
    }
}

/// The provider's answer (`code` and `state`, or `error`).
async fn callback(
    State(state): State<AppState>,
    browser: Browser,
    Path(provider): Path<String>,
    Query(answer): Query<ProviderAnswer>,
) -> Response {
    finish_oidc(state, browser, &provider, answer).await
}

/// Apple's `form_post` answer. The browser's SameSite cookie does not come with a cross-site
/// POST, so the answer is passed on to a same-site GET, where it does. The names Apple posts on
/// the first authorization (`user`) stay here, under the answer's state, not in the URL.
async fn apple_form_post(
    State(state): State<AppState>,
    Form(answer): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        answer
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let (Some(user), Some(answer_state)) = (field("user"), field("state")) {
        let (first_name, last_name) = apple_user_names(user);
        let names = PostedNames {
            first_name,
            last_name,
        };
        // The names are a courtesy: losing them never fails the sign-in.
        if let Err(err) = federation::keep_posted_names(&state, answer_state, &names).await {
            tracing::warn!(error = %err, "could not keep the names Apple posted");
        }
    }
    let kept: Vec<(String, String)> = answer
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "code" | "state" | "error"))
        .collect();
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    see_other(&format!("/identity/v1/authorize-apple?{query}"))
}

async fn apple_return(
    State(state): State<AppState>,
    browser: Browser,
    Query(mut answer): Query<ProviderAnswer>,
) -> Response {
    match federation::take_posted_names(&state, &answer.state).await {
        Ok(names) => answer.posted_names = names,
        Err(err) => tracing::warn!(error = %err, "could not read the names Apple posted"),
    }
    finish_oidc(state, browser, "Apple", answer).await
}

async fn finish_oidc(
    state: AppState,
    browser: Browser,
    provider: &str,
    answer: ProviderAnswer,
) -> Response {
    let (pending, tx) = match pending_transaction(&state, &browser, provider, &answer).await {
        Ok(found) => found,
        Err(err) => return page_error(&state, "en", err),
    };
    let locale = tx.request.locale.clone();
    let shown = tx.clone();
    match federation::sign_in_with_provider(&state, &pending, tx, &answer, browser.meta()).await {
        Ok(outcome) => respond::outcome(&state.config, &pending.tx_id, &locale, outcome),
        Err(err) => refusal(&state, &browser, &pending.tx_id, &shown, err).await,
    }
}

/// The sign-in page again, saying why the provider's way failed.
async fn refusal(
    state: &AppState,
    browser: &Browser,
    tx_id: &str,
    tx: &Transaction,
    err: ServiceError,
) -> Response {
    let locale = tx.request.locale.clone();
    match form_error(state, &locale, err) {
        Ok(error) => sign_in_view(state, browser, tx_id, tx, &locale, "", Some(error), None).await,
        Err(page) => *page,
    }
}
