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
use axum::{middleware, Json, Router};
use gatehouse_core::authorize::{check_client, check_request, AuthorizeParams, ClientError};
use gatehouse_core::signin::{AtStep, SignInError, Step};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::api::json::ApiJson;
use super::api::user_attributes::{UserAttributeView, UserAttributesBody};
use super::api::ErrorBody;
use super::embedded_views::{
    AuthRes, ConsentInfo, ConsentScope, SessionBody, SessionPath, SuccessBody,
};
use super::error::ApiError;
use super::identity::step::{Consent, StepPage};
use super::openapi::{routes, DocumentedRouter};
use super::web::{client_ip, peer};
use crate::error::ServiceError;
use crate::services::signin::{
    self, Outcome, RequestMeta, SignUpInput, StepCall, Transaction, TxCall,
};
use crate::services::user_tokens::{self, UserTokens};
use crate::state::AppState;

/// Where a finished embedded session keeps its authorization code until `token-exchange`.
const SESSION_CODE_PREFIX: &str = "ES-";

/// What the document says besides its paths (which [`embedded_router`] adds, one registration a
/// route): the title, how the API is switched on and the tags.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse Embedded Auth API", description = "Sign-in as JSON, for apps that draw their own sign-in UI. `initiate` answers a `sessionId`; each step answers `{sessionId, nextStep, success}` until `success` is true, then `token-exchange` gives the tokens. Off until `embedded_auth_origins` is set: every route then answers 400 `Embedded auth feature is not enabled`. A request with an `Origin` header must come from the issuer or one of those origins (else 400 `Request from unexpected origin`). Refusals are `{error, error_description}`; an unknown or expired session is 404 `Invalid session id provided`."),
    tags(
        (name = "Sign-in", description = "Starting a session, signing in or up, consent"),
        (name = "MFA", description = "Enrolling and proving a second factor: TOTP, email or SMS codes"),
        (name = "Recovery codes", description = "Issuing recovery codes and signing in with one"),
        (name = "Passkeys", description = "Enrolling a passkey and signing in with one"),
        (name = "Tokens", description = "Tokens for a finished session, refreshing them, signing out"),
        (name = "Password reset", description = "Resetting a forgotten password with an emailed code"),
        (name = "Organizations and banners", description = "Choosing the organization a sign-in is for, and the banners the app's sign-in shows"),
    )
)]
pub struct EmbeddedDoc;

/// Every `/embedded-auth/v1` route, each registered once with its OpenAPI operation.
fn embedded_router() -> DocumentedRouter<AppState> {
    DocumentedRouter::new(EmbeddedDoc::openapi)
        .routes(routes!(initiate))
        .routes(routes!(sign_in))
        .routes(routes!(sign_up_fields, sign_up))
        .routes(routes!(consent_info, consent))
        .routes(routes!(token_exchange))
        .routes(routes!(token_refresh))
        .routes(routes!(sign_out))
        .routes(routes!(reset_password_code))
        .routes(routes!(reset_password))
        .merge(super::embedded_mfa::routes())
        .merge(super::embedded_orgs::routes())
}

/// The embedded routes behind the origin guard, and apart from them (unguarded, since the
/// guard refuses everything while the API is off) Swagger UI at `/api/v1/embedded-swagger`
/// with the document at `/api/v1/embedded-openapi.json`.
pub fn routes(state: AppState) -> (Router<AppState>, Router<AppState>) {
    let (router, documentation) = embedded_router().split_for_parts();
    let guarded = router.route_layer(middleware::from_fn_with_state(state, origin_guard));
    let swagger = Router::from(
        SwaggerUi::new("/api/v1/embedded-swagger")
            .config(Config::new(["/api/v1/embedded-openapi.json"])),
    )
    .route("/api/v1/embedded-openapi.json", documentation.serve());
    (guarded, swagger)
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct InitiateBody {
    /// A `spa` app (other apps sign in through the authorization endpoint).
    client_id: String,
    /// One of the app's redirect URIs, or one of `embedded_auth_origins`.
    redirect_uri: String,
    /// The PKCE challenge the `codeVerifier` of `token-exchange` must answer.
    code_challenge: String,
    /// `S256` (`plain` too when `enable_plain_pkce_method` is set).
    #[schema(example = "S256")]
    code_challenge_method: String,
    #[schema(example = json!(["openid", "profile", "offline_access"]))]
    scopes: Vec<String>,
    /// The language of emails and texts sent during the sign-in; a supported locale, else the
    /// first.
    locale: Option<String>,
    /// The slug of the organization whose branding the sign-in uses.
    org: Option<String>,
}

/// Start a sign-in session for an app (PKCE required).
///
/// The session id is the handle of every later call. The sign-in must finish within
/// `sign_in_expires_in`, and a finished session be exchanged within
/// `authorization_code_expires_in`.
#[utoipa::path(post, path = "/embedded-auth/v1/initiate", tag = "Sign-in", request_body = InitiateBody,
    responses((status = 200, description = "The session", body = SessionBody),
        (status = 400, description = "The API is off, the origin is not allowed, the PKCE challenge is missing or invalid, or none of the scopes is the app's", body = ErrorBody),
        (status = 401, description = "Not a `spa` app (`A SPA request sent to a non-SPA app`), or a redirect URI neither registered nor an embedded origin", body = ErrorBody),
        (status = 404, description = "No such app (`No SPA app found`)", body = ErrorBody)))]
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
    let refused = |e: ClientError| ApiError::refused(e.class(), e.to_string());
    let Some(app) = state.clients.app(&body.client_id).await? else {
        return Err(refused(ClientError::UnknownClient));
    };
    let facts = signin::client_facts(&app);
    let redirect_uri = check_client(&params, Some(facts), &settings).map_err(refused)?;
    let request = check_request(&params, facts, redirect_uri, &settings)
        .map_err(|e| ApiError::bad_request(e.description))?;
    let session_id = signin::begin(&state, request, &app, None).await?;
    Ok(Json(SessionBody { session_id }).into_response())
}

/// Answers a step in Melody's `AuthRes` shape; a finished session parks its code.
pub(super) async fn auth_res(
    state: &AppState,
    session_id: &str,
    outcome: Outcome,
) -> Result<Response, ApiError> {
    match outcome {
        Outcome::Step(step) => Ok(Json(AuthRes {
            session_id: session_id.to_owned(),
            next_step: Some(step.as_str()),
            success: false,
        })
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
            Ok(Json(AuthRes {
                session_id: session_id.to_owned(),
                next_step: None,
                success: true,
            })
            .into_response())
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

#[derive(Debug, Deserialize, ToSchema)]
struct SignInBody {
    email: String,
    password: String,
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/sign-in", tag = "Sign-in", params(SessionPath), request_body = SignInBody,
    responses((status = 200, description = "Signed in; the next step, if any", body = AuthRes),
        (status = 400, description = "Password sign-in is off, the session is past its first factor, the account is disabled or locked out", body = ErrorBody),
        (status = 404, description = "Unknown session, or no account with this email and password", body = ErrorBody)))]
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

/// The custom user attributes of the sign-up form (none unless `enable_user_attribute`).
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/sign-up", tag = "Sign-in", params(SessionPath),
    responses((status = 200, description = "The attributes to ask for", body = UserAttributesBody),
        (status = 400, body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn sign_up_fields(s: Session) -> Result<Response, ApiError> {
    let user_attributes: Vec<UserAttributeView> = signin::sign_up_attributes(&s.state)
        .await?
        .iter()
        .map(UserAttributeView::from)
        .collect();
    Ok(Json(UserAttributesBody { user_attributes }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SignUpBody {
    email: String,
    /// Must meet the password rules.
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
    /// `{"<attributeId>": value}`, for the attributes of the sign-up form.
    #[serde(default)]
    #[schema(example = json!({"1": "value of attribute 1"}))]
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

/// Create an account and sign it in.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/sign-up", tag = "Sign-in", params(SessionPath), request_body = SignUpBody,
    responses((status = 200, description = "Signed up and in; the next step, if any", body = AuthRes),
        (status = 400, description = "Sign-up is off, the email is invalid or taken, the password is weak, or an attribute is missing or invalid", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

/// The scopes waiting for the user's consent, and the app's name.
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/app-consent", tag = "Sign-in", params(SessionPath),
    responses((status = 200, description = "What to ask the user", body = ConsentInfo),
        (status = 400, body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn consent_info(s: Session) -> Result<Response, ApiError> {
    let scopes = signin::consent_scopes(&s.state, &s.tx)
        .await?
        .into_iter()
        .filter_map(ConsentScope::from_service)
        .collect();
    let app_name = s.tx.app_name;
    Ok(Json(ConsentInfo { scopes, app_name }).into_response())
}

/// Grant the app the scopes it asked for (the session is at `consent`). No body.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/app-consent", tag = "Sign-in", params(SessionPath),
    responses((status = 200, description = "Consent recorded; the next step, if any", body = AuthRes),
        (status = 400, description = "The session is not at `consent`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TokenExchangeBody {
    /// A session whose last answer had `success: true`.
    session_id: String,
    /// The PKCE verifier of the `codeChallenge` given to `initiate`.
    code_verifier: String,
}

/// Exchange a finished session for tokens, once.
///
/// The answer is the token endpoint's: an ID token with `openid`, a refresh token with
/// `offline_access`.
#[utoipa::path(post, path = "/embedded-auth/v1/token-exchange", tag = "Tokens", request_body = TokenExchangeBody,
    responses((status = 200, description = "The tokens", body = UserTokens),
        (status = 400, description = "Wrong code verifier (too many lock the user out for a while)", body = ErrorBody),
        (status = 401, description = "The app is disabled, or is a `web` app (it must use the token endpoint with its secret)", body = ErrorBody),
        (status = 404, description = "No finished session with this id (unknown, not finished, expired or already exchanged)", body = ErrorBody)))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TokenRefreshBody {
    refresh_token: String,
}

/// New tokens for a refresh token.
///
/// An app that rotates refresh tokens gets a new one and the old one is spent (its reuse
/// revokes the whole sign-in); no ID token.
#[utoipa::path(post, path = "/embedded-auth/v1/token-refresh", tag = "Tokens", request_body = TokenRefreshBody,
    responses((status = 200, description = "The tokens", body = UserTokens),
        (status = 400, description = "Unknown, expired, revoked or reused refresh token, or the user is disabled", body = ErrorBody),
        (status = 401, description = "The app is disabled, or is a `web` app", body = ErrorBody)))]
async fn token_refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenRefreshBody>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now().timestamp();
    let tokens = user_tokens::refresh(&state, None, (&body.refresh_token, None), None, now).await?;
    Ok(Json(tokens).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SignOutBody {
    refresh_token: String,
    /// The app the refresh token was issued to.
    client_id: String,
}

/// Sign out: revoke the refresh token and the others of its sign-in.
///
/// An unknown token is not an error.
#[utoipa::path(post, path = "/embedded-auth/v1/sign-out", tag = "Tokens", request_body = SignOutBody,
    responses((status = 200, description = "Signed out (empty body)"),
        (status = 400, description = "No `clientId`, or the token belongs to another app", body = ErrorBody),
        (status = 401, description = "Unknown or disabled app, or a `web` app", body = ErrorBody)))]
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

#[derive(Debug, Deserialize, ToSchema)]
struct ResetCodeBody {
    email: String,
    /// The email's language; a supported locale, else the first.
    locale: Option<String>,
}

/// Email a password-reset code.
///
/// The answer is the same whether or not the email has an account.
#[utoipa::path(post, path = "/embedded-auth/v1/reset-password-code", tag = "Password reset", request_body = ResetCodeBody,
    responses((status = 200, description = "Sent, if the email has an account", body = SuccessBody),
        (status = 400, description = "Password reset is off, the email is invalid, or this email and IP asked too often today", body = ErrorBody)))]
async fn reset_password_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ResetCodeBody>,
) -> Result<Response, ApiError> {
    let locale = body.locale.unwrap_or_default();
    crate::services::lifecycle::request_password_reset(&state, &body.email, &locale, ip.as_deref())
        .await?;
    Ok(Json(SuccessBody { success: true }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
struct ResetBody {
    email: String,
    /// The code `reset-password-code` emailed.
    code: String,
    /// The new password; must meet the password rules.
    password: String,
}

/// Set a new password with the emailed code.
#[utoipa::path(post, path = "/embedded-auth/v1/reset-password", tag = "Password reset", request_body = ResetBody,
    responses((status = 200, description = "The password is changed", body = SuccessBody),
        (status = 400, description = "Password reset is off, the code is wrong (or the email has no account), too many wrong codes, or the password is weak or unchanged", body = ErrorBody)))]
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
    Ok(Json(SuccessBody { success: true }).into_response())
}
