//! `GET|POST /oauth2/v1/userinfo`: Melody's fields plus the standard OIDC claims.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::claims::Address;
use gatehouse_core::request_headers::{self, TokenScheme};
use serde::Serialize;
use serde_json::json;

use crate::http::auth::dpop_refusal;
use crate::http::error::ApiError;
use crate::services::user_views::ShownUser;
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

/// Melody's fields of an account (the user's own, and their linked account's).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountFields<'a> {
    auth_id: &'a str,
    email: Option<&'a str>,
    locale: &'a str,
    created_at: &'a str,
    updated_at: &'a str,
    email_verified: bool,
    roles: &'a [String],
    #[serde(skip_serializing_if = "NameField::is_off")]
    first_name: NameField<'a>,
    #[serde(skip_serializing_if = "NameField::is_off")]
    last_name: NameField<'a>,
}

/// A name, shown only with `enable_names`, and then `null` when not given.
#[derive(Clone, Copy)]
enum NameField<'a> {
    Off,
    Shown(Option<&'a str>),
}

impl<'a> NameField<'a> {
    fn new(names: bool, name: &'a Option<String>) -> Self {
        if names {
            Self::Shown(name.as_deref())
        } else {
            Self::Off
        }
    }

    fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }
}

impl Serialize for NameField<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Shown(Some(name)) => serializer.serialize_str(name),
            Self::Shown(None) | Self::Off => serializer.serialize_none(),
        }
    }
}

impl<'a> AccountFields<'a> {
    fn of(shown: &'a ShownUser, names: bool) -> Self {
        let user = &shown.record;
        Self {
            auth_id: &user.auth_id,
            email: user.email.as_deref(),
            locale: &user.locale,
            created_at: &shown.created_at,
            updated_at: &shown.updated_at,
            email_verified: user.email_verified,
            roles: &shown.roles,
            first_name: NameField::new(names, &user.first_name),
            last_name: NameField::new(names, &user.last_name),
        }
    }
}

/// The answer: Melody's fields, then the standard claims the token's scopes and `claims`
/// parameter ask for.
#[derive(Serialize)]
struct UserInfoAnswer<'a> {
    #[serde(flatten)]
    account: AccountFields<'a>,
    sub: &'a str,
    email_verified: bool,
    #[serde(skip_serializing_if = "NameField::is_off")]
    given_name: NameField<'a>,
    #[serde(skip_serializing_if = "NameField::is_off")]
    family_name: NameField<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a Address>,
    #[serde(rename = "linkedAccount")]
    linked_account: Option<AccountFields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Attributes<'a>>,
}

/// Shared attributes as one object, name to value.
struct Attributes<'a>(&'a [(String, String)]);

impl Serialize for Attributes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
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
    let view = match state.user_views.view(&claims.sub).await {
        Ok(Some(view)) => view,
        Ok(None) => return ApiError::not_found("No user found".into()).into_response(),
        Err(err) => return ApiError::from(err).into_response(),
    };
    let user = &view.user.record;
    if !user.is_active {
        return ApiError::bad_request("Try to access a disabled account".into()).into_response();
    }
    let names = state.config.enable_names;
    // The contact claims their scopes ask for (OIDC Core §5.4).
    let profile = &view.profile;
    let asked = claims.userinfo_claims.as_deref().unwrap_or_default();
    let wants =
        |scope: &str, name: &str| scopes.contains(&scope) || asked.iter().any(|a| a == name);
    let phone_number = profile
        .phone_number
        .as_deref()
        .filter(|_| wants("phone", "phone_number"));
    let answer = UserInfoAnswer {
        account: AccountFields::of(&view.user, names),
        sub: &user.auth_id,
        email_verified: user.email_verified,
        given_name: NameField::new(names, &user.first_name),
        family_name: NameField::new(names, &user.last_name),
        phone_number,
        phone_number_verified: phone_number.map(|_| profile.phone_number_verified),
        address: profile
            .address
            .as_ref()
            .filter(|_| wants("address", "address")),
        linked_account: view.linked.as_ref().map(|l| AccountFields::of(l, names)),
        attributes: view.attributes.as_deref().map(Attributes),
    };
    super::token::no_store(Json(answer))
}
