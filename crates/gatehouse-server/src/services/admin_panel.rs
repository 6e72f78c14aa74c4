//! The admin panel's sign-in and session, and its first run.
//!
//! Sign-in is Gatehouse's own authorization-code flow with the seeded admin SPA app (PKCE S256,
//! state, nonce): the pending sign-in waits in the cache under its `state`, the code is
//! exchanged through the user-token service, and the panel keeps its own session in the cache
//! (so any instance serves it), holding the user, a CSRF token and the access token the
//! impersonation service asks for. Whether the user may use the panel is decided on every
//! request from the user's current roles.
//!
//! First run: while no active user holds an admin role, start-up makes a one-time setup link;
//! only the SHA-256 of its token is kept, under one key, so the newest link is the only one.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use gatehouse_core::admin::{admin_acts_as_root, holds_admin_role};
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::SignInError;
use gatehouse_store::{AccountStore, Cache, Store, UserRecord, UserStore};
use serde::{Deserialize, Serialize};

use super::admin_accounts::{self, NewAccount};
use super::bootstrap::{admin_callback_uri, admin_spa_app};
use super::user_tokens;
use crate::config::Config;
use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

const LOGIN_PREFIX: &str = "ADL-";
const SESSION_PREFIX: &str = "ADS-";
const SETUP_KEY: &str = "ADMIN-SETUP";
/// How long a started sign-in may take.
const LOGIN_TTL: Duration = Duration::from_secs(600);

pub const SETUP_LINK_INVALID: &str = "This setup link is not valid: it was used, it expired, or an \
    administrator already exists. Restart the server for a new link, or run `gatehouse admin create-user`.";

#[derive(Debug, Serialize, Deserialize)]
struct PendingSignIn {
    verifier: String,
    nonce: String,
    return_to: String,
}

/// What the panel's session cookie stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PanelSession {
    pub user_id: UserId,
    pub csrf: String,
    /// The admin's own access token (the impersonation service verifies it).
    pub access_token: String,
}

/// An admin who holds an admin role right now.
#[derive(Debug, Clone)]
pub struct PanelAdmin {
    pub session: PanelSession,
    pub user: UserRecord,
    pub roles: Vec<String>,
}

impl PanelAdmin {
    /// What the admin may change among protected roles and their holders.
    pub fn authority(&self) -> super::authority::Authority {
        super::authority::Authority::of_panel_admin(&self.roles)
    }

    /// The scopes the admin acts with in the management services.
    pub fn scopes(&self) -> Vec<String> {
        if admin_acts_as_root(&self.roles) {
            vec!["root".to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// Where a finished sign-in leads.
pub enum SignedIn {
    Admin {
        session_id: String,
        return_to: String,
        max_age: u64,
    },
    /// The user signed in but holds no admin role.
    NotAnAdmin,
}

/// Starts a sign-in; returns its `state` and the authorize URL to send the browser to.
pub async fn begin_sign_in(
    state: &AppState,
    return_to: &str,
    locale: &str,
) -> Result<(String, String), ServiceError> {
    let app = admin_spa_app(&state.store)
        .await?
        .ok_or_else(|| ServiceError::Internal("the admin SPA app is missing".into()))?;
    let login_state = random_token::<24>();
    let pending = PendingSignIn {
        verifier: random_token::<32>(),
        nonce: random_token::<16>(),
        return_to: safe_return_to(return_to).to_owned(),
    };
    let mut url = url::Url::parse(&format!(
        "{}/oauth2/v1/authorize",
        state.config.issuer.trim_end_matches('/')
    ))
    .map_err(|e| ServiceError::Internal(format!("issuer is not a URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &admin_callback_uri(&state.config))
        .append_pair("scope", "openid profile")
        .append_pair("state", &login_state)
        .append_pair("nonce", &pending.nonce)
        .append_pair(
            "code_challenge",
            &gatehouse_core::pkce::s256_challenge(&pending.verifier),
        )
        .append_pair("code_challenge_method", "S256")
        .append_pair("locale", locale);
    state
        .cache
        .set_json(&format!("{LOGIN_PREFIX}{login_state}"), &pending, LOGIN_TTL)
        .await?;
    Ok((login_state, url.into()))
}

/// Only paths of the panel itself are returned to (no open redirect).
fn safe_return_to(path: &str) -> &str {
    let inside = path == "/admin" || path.starts_with("/admin/");
    if inside && !path.contains("//") && !path.contains('\\') {
        path
    } else {
        "/admin"
    }
}

/// Finishes a sign-in the browser started (`state` matched its cookie): exchanges the code and,
/// for an admin, starts the panel's session.
pub async fn finish_sign_in(
    state: &AppState,
    login_state: &str,
    code: &str,
    ip: Option<&str>,
    now: i64,
) -> Result<SignedIn, ServiceError> {
    let pending = state
        .cache
        .take(&format!("{LOGIN_PREFIX}{login_state}"))
        .await?
        .and_then(|raw| serde_json::from_str::<PendingSignIn>(&raw).ok())
        .ok_or(SignInError::UnknownTransaction)?;
    let tokens = user_tokens::exchange_code(
        state,
        None,
        code,
        user_tokens::CodeProof {
            redirect_uri: Some(&admin_callback_uri(&state.config)),
            code_verifier: Some(&pending.verifier),
            resource: None,
            dpop: None,
        },
        ip,
        now,
    )
    .await?;
    let nonce = tokens.id_token.as_deref().and_then(id_token_nonce);
    if nonce.as_deref() != Some(pending.nonce.as_str()) {
        return Err(SignInError::UnknownTransaction.into());
    }
    let claims = user_tokens::read_access_token(state, &tokens.access_token, now)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let user = state
        .store
        .user_by_auth_id(&claims.sub)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let roles = state.store.user_role_names(user.id).await?;
    if !user.is_active || !holds_admin_role(&roles, &state.config.admin_panel_roles) {
        return Ok(SignedIn::NotAnAdmin);
    }
    let session_id = random_token::<32>();
    let session = PanelSession {
        user_id: user.id,
        csrf: random_token::<32>(),
        access_token: tokens.access_token,
    };
    // The session lives as long as the access token it holds.
    let max_age = tokens.expires_in;
    state
        .cache
        .set_json(
            &session_key(&session_id),
            &session,
            Duration::from_secs(max_age),
        )
        .await?;
    tracing::info!(admin = %user.auth_id, "admin panel session started");
    Ok(SignedIn::Admin {
        session_id,
        return_to: pending.return_to,
        max_age,
    })
}

/// The `nonce` claim of an ID token this server just issued (read, not verified: it came
/// straight from the token service, not from the browser).
fn id_token_nonce(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["nonce"].as_str().map(str::to_owned)
}

fn session_key(session_id: &str) -> String {
    format!("{SESSION_PREFIX}{}", sha256_hex(session_id.as_bytes()))
}

/// The admin behind a session cookie, if the session is live and the user still an active
/// holder of an admin role.
pub async fn current_admin(
    state: &AppState,
    session_id: &str,
) -> Result<Option<PanelAdmin>, ServiceError> {
    let Some(raw) = state.cache.get(&session_key(session_id)).await? else {
        return Ok(None);
    };
    let Ok(session) = serde_json::from_str::<PanelSession>(&raw) else {
        return Ok(None);
    };
    let Some(user) = state
        .store
        .user_by_id(session.user_id)
        .await?
        .filter(|u| u.is_active)
    else {
        return Ok(None);
    };
    let roles = state.store.user_role_names(user.id).await?;
    if !holds_admin_role(&roles, &state.config.admin_panel_roles) {
        return Ok(None);
    }
    Ok(Some(PanelAdmin {
        session,
        user,
        roles,
    }))
}

/// Ends a panel session.
pub async fn end_session(state: &AppState, session_id: &str) -> Result<(), ServiceError> {
    state.cache.delete(&session_key(session_id)).await?;
    Ok(())
}

/// At start-up: a one-time setup link when no active user holds an admin role.
pub async fn issue_setup_link(
    store: &Store,
    cache: &Cache,
    config: &Config,
) -> Result<Option<String>, ServiceError> {
    if admin_accounts::admin_exists(store, config).await? {
        return Ok(None);
    }
    let token = random_token::<32>();
    cache
        .set(
            SETUP_KEY,
            &sha256_hex(token.as_bytes()),
            Duration::from_secs(config.admin_setup_link_expires_in.max(1)),
        )
        .await?;
    Ok(Some(format!(
        "{}/admin/setup?token={token}",
        config.issuer.trim_end_matches('/')
    )))
}

/// Whether `token` is the live setup link's and no admin exists yet.
pub async fn setup_open(state: &AppState, token: &str) -> Result<bool, ServiceError> {
    let Some(stored) = state.cache.get(SETUP_KEY).await? else {
        return Ok(false);
    };
    let matches = constant_time_eq(sha256_hex(token.as_bytes()).as_bytes(), stored.as_bytes());
    Ok(matches && !admin_accounts::admin_exists(&state.store, &state.config).await?)
}

/// The setup page's form: creates the first `super_admin` and spends the link. Bad input keeps
/// the link usable.
pub async fn complete_setup(
    state: &AppState,
    token: &str,
    input: NewAccount,
) -> Result<UserRecord, ServiceError> {
    if !setup_open(state, token).await? {
        return Err(ServiceError::NotFound(SETUP_LINK_INVALID));
    }
    let account = admin_accounts::check(input)?;
    // Taken before the account is made, so two posts of one link make one admin.
    let Some(stored) = state.cache.take(SETUP_KEY).await? else {
        return Err(ServiceError::NotFound(SETUP_LINK_INVALID));
    };
    let created = admin_accounts::create(
        &state.store,
        &state.passwords,
        &state.config,
        account,
        &[gatehouse_core::admin::SUPER_ADMIN],
    )
    .await;
    if created.is_err() {
        let ttl = Duration::from_secs(state.config.admin_setup_link_expires_in.max(1));
        state.cache.set(SETUP_KEY, &stored, ttl).await?;
    }
    let user = created?;
    tracing::info!(admin = %user.auth_id, "first administrator created through the setup link");
    Ok(user)
}
