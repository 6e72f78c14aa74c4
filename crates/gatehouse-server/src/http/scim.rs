//! `/scim/v2`: SCIM 2.0 provisioning (RFC 7644) for users and groups (roles or organization
//! groups), with S2S tokens holding `read_scim` / `write_scim` (or `root`); `POST /.search` is a
//! read. Discovery needs no token.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::scim::{
    attribute_list, listed, paging, parse_patch_request, project, ListQuery, ScimError,
    LIST_RESPONSE_SCHEMA,
};
use gatehouse_core::scope::satisfies;
use serde_json::{json, Value};

use crate::http::auth::S2sCaller;
use crate::services::scim::{self as service, ScimFailure};
use crate::state::AppState;

const CONTENT_TYPE: &str = "application/scim+json";
/// The most resources one list answer holds, whatever `count` asks.
const MAX_RESULTS: i64 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{id}", get(schema))
        .route("/scim/v2/.search", post(search_all))
        .route("/scim/v2/Users", get(list::<USERS>).post(create::<USERS>))
        .route("/scim/v2/Users/.search", post(search::<USERS>))
        .route(
            "/scim/v2/Users/{id}",
            get(read::<USERS>)
                .put(replace::<USERS>)
                .patch(patch::<USERS>)
                .delete(delete::<USERS>),
        )
        .route(
            "/scim/v2/Groups",
            get(list::<GROUPS>).post(create::<GROUPS>),
        )
        .route("/scim/v2/Groups/.search", post(search::<GROUPS>))
        .route(
            "/scim/v2/Groups/{id}",
            get(read::<GROUPS>)
                .put(replace::<GROUPS>)
                .patch(patch::<GROUPS>)
                .delete(delete::<GROUPS>),
        )
        .route("/scim/v2/{*rest}", axum::routing::any(unknown_endpoint))
}

/// Any other path under `/scim/v2` answers 404 in the SCIM error shape.
async fn unknown_endpoint() -> Refusal {
    ScimError::status(404, "No such SCIM endpoint").into()
}

/// A SCIM error response.
pub struct Refusal(ScimError);

impl From<ScimError> for Refusal {
    fn from(err: ScimError) -> Self {
        Self(err)
    }
}

impl From<ScimFailure> for Refusal {
    fn from(failure: ScimFailure) -> Self {
        let (err, fault) = failure.into_scim();
        if let Some(fault) = fault {
            tracing::error!(code = fault.internal_code(), error = %fault, "SCIM request failed");
        }
        Self(err)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = scim_response(status, &self.0.to_json());
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn scim_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// A resource with its `ETag` header (its `meta.version`).
fn resource_response(status: StatusCode, resource: &Value) -> Response {
    let mut response = scim_response(status, resource);
    if let Some(tag) = resource["meta"]["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

type Answer = Result<Response, Refusal>;

pub trait ScimAccess: Send + Sync {
    const SCOPE: &'static str;
}
pub struct Read;
pub struct Write;
impl ScimAccess for Read {
    const SCOPE: &'static str = "read_scim";
}
impl ScimAccess for Write {
    const SCOPE: &'static str = "write_scim";
}

/// An S2S caller holding the scope of `A` (or `root`): 401 without a valid token, 403 without
/// the scope, both in the SCIM error shape.
pub struct ScimCaller<A: ScimAccess> {
    caller: S2sCaller,
    access: PhantomData<A>,
}

impl<A: ScimAccess> FromRequestParts<AppState> for ScimCaller<A> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let caller = S2sCaller::from_request_parts(parts, state)
            .await
            .map_err(|_| ScimError::status(401, "A valid bearer access token is required"))?;
        if !satisfies(&caller.scopes, A::SCOPE) {
            return Err(ScimError::status(
                403,
                format!("This operation requires the {} scope", A::SCOPE),
            )
            .into());
        }
        Ok(Self {
            caller,
            access: PhantomData,
        })
    }
}

impl<A: ScimAccess> ScimCaller<A> {
    fn authority(&self) -> crate::services::authority::Authority {
        self.caller.authority()
    }
}

fn base(state: &AppState) -> String {
    format!("{}/scim/v2", state.config.issuer.trim_end_matches('/'))
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

fn body_json(body: &Bytes) -> Result<Value, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ScimError::invalid_syntax("The body must be a JSON object").into());
    }
    Ok(value)
}

/// A page of `resources` as a ListResponse, with `attributes`/`excludedAttributes` applied.
fn list_response(mut resources: Vec<Value>, query: &ListQuery) -> Answer {
    let (start, count) = paging(query.start_index, query.count, MAX_RESULTS);
    let total = resources.len();
    let page: Vec<Value> = resources
        .drain(..)
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|mut r| {
            project(&mut r, &query.attributes, &query.excluded_attributes);
            r
        })
        .collect();
    Ok(scim_response(
        StatusCode::OK,
        &json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": total, "startIndex": start,
                "itemsPerPage": page.len(), "Resources": page}),
    ))
}

fn shown(mut resource: Value, query: &HashMap<String, String>) -> Value {
    let attributes = attribute_list(query.get("attributes").map(String::as_str));
    let excluded = attribute_list(query.get("excludedAttributes").map(String::as_str));
    project(&mut resource, &attributes, &excluded);
    resource
}

// Users and groups share their handlers: `IS_GROUP` picks the service functions behind them.
const USERS: bool = false;
const GROUPS: bool = true;

/// The resources of one type that `query` asks for, as a ListResponse.
async fn listing<const IS_GROUP: bool>(state: &AppState, query: &ListQuery) -> Answer {
    let (filter, base) = (query.filter.as_ref(), base(state));
    let found = if IS_GROUP {
        service::list_groups(state, filter, &base).await?
    } else {
        service::list_users(state, filter, &base).await?
    };
    list_response(found, query)
}

async fn list<const IS_GROUP: bool>(
    _: ScimCaller<Read>,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    listing::<IS_GROUP>(&state, &ListQuery::from_query(&query)?).await
}

/// `POST /Users/.search`, `POST /Groups/.search` (RFC 7644 §3.4.3): a list request in the body.
async fn search<const IS_GROUP: bool>(
    _: ScimCaller<Read>,
    State(state): State<AppState>,
    body: Bytes,
) -> Answer {
    let query = ListQuery::from_search_request(&body_json(&body)?)?;
    listing::<IS_GROUP>(&state, &query).await
}

/// `POST /.search`: users and groups together.
async fn search_all(_: ScimCaller<Read>, State(state): State<AppState>, body: Bytes) -> Answer {
    let query = ListQuery::from_search_request(&body_json(&body)?)?;
    let found = service::search_all(&state, query.filter.as_ref(), &base(&state)).await?;
    list_response(found, &query)
}

async fn read<const IS_GROUP: bool>(
    _: ScimCaller<Read>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let base = base(&state);
    let resource = if IS_GROUP {
        service::get_group(&state, &id, &base).await?
    } else {
        service::get_user(&state, &id, &base).await?
    };
    Ok(resource_response(StatusCode::OK, &shown(resource, &query)))
}

async fn create<const IS_GROUP: bool>(
    caller: ScimCaller<Write>,
    State(state): State<AppState>,
    body: Bytes,
) -> Answer {
    let (body, authority, base) = (body_json(&body)?, caller.authority(), base(&state));
    let resource = if IS_GROUP {
        service::create_group(&state, &authority, &body, &base).await?
    } else {
        service::create_user(&state, &authority, &body, &base).await?
    };
    let mut response = resource_response(StatusCode::CREATED, &resource);
    if let Some(location) = resource["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn replace<const IS_GROUP: bool>(
    caller: ScimCaller<Write>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (body, authority, base) = (body_json(&body)?, caller.authority(), base(&state));
    let version = if_match(&headers);
    let resource = if IS_GROUP {
        service::replace_group(&state, &authority, &id, &body, version, &base).await?
    } else {
        service::replace_user(&state, &authority, &id, &body, version, &base).await?
    };
    Ok(resource_response(StatusCode::OK, &resource))
}

async fn patch<const IS_GROUP: bool>(
    caller: ScimCaller<Write>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let ops = parse_patch_request(&body_json(&body)?)?;
    let (authority, base, version) = (caller.authority(), base(&state), if_match(&headers));
    let resource = if IS_GROUP {
        service::patch_group(&state, &authority, &id, &ops, version, &base).await?
    } else {
        service::patch_user(&state, &authority, &id, &ops, version, &base).await?
    };
    Ok(resource_response(StatusCode::OK, &resource))
}

async fn delete<const IS_GROUP: bool>(
    caller: ScimCaller<Write>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let (authority, base, version) = (caller.authority(), base(&state), if_match(&headers));
    if IS_GROUP {
        service::delete_group(&state, &authority, &id, version, &base).await?
    } else {
        service::delete_user(&state, &authority, &id, version, &base).await?
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// Discovery (RFC 7644 §4, RFC 7643 §5-7): the documents come from `gatehouse_core::scim`, as
// this deployment maps groups and the enterprise extension.

async fn service_provider_config(State(state): State<AppState>) -> Answer {
    let base = base(&state);
    let discovery = service::discovery(&state, &base, MAX_RESULTS).await?;
    Ok(scim_response(
        StatusCode::OK,
        &discovery.service_provider_config(),
    ))
}

async fn resource_types(State(state): State<AppState>) -> Answer {
    let base = base(&state);
    let discovery = service::discovery(&state, &base, MAX_RESULTS).await?;
    Ok(scim_response(
        StatusCode::OK,
        &listed(discovery.resource_types()),
    ))
}

async fn resource_type(State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let base = base(&state);
    let discovery = service::discovery(&state, &base, MAX_RESULTS).await?;
    discovery
        .resource_types()
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| scim_response(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::status(404, "No such resource type").into())
}

async fn schemas(State(state): State<AppState>) -> Answer {
    let base = base(&state);
    let discovery = service::discovery(&state, &base, MAX_RESULTS).await?;
    Ok(scim_response(StatusCode::OK, &listed(discovery.schemas())))
}

async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    let base = base(&state);
    let discovery = service::discovery(&state, &base, MAX_RESULTS).await?;
    discovery
        .schemas()
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(|s| scim_response(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::status(404, "No such schema").into())
}
