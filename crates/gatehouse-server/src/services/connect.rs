//! ePass connect apps (epass.md): `/connect/<app>` runs the normal sign-in and hands the app its
//! "sauce", the user info sealed with the app's secret. Secrets are AES keys, so they are stored
//! sealed with the master key, never hashed and never in plain text.

use gatehouse_core::authorize::{AuthorizationRequest, Prompt, ResponseMode};
use gatehouse_core::connect::{check_app_name, sauce_claims};
use gatehouse_core::signin::SignInError;
use gatehouse_store::{AccountStore, ConnectAppRecord, ConnectAppStore, NewConnectApp};
use serde::{Deserialize, Serialize};

use crate::crypto::{random_alphanumeric, seal_sauce};
use crate::error::ServiceError;
use crate::state::AppState;

/// Where a connect sign-in hands its sauce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectTarget {
    pub app_name: String,
    pub redirect_url: String,
}

fn seal_context(name: &str) -> String {
    format!("connect-app:{name}")
}

/// What an operator gives for a new app.
pub struct NewApp {
    pub name: String,
    pub redirect_url: String,
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    pub redirect_patterns: Vec<String>,
}

fn is_absolute_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > 8
        && !url.contains(['#', ' ', '"', '<', '>'])
}

/// The anchored form of a redirect pattern: it must match the whole URL.
fn anchored(pattern: &str) -> Result<regex::Regex, ServiceError> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        ServiceError::Conflict(format!(
            "redirect pattern `{pattern}` is not a regular expression: {e}"
        ))
    })
}

/// Creates a connect app; returns it and its secret (shown once).
pub async fn create(
    store: &gatehouse_store::Store,
    keys: &crate::keys::KeyRing,
    app: NewApp,
) -> Result<(ConnectAppRecord, String), ServiceError> {
    check_app_name(&app.name).map_err(|e| ServiceError::Conflict(e.to_string()))?;
    if !is_absolute_url(&app.redirect_url) {
        return Err(ServiceError::Conflict(
            "The redirect URL must be an absolute http(s) URL without a fragment".into(),
        ));
    }
    for pattern in &app.redirect_patterns {
        anchored(pattern)?;
    }
    let secret = random_alphanumeric(32);
    let record = store
        .insert_connect_app(&NewConnectApp {
            name: app.name.clone(),
            secret_encrypted: keys.seal_bytes(secret.as_bytes(), &seal_context(&app.name)),
            redirect_url: app.redirect_url,
            display_name: app.display_name,
            logo_url: app.logo_url,
            redirect_patterns: serde_json::to_string(&app.redirect_patterns)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
        })
        .await
        .map_err(crate::error::conflict_as(
            "A connect app with this name already exists",
        ))?;
    Ok((record, secret))
}

/// Where the sauce goes: the app's redirect URL, or `requested` when it matches one of the
/// app's patterns in full.
pub fn redirect_for(
    app: &ConnectAppRecord,
    requested: Option<&str>,
) -> Result<String, ServiceError> {
    let Some(requested) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(app.redirect_url.clone());
    };
    let patterns: Vec<String> = serde_json::from_str(&app.redirect_patterns).unwrap_or_default();
    let allowed = is_absolute_url(requested)
        && patterns
            .iter()
            .any(|p| anchored(p).is_ok_and(|re| re.is_match(requested)));
    if allowed {
        Ok(requested.to_owned())
    } else {
        Err(SignInError::BadInput("The redirect URL is not allowed for this app".into()).into())
    }
}

/// The sign-in request behind `/connect/<app>`: no scopes (so no consent), no code.
pub fn sign_in_request(app: &ConnectAppRecord, locale: String) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: format!("connect:{}", app.name),
        redirect_uri: app.redirect_url.clone(),
        state: String::new(),
        challenge: None,
        scopes: Vec::new(),
        nonce: None,
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        response_mode: ResponseMode::Query,
        locale,
        policy: None,
        org: None,
    }
}

/// The URL that hands the signed-in user to the app: `<redirect>?sauce=…`, sealed now (apps
/// treat a sauce older than a few seconds as expired).
pub async fn sauce_redirect(
    state: &AppState,
    target: &ConnectTarget,
    user_id: i64,
    now: i64,
) -> Result<String, ServiceError> {
    let app = state
        .store
        .connect_app(&target.app_name)
        .await?
        .filter(|a| a.is_active)
        .ok_or(ServiceError::NotFound("No connect app found"))?;
    let key = state
        .keys
        .open_bytes(&app.secret_encrypted, &seal_context(&app.name))?;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let claims = sauce_claims(
        user.id,
        user.email.as_deref().unwrap_or_default(),
        user.first_name.as_deref(),
        user.last_name.as_deref(),
        now,
    );
    let plaintext =
        serde_json::to_vec(&claims).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let sauce = seal_sauce(&key, &plaintext)
        .ok_or_else(|| ServiceError::Internal("the sauce could not be sealed".into()))?;
    let sep = if target.redirect_url.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(format!("{}{sep}sauce={sauce}", target.redirect_url))
}
