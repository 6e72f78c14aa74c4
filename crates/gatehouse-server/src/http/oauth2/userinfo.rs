//! `GET|POST /oauth2/v1/userinfo`: Melody's fields plus the standard OIDC claims.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::request_headers::{self, TokenScheme};
use gatehouse_store::format_timestamp;
use serde_json::{json, Map, Value};

use crate::http::auth::dpop_refusal;
use crate::http::error::ApiError;
use crate::services::{dpop, user_tokens};

pub const USERINFO_PATH: &str = "/oauth2/v1/userinfo";
use crate::state::AppState;

fn unauthorized(description: &str) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "invalid_token", "error_description": description })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "Bearer realm=\"gatehouse\", error=\"invalid_token\", error_description=\"{description}\""
    )) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// The access token from the Authorization header (`Bearer` or `DPoP`), or (POST) the
/// `access_token` form field.
fn access_token(headers: &HeaderMap, body: &[u8]) -> Option<(TokenScheme, String)> {
    // A request that sends an Authorization header is judged by it alone.
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let (scheme, token) = request_headers::access_token(value.to_str().ok()?)?;
        return Some((scheme, token.to_owned()));
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| (TokenScheme::Bearer, v))
}

fn user_fields(
    user: &gatehouse_store::UserRecord,
    roles: Vec<String>,
    names: bool,
) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("authId".into(), json!(user.auth_id));
    map.insert("email".into(), json!(user.email));
    map.insert("locale".into(), json!(user.locale));
    map.insert(
        "createdAt".into(),
        json!(format_timestamp(&user.created_at)),
    );
    map.insert(
        "updatedAt".into(),
        json!(format_timestamp(&user.updated_at)),
    );
    map.insert("emailVerified".into(), json!(user.email_verified));
    map.insert("roles".into(), json!(roles));
    if names {
        map.insert("firstName".into(), json!(user.first_name));
        map.insert("lastName".into(), json!(user.last_name));
    }
    map
}

pub async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = chrono::Utc::now().timestamp();
    let Some((scheme, token)) = access_token(&headers, &body) else {
        return unauthorized("A bearer access token is required");
    };
    let claims = match user_tokens::read_access_token(&state, &token, now).await {
        Ok(Some(c)) => c,
        Ok(None) => return unauthorized("The access token is invalid, expired or revoked"),
        Err(err) => return ApiError::from(err).into_response(),
    };
    let presented = dpop::PresentedToken {
        scheme,
        token: &token,
        method: method.as_str(),
        path: USERINFO_PATH,
    };
    if let Err(err) =
        dpop::check_presented(&state, &headers, presented, claims.cnf.as_ref(), now).await
    {
        return dpop_refusal(&state, err, now).await.into_response();
    }
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    if !scopes.iter().any(|s| *s == "openid" || *s == "profile") {
        return unauthorized("The access token needs the openid or profile scope");
    }
    let (user, roles) = match user_tokens::user_for_token(&state, &claims).await {
        Ok(Some(found)) => found,
        Ok(None) => return ApiError::not_found("No user found".into()).into_response(),
        Err(err) => return ApiError::from(err).into_response(),
    };
    if !user.is_active {
        return ApiError::bad_request("Try to access a disabled account".into()).into_response();
    }
    let names = state.config.enable_names;
    let mut body = user_fields(&user, roles, names);
    body.insert("sub".into(), json!(user.auth_id));
    body.insert("email_verified".into(), json!(user.email_verified));
    if names {
        body.insert("given_name".into(), json!(user.first_name));
        body.insert("family_name".into(), json!(user.last_name));
    }
    // The contact claims their scopes ask for (OIDC Core §5.4).
    let profile = user_tokens::profile_of(&user);
    let asked = claims.userinfo_claims.as_deref().unwrap_or_default();
    let wants =
        |scope: &str, name: &str| scopes.contains(&scope) || asked.iter().any(|a| a == name);
    if let Some(number) = profile
        .phone_number
        .filter(|_| wants("phone", "phone_number"))
    {
        body.insert("phone_number".into(), json!(number));
        let verified = profile.phone_number_verified;
        body.insert("phone_number_verified".into(), json!(verified));
    }
    if let Some(address) = profile.address.filter(|_| wants("address", "address")) {
        body.insert("address".into(), json!(address));
    }
    let extras = match user_tokens::userinfo_extras(&state, &user).await {
        Ok(extras) => extras,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let linked = extras.linked.map_or(Value::Null, |(other, roles)| {
        Value::Object(user_fields(&other, roles, names))
    });
    body.insert("linkedAccount".into(), linked);
    if let Some(attributes) = extras.attributes {
        let attributes = attributes
            .into_iter()
            .map(|(name, value)| (name, json!(value)))
            .collect::<Map<String, Value>>();
        body.insert("attributes".into(), Value::Object(attributes));
    }
    super::token::no_store(Json(Value::Object(body)))
}
