//! Guards: the only code that turns a request's credentials into a caller type. Handlers and
//! services take these types, so an unguarded call does not compile.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use gatehouse_core::grant::AppType;
use gatehouse_core::jwt::{self, AccessTokenClaims};
use gatehouse_core::request_headers::{access_token, TokenScheme};
use gatehouse_core::scope::parse_scope_list;

use super::api::text_errors::TextRefusals;
use super::error::ApiError;
use crate::services::{dpop, user_tokens};
use crate::state::AppState;
use gatehouse_store::changes::{self, ActorKind};

/// A server-to-server caller: an active S2S app presenting a valid, unrevoked access token; its
/// scopes are the token's that the app holds now.
#[derive(Debug, Clone)]
pub struct S2sCaller {
    pub client_id: String,
    pub scopes: Vec<String>,
}

impl S2sCaller {
    /// What the caller may change among protected roles and their holders.
    pub fn authority(&self) -> crate::services::authority::Authority {
        crate::services::authority::Authority::of_s2s(&self.scopes)
    }
}

/// The access token of a request (`Bearer` or `DPoP`): `Ok(None)` without an Authorization
/// header.
pub fn presented_token(
    headers: &axum::http::HeaderMap,
) -> Result<Option<(TokenScheme, &str)>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    match value.to_str().ok().and_then(access_token) {
        Some(found) => Ok(Some(found)),
        None => Err(ApiError::bad_request(
            "Malformed Authorization header: expected Bearer <token> or DPoP <token>".into(),
        )),
    }
}

/// A resource's refusal of a token's DPoP proof, with the nonce to use when that was missing.
pub async fn dpop_refusal(state: &AppState, err: crate::error::ServiceError, now: i64) -> ApiError {
    let mut refusal = ApiError::from(err);
    if let ApiError::Dpop {
        error: gatehouse_core::dpop::DpopError::UseNonce,
        nonce,
    } = &mut refusal
    {
        match dpop::current_nonce(state, now).await {
            Ok(current) => *nonce = Some(current),
            Err(err) => return ApiError::from(err),
        }
    }
    refusal
}

impl FromRequestParts<AppState> for S2sCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (scheme, token) = presented_token(&parts.headers)?
            .ok_or_else(|| ApiError::unauthorized("A bearer access token is required".into()))?;
        let now = chrono::Utc::now().timestamp();
        let invalid =
            |reason: &str| ApiError::unauthorized(format!("Invalid access token: {reason}"));
        let payload = state
            .keys
            .verify(token)
            .map_err(|e| invalid(&e.to_string()))?;
        let claims: AccessTokenClaims =
            serde_json::from_slice(&payload).map_err(|_| invalid("unexpected claims"))?;
        jwt::check_access_token(&claims, &state.config.issuer, now)
            .map_err(|e| invalid(&e.to_string()))?;
        let presented = dpop::PresentedToken {
            scheme,
            token,
            method: parts.method.as_str(),
            path: parts.uri.path(),
        };
        if let Err(err) =
            dpop::check_presented(state, &parts.headers, presented, claims.cnf.as_ref(), now).await
        {
            return Err(dpop_refusal(state, err, now).await);
        }
        if user_tokens::access_token_revoked(state, &claims.jti).await? {
            return Err(invalid("the token was revoked"));
        }
        let app = state
            .clients
            .app(&claims.azp)
            .await?
            .filter(|app| app.is_active && app.app_type == AppType::S2s)
            .ok_or_else(|| invalid("the token does not belong to an active S2S app"))?;
        if state.config.api_text_error_clients.contains(&app.client_id) {
            if let Some(refusals) = parts.extensions.get::<TextRefusals>() {
                refusals.want();
            }
        }
        // The token's scopes that the app still holds: a scope taken from the app stops working
        // at once on this instance, and within the client cache's lifetime on the others.
        let scopes = parse_scope_list(&claims.scope)
            .into_iter()
            .filter(|scope| app.scopes.contains(scope))
            .collect();
        // What this request changes is recorded as the app's.
        changes::identify(ActorKind::App, &app.client_id);
        Ok(S2sCaller {
            client_id: app.client_id.clone(),
            scopes,
        })
    }
}
