//! Signing out: Melody's `POST /identity/v1/logout` (revokes the refresh token and answers where
//! to send the browser) and `GET /oauth2/v1/logout` (ends the browser session, the OIDC
//! end-session endpoint).

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::grant::AppType;
use gatehouse_core::logout::frontchannel_logout_url;
use gatehouse_store::BrowserSessionStore;
use serde::Deserialize;
use serde_json::json;

use super::browser::Browser;
use super::i18n;
use super::pages::{allow_frames, message, render, Chrome, SignedOutPage};
use super::respond::see_other;
use crate::http::error::{ApiError, OAuthError};
use crate::http::form::OAuthForm;
use crate::http::web::{bearer, clear_cookie};
use crate::services::sessions::SESSION_COOKIE;
use crate::services::user_tokens;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct IdentityLogoutForm {
    refresh_token: Option<String>,
    post_logout_redirect_uri: Option<String>,
}

pub async fn identity_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<IdentityLogoutForm>,
) -> Result<Response, Response> {
    let now = chrono::Utc::now().timestamp();
    let token = bearer(&headers).ok_or_else(|| {
        ApiError::unauthorized("A bearer access token is required".into()).into_response()
    })?;
    let claims = user_tokens::read_access_token(&state, token, now)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
        .ok_or_else(|| ApiError::unauthorized("Invalid access token".into()).into_response())?;
    let refresh = form.refresh_token.unwrap_or_default();
    if refresh.is_empty() {
        return Err(
            OAuthError::from(gatehouse_core::TokenError::InvalidRefreshToken).into_response(),
        );
    }
    user_tokens::revoke_own_refresh_token(&state, &claims.sub, &refresh)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let query = serde_urlencoded::to_string([
        (
            "post_logout_redirect_uri",
            form.post_logout_redirect_uri.unwrap_or_default(),
        ),
        ("client_id", claims.azp),
    ])
    .unwrap_or_default();
    Ok(Json(json!({
        "success": true,
        "redirectUri": format!("{}/oauth2/v1/logout?{query}", state.config.issuer),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct EndSessionQuery {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    id_token_hint: Option<String>,
    state: Option<String>,
    ui_locales: Option<String>,
}

/// The client an end-session request is for: `client_id`, or the audience of `id_token_hint`.
fn client_of(state: &AppState, q: &EndSessionQuery) -> Option<String> {
    if let Some(id) = q.client_id.as_deref().filter(|c| !c.is_empty()) {
        return Some(id.to_owned());
    }
    let payload = state.keys.verify(q.id_token_hint.as_deref()?).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    claims.get("aud")?.as_str().map(str::to_owned)
}

pub async fn end_session(
    State(state): State<AppState>,
    browser: Browser,
    Query(q): Query<EndSessionQuery>,
) -> Response {
    let locale = gatehouse_core::authorize::pick_locale(
        q.ui_locales
            .as_deref()
            .unwrap_or_default()
            .split_ascii_whitespace(),
        &state.config.supported_locales,
    );
    let t = i18n::texts(&locale);
    let refuse = |text: &str| {
        message(
            &state.config,
            &locale,
            StatusCode::BAD_REQUEST,
            t.error_title,
            text,
        )
    };
    let app = match client_of(&state, &q) {
        Some(client_id) => match state.clients.app(&client_id).await {
            Ok(app) => app.filter(|a| a.is_active && a.app_type != AppType::S2s),
            Err(err) => {
                return crate::http::error::page_internal_error(&state.config, &locale, &err)
            }
        },
        None => None,
    };
    let redirect = match (
        &app,
        q.post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty()),
    ) {
        (None, Some(_)) => {
            return refuse("A post_logout_redirect_uri needs a valid client_id or id_token_hint")
        }
        (None, None) if q.client_id.is_some() => return refuse("No SPA app found"),
        (Some(app), Some(uri)) => {
            // Exact match against the app's registered URIs: never an open redirect.
            if !app.redirect_uris.iter().any(|r| r == uri)
                || !crate::services::apps::may_redirect_to(&state.config, uri)
            {
                return refuse("Invalid redirect_uri provided");
            }
            Some(uri.to_owned())
        }
        (Some(app), None) => app
            .redirect_uris
            .iter()
            .find(|u| crate::services::apps::may_redirect_to(&state.config, u))
            .cloned(),
        (None, None) => None,
    };
    let ended = match state
        .sessions()
        .end(browser.session.as_deref(), browser.now)
        .await
    {
        Ok(ended) => ended,
        Err(err) => return crate::http::error::page_internal_error(&state.config, &locale, &err),
    };
    let target = redirect.map(|uri| match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let query = serde_urlencoded::to_string([("state", s)]).unwrap_or_default();
            format!("{uri}{sep}{query}")
        }
        None => uri,
    });
    let front_channels = match ended {
        Some(session_id) => match state.store.session_front_channels(session_id).await {
            Ok(apps) => apps
                .into_iter()
                .map(|app| {
                    frontchannel_logout_url(
                        &app.frontchannel_logout_uri,
                        app.frontchannel_logout_session_required,
                        &state.config.issuer,
                        session_id,
                    )
                })
                .collect(),
            Err(err) => {
                let err = crate::error::ServiceError::from(err);
                return crate::http::error::page_internal_error(&state.config, &locale, &err);
            }
        },
        None => Vec::new(),
    };
    let mut response = match (target, front_channels.is_empty()) {
        (Some(target), true) => {
            let mut r = see_other(&target);
            *r.status_mut() = StatusCode::FOUND;
            r
        }
        (target, false) => front_channel_page(&state, &locale, front_channels, target),
        (None, true) => signed_out_page(&state, &locale),
    };
    forget_session(&state, &mut response);
    response
}

/// The signed-out page that tells the apps' front channels, then goes on to `next`.
fn front_channel_page(
    state: &AppState,
    locale: &str,
    frames: Vec<String>,
    next: Option<String>,
) -> Response {
    let nonce = crate::crypto::random_token::<16>();
    let mut origins: Vec<String> = frames
        .iter()
        .filter_map(|f| gatehouse_core::web_url::WebUrl::parse(f).map(|u| u.origin()))
        .collect();
    origins.sort();
    origins.dedup();
    let page = SignedOutPage {
        c: Chrome::new(&state.config, locale, None),
        frames,
        next,
        nonce: &nonce,
    };
    let mut response = render(StatusCode::OK, &page, Some(&nonce));
    allow_frames(&mut response, &origins.join(" "));
    response
}

/// The page a signed-out browser sees.
pub(super) fn signed_out_page(state: &AppState, locale: &str) -> Response {
    let t = i18n::texts(locale);
    message(
        &state.config,
        locale,
        StatusCode::OK,
        t.signed_out_title,
        t.signed_out_text,
    )
}

/// Deletes the browser's session cookie with the response.
pub(super) fn forget_session(state: &AppState, response: &mut Response) {
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(&state.config, SESSION_COOKIE),
    );
}
