//! `/embedded-auth/v1`: the sign-in transaction as JSON, for apps that draw their own sign-in
//! UI (melody.md §6). The session id is the transaction id; responses are
//! `{sessionId, nextStep?, success}`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use gatehouse_core::authorize::{check_client, check_request, AuthorizeParams};
use gatehouse_core::signin::{AtStep, SignInError, Step};
use serde::Deserialize;
use serde_json::json;

use super::api::json::ApiJson;
use super::api::user_attributes::UserAttributeView;
use super::error::ApiError;
use super::identity::step::{Consent, StepPage};
use super::web::{client_ip, peer};
use crate::error::ServiceError;
use crate::services::signin::{
    self, Outcome, RequestMeta, SignUpInput, StepCall, Transaction, TxCall,
};
use crate::services::user_tokens;
use crate::state::AppState;

/// Where a finished embedded session keeps its authorization code until `token-exchange`.
const SESSION_CODE_PREFIX: &str = "ES-";

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/embedded-auth/v1/initiate", post(initiate))
        .route("/embedded-auth/v1/{session_id}/sign-in", post(sign_in))
        .route(
            "/embedded-auth/v1/{session_id}/sign-up",
            get(sign_up_fields).post(sign_up),
        )
        .route(
            "/embedded-auth/v1/{session_id}/app-consent",
            get(consent_info).post(consent),
        )
        .route("/embedded-auth/v1/token-exchange", post(token_exchange))
        .route("/embedded-auth/v1/token-refresh", post(token_refresh))
        .route("/embedded-auth/v1/sign-out", post(sign_out))
        .route(
            "/embedded-auth/v1/reset-password-code",
            post(reset_password_code),
        )
        .route("/embedded-auth/v1/reset-password", post(reset_password))
        .merge(super::embedded_mfa::routes())
        .route_layer(middleware::from_fn_with_state(state, origin_guard))
}

/// Runs before any body is read, so a disabled feature or a foreign origin is the answer.
async fn origin_guard(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    match check_origin(&state, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(err) => err.into_response(),
    }
}

/// The embedded API is off until origins are configured; browsers must come from one of them.
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let origins = &state.config.embedded_auth_origins;
    if origins.is_empty() {
        return Err(ApiError::bad_request(
            "Embedded auth feature is not enabled".into(),
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin = origin.trim_end_matches('/');
        let issuer = state.config.issuer.trim_end_matches('/');
        if origin != issuer && !origins.iter().any(|o| o.trim_end_matches('/') == origin) {
            return Err(ApiError::bad_request(
                "Request from unexpected origin".into(),
            ));
        }
    }
    Ok(())
}

pub(super) fn meta<'a>(ip: &'a Option<String>) -> RequestMeta<'a> {
    RequestMeta {
        ip: ip.as_deref(),
        user_agent: None,
        now: chrono::Utc::now().timestamp(),
        device: None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitiateBody {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    code_challenge_method: String,
    scopes: Vec<String>,
    locale: Option<String>,
    org: Option<String>,
}

async fn initiate(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<InitiateBody>,
) -> Result<Response, ApiError> {
    let config = &state.config;
    let settings = signin::authorize_settings(config, signin::RequestSurface::EmbeddedApi);
    let params = AuthorizeParams {
        client_id: Some(body.client_id.clone()),
        redirect_uri: Some(body.redirect_uri),
        response_type: Some("code".into()),
        state: Some("embedded".into()),
        code_challenge: Some(body.code_challenge),
        code_challenge_method: Some(body.code_challenge_method),
        scope: Some(body.scopes.join(" ")),
        locale: body.locale,
        org: body.org,
        ..AuthorizeParams::default()
    };
    let app = state.clients.app(&body.client_id).await?;
    let facts = app.as_deref().map(signin::client_facts);
    let redirect_uri = check_client(&params, facts, &settings)
        .map_err(|e| ApiError::refused(e.class(), e.to_string()))?;
    let (Some(app), Some(facts)) = (app.as_deref(), facts) else {
        return Err(ApiError::not_found("No SPA app found".into()));
    };
    let request = check_request(&params, facts, redirect_uri, &settings)
        .map_err(|e| ApiError::bad_request(e.description))?;
    let session_id = signin::begin(&state, request, app, None).await?;
    Ok(Json(json!({ "sessionId": session_id })).into_response())
}

/// Answers a step in Melody's `AuthRes` shape; a finished session parks its code.
pub(super) async fn auth_res(
    state: &AppState,
    session_id: &str,
    outcome: Outcome,
) -> Result<Response, ApiError> {
    match outcome {
        Outcome::Step(step) => Ok(Json(json!({
            "sessionId": session_id,
            "nextStep": step.as_str(),
            "success": false,
        }))
        .into_response()),
        Outcome::Done(done) => {
            let ttl = Duration::from_secs(state.config.authorization_code_expires_in);
            state
                .cache
                .set(
                    &format!("{SESSION_CODE_PREFIX}{session_id}"),
                    &done.code,
                    ttl,
                )
                .await
                .map_err(ServiceError::from)?;
            Ok(Json(json!({ "sessionId": session_id, "success": true })).into_response())
        }
    }
}

pub(super) async fn session(
    state: &AppState,
    session_id: &str,
) -> Result<signin::Transaction, ApiError> {
    signin::load(state, session_id, None)
        .await
        .map_err(|e| match e {
            ServiceError::SignIn(SignInError::UnknownTransaction) => {
                ApiError::not_found("Invalid session id provided".into())
            }
            other => other.into(),
        })
}

/// The session a `/{session_id}/…` route names, loaded, with the client's IP. Handlers that take
/// it cannot run for an unknown session.
pub(super) struct Session {
    pub(super) state: AppState,
    pub(super) id: String,
    pub(super) tx: Transaction,
    pub(super) ip: Option<String>,
}

impl Session {
    pub(super) fn meta(&self) -> RequestMeta<'_> {
        meta(&self.ip)
    }

    /// The session if it owes one of `steps` now, with the `AtStep` a submission records its
    /// step with.
    pub(super) async fn owing(self, steps: &[Step]) -> Result<(Self, AtStep), ServiceError> {
        let at = signin::at_step(&self.state, &self.tx, steps, self.meta()).await?;
        Ok((self, at))
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let tx = session(state, &id).await?;
        let ip = client_ip(&parts.headers, peer(parts), &state.config);
        Ok(Self {
            state: state.clone(),
            id,
            tx,
            ip,
        })
    }
}

/// The client's IP (see [`client_ip`]).
pub(super) struct ClientIp(pub(super) Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self(client_ip(&parts.headers, peer(parts), &state.config)))
    }
}

/// A session owing one of `P::STEPS` now (the same step table as the pages).
pub(super) struct OwedSession<P> {
    pub(super) state: AppState,
    pub(super) id: String,
    pub(super) tx: Transaction,
    pub(super) at: AtStep,
    pub(super) ip: Option<String>,
    page: PhantomData<P>,
}

impl<P: StepPage> FromRequestParts<AppState> for OwedSession<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (session, at) = Session::from_request_parts(parts, state)
            .await?
            .owing(P::STEPS)
            .await?;
        let Session { state, id, tx, ip } = session;
        Ok(Self {
            state,
            id,
            tx,
            at,
            ip,
            page: PhantomData,
        })
    }
}

/// Answers a finished step: the session goes on with `outcome`.
pub(super) async fn step_done(
    state: &AppState,
    session_id: &str,
    outcome: Result<Outcome, ServiceError>,
) -> Result<Response, ApiError> {
    auth_res(state, session_id, outcome?).await
}

#[derive(Debug, Deserialize)]
struct SignInBody {
    email: String,
    password: String,
}

async fn sign_in(s: Session, ApiJson(body): ApiJson<SignInBody>) -> Result<Response, ApiError> {
    let meta = meta(&s.ip);
    let outcome = signin::sign_in_with_password(
        TxCall::new(&s.state, &s.id, s.tx, meta),
        &body.email,
        &body.password,
    )
    .await;
    step_done(&s.state, &s.id, outcome).await
}

async fn sign_up_fields(s: Session) -> Result<Response, ApiError> {
    let attributes: Vec<UserAttributeView> = signin::sign_up_attributes(&s.state)
        .await?
        .iter()
        .map(UserAttributeView::from)
        .collect();
    Ok(Json(json!({ "userAttributes": attributes })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignUpBody {
    email: String,
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
    /// `{"<attributeId>": value}`.
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// Melody keys attribute values by the attribute's id as a string.
fn attribute_values(raw: BTreeMap<String, String>) -> Result<BTreeMap<i64, String>, ApiError> {
    raw.into_iter()
        .map(|(id, value)| match id.trim().parse::<i64>() {
            Ok(id) if id > 0 => Ok((id, value)),
            _ => Err(ApiError::bad_request(format!("Unknown attribute: {id}"))),
        })
        .collect()
}

async fn sign_up(s: Session, ApiJson(body): ApiJson<SignUpBody>) -> Result<Response, ApiError> {
    let input = SignUpInput {
        email: body.email,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
        attributes: attribute_values(body.attributes)?,
    };
    let outcome = signin::sign_up(&s.state, &s.id, s.tx, input, meta(&s.ip)).await;
    step_done(&s.state, &s.id, outcome).await
}

async fn consent_info(s: Session) -> Result<Response, ApiError> {
    let scopes: Vec<_> = signin::consent_scopes(&s.state, &s.tx)
        .await?
        .into_iter()
        .map(|scope| {
            let locales: Vec<_> = scope
                .locales
                .into_iter()
                .map(|(locale, value)| json!({ "locale": locale, "value": value }))
                .collect();
            json!({ "name": scope.name, "locales": locales })
        })
        .collect();
    Ok(Json(json!({ "scopes": scopes, "appName": s.tx.app_name })).into_response())
}

async fn consent(s: OwedSession<Consent>) -> Result<Response, ApiError> {
    match signin::answer_consent(
        StepCall::new(&s.state, &s.id, s.tx, s.at, meta(&s.ip)),
        true,
    )
    .await?
    {
        Some(outcome) => auth_res(&s.state, &s.id, outcome).await,
        None => Err(ApiError::bad_request("User consent required".into())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenExchangeBody {
    session_id: String,
    code_verifier: String,
}

async fn token_exchange(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<TokenExchangeBody>,
) -> Result<Response, ApiError> {
    let code = state
        .cache
        .take(&format!("{SESSION_CODE_PREFIX}{}", body.session_id))
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ApiError::not_found("Invalid session id provided".into()))?;
    let now = chrono::Utc::now().timestamp();
    let tokens = user_tokens::exchange_code(
        &state,
        None,
        &code,
        user_tokens::CodeProof {
            code_verifier: Some(&body.code_verifier),
            ..Default::default()
        },
        ip.as_deref(),
        now,
    )
    .await?;
    Ok(Json(tokens).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRefreshBody {
    refresh_token: String,
}

async fn token_refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenRefreshBody>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now().timestamp();
    let tokens = user_tokens::refresh(&state, None, (&body.refresh_token, None), None, now).await?;
    Ok(Json(tokens).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignOutBody {
    refresh_token: String,
    client_id: String,
}

async fn sign_out(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignOutBody>,
) -> Result<Response, ApiError> {
    let presented = user_tokens::PresentedClient {
        client_id: Some(body.client_id),
        client_secret: None,
        assertion: None,
    };
    let client = user_tokens::identify_client(&state, &presented, "/embedded-auth/v1/sign-out")
        .await?
        .ok_or_else(|| ApiError::bad_request("The clientId is required".into()))?;
    let now = chrono::Utc::now().timestamp();
    user_tokens::revoke(&state, &client, &body.refresh_token, now).await?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Debug, Deserialize)]
struct ResetCodeBody {
    email: String,
    locale: Option<String>,
}

/// Emails a password-reset code; the answer is the same whether or not the email has an account.
async fn reset_password_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ResetCodeBody>,
) -> Result<Response, ApiError> {
    let locale = body.locale.unwrap_or_default();
    crate::services::lifecycle::request_password_reset(&state, &body.email, &locale, ip.as_deref())
        .await?;
    Ok(Json(json!({ "success": true })).into_response())
}

#[derive(Debug, Deserialize)]
struct ResetBody {
    email: String,
    code: String,
    password: String,
}

/// Sets a new password with the emailed code.
async fn reset_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Response, ApiError> {
    crate::services::lifecycle::reset_password(
        &state,
        &body.email,
        &body.code,
        &body.password,
        ip.as_deref(),
    )
    .await?;
    Ok(Json(json!({ "success": true })).into_response())
}
