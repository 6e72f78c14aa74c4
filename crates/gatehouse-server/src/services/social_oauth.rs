//! GitHub and Discord: OAuth 2.0 code flows whose user APIs say who signed in (no ID token).
//! The state is kept and used once like the OpenID Connect providers' (`services::federation`),
//! and the sign-in goes on through the same steps.

use gatehouse_core::federation::{authorization_url, AuthorizationRedirect};
use gatehouse_core::signin::SignInError;
use gatehouse_core::social_profiles::{discord_profile, github_profile, ExternalProfile};
use serde::Deserialize;

use crate::error::ServiceError;
use crate::services::federation::{
    check_answer, form_encode, refused, remember, sign_in_as, PendingSignIn, ProviderAnswer,
};
use crate::services::signin::{Outcome, RequestMeta, Transaction};
use crate::state::AppState;

/// A built-in code-flow provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocialProvider {
    GitHub,
    Discord,
}

impl SocialProvider {
    pub const ALL: [Self; 2] = [Self::GitHub, Self::Discord];

    /// The user rows' `socialAccountType` (Melody's names).
    pub fn name(self) -> &'static str {
        match self {
            Self::GitHub => "GitHub",
            Self::Discord => "Discord",
        }
    }

    /// The name in paths: `/identity/v1/authorize-<slug>`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::Discord => "discord",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    fn client(self, state: &AppState) -> (&str, &str) {
        let c = &state.config;
        match self {
            Self::GitHub => (
                &c.github_auth_client_id,
                c.github_auth_client_secret.expose(),
            ),
            Self::Discord => (
                &c.discord_auth_client_id,
                c.discord_auth_client_secret.expose(),
            ),
        }
    }

    pub fn is_configured(self, state: &AppState) -> bool {
        let (id, secret) = self.client(state);
        !id.is_empty() && !secret.is_empty()
    }

    fn authorize_endpoint(self, state: &AppState) -> String {
        match self {
            Self::GitHub => format!("{}/login/oauth/authorize", state.config.github_auth_url),
            Self::Discord => format!("{}/oauth2/authorize", state.config.discord_api_url),
        }
    }

    fn token_endpoint(self, state: &AppState) -> String {
        match self {
            Self::GitHub => format!("{}/login/oauth/access_token", state.config.github_auth_url),
            Self::Discord => format!("{}/api/oauth2/token", state.config.discord_api_url),
        }
    }

    fn scopes(self, state: &AppState) -> Vec<String> {
        match self {
            Self::GitHub => vec!["read:user".into(), "user:email".into()],
            Self::Discord => state
                .config
                .discord_auth_scope
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// The configured built-in provider `slug` names.
pub fn provider(state: &AppState, slug: &str) -> Result<SocialProvider, ServiceError> {
    SocialProvider::from_slug(slug)
        .filter(|p| p.is_configured(state))
        .ok_or_else(|| SignInError::UnknownProvider(slug.to_owned()).into())
}

pub fn callback_uri(state: &AppState, provider: SocialProvider) -> String {
    format!(
        "{}/identity/v1/authorize-{}",
        state.config.issuer,
        provider.slug()
    )
}

/// Begins sign-in through `provider`; returns its authorization URL.
pub async fn start(
    state: &AppState,
    tx_id: &str,
    tx: &Transaction,
    provider: SocialProvider,
) -> Result<String, ServiceError> {
    tx.expect_first_factor()?;
    // PKCE binds the code to this server's exchange where the provider checks it.
    let (pending_state, pending) = remember(state, tx_id, provider.name(), true).await?;
    let (client_id, _) = provider.client(state);
    Ok(authorization_url(&AuthorizationRedirect {
        authorization_endpoint: &provider.authorize_endpoint(state),
        client_id,
        redirect_uri: &callback_uri(state, provider),
        scopes: &provider.scopes(state),
        state: &pending_state,
        nonce: &pending.nonce,
        code_verifier: pending.code_verifier.as_deref(),
        form_post: false,
    }))
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

/// Finishes the provider's part: the code for an access token, the user API read, the user
/// found or made; then the transaction moves on.
pub async fn sign_in_with(
    state: &AppState,
    provider: SocialProvider,
    pending: &PendingSignIn,
    tx: Transaction,
    answer: &ProviderAnswer,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    check_answer(provider.name(), answer, &tx)?;
    let access_token = exchange_code(state, provider, pending, &answer.code).await?;
    let profile = read_profile(state, provider, &access_token).await?;
    sign_in_as(state, provider.name(), &pending.tx_id, tx, &profile, meta).await
}

fn unavailable(provider: SocialProvider, detail: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(provider = provider.name(), %detail, "the provider failed");
    SignInError::ProviderUnavailable(provider.name().to_owned()).into()
}

async fn exchange_code(
    state: &AppState,
    provider: SocialProvider,
    pending: &PendingSignIn,
    code: &str,
) -> Result<String, ServiceError> {
    let (client_id, secret) = provider.client(state);
    let redirect_uri = callback_uri(state, provider);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    if let Some(verifier) = &pending.code_verifier {
        form.push(("code_verifier", verifier));
    }
    let mut request = state
        .http
        .post(provider.token_endpoint(state))
        .header(reqwest::header::ACCEPT, "application/json");
    // Each as its documentation shows: GitHub takes the credentials in the form, Discord in
    // HTTP Basic.
    match provider {
        SocialProvider::GitHub => {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret));
        }
        SocialProvider::Discord => {
            request = request.basic_auth(form_encode(client_id), Some(form_encode(secret)));
        }
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| unavailable(provider, e))?;
    let status = response.status();
    // GitHub answers 200 with an `error` field for a bad code.
    match response.json::<TokenAnswer>().await {
        Ok(TokenAnswer {
            access_token: Some(token),
            ..
        }) if status.is_success() => Ok(token),
        Ok(TokenAnswer {
            error: Some(error), ..
        }) => Err(refused(
            provider.name(),
            format!("the provider refused the code (`{error}`)"),
        )),
        _ => Err(unavailable(provider, status)),
    }
}

async fn get_json(
    state: &AppState,
    provider: SocialProvider,
    url: &str,
    access_token: &str,
) -> Result<Vec<u8>, ServiceError> {
    let response = state
        .http
        .get(url)
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        // GitHub refuses API calls without a user agent.
        .header(reqwest::header::USER_AGENT, "Gatehouse")
        .send()
        .await
        .map_err(|e| unavailable(provider, e))?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(refused(
            provider.name(),
            "the provider did not accept its own access token",
        ));
    }
    if !response.status().is_success() {
        return Err(unavailable(provider, response.status()));
    }
    Ok(response
        .bytes()
        .await
        .map_err(|e| unavailable(provider, e))?
        .to_vec())
}

async fn read_profile(
    state: &AppState,
    provider: SocialProvider,
    access_token: &str,
) -> Result<ExternalProfile, ServiceError> {
    let profile = match provider {
        SocialProvider::GitHub => {
            let api = &state.config.github_api_url;
            let user = get_json(state, provider, &format!("{api}/user"), access_token).await?;
            let emails =
                get_json(state, provider, &format!("{api}/user/emails"), access_token).await?;
            github_profile(&user, &emails)
        }
        SocialProvider::Discord => {
            let url = format!("{}/api/users/@me", state.config.discord_api_url);
            discord_profile(&get_json(state, provider, &url, access_token).await?)
        }
    };
    profile.map_err(|e| refused(provider.name(), e.to_string()))
}
