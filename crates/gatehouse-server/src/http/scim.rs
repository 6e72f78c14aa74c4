//! `/scim/v2`: SCIM 2.0 provisioning (RFC 7644) for users and groups (our roles), with S2S
//! tokens holding `read_scim` / `write_scim` (or `root`). Discovery needs no token.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gatehouse_core::scim::{
    attribute_list, paging, parse_filter, parse_patch_request, project, Filter, ScimError,
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA,
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
        .route("/scim/v2/Users", get(list::<USERS>).post(create::<USERS>))
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
fn list_response(mut resources: Vec<Value>, query: &HashMap<String, String>) -> Answer {
    let number = |name: &str| -> Result<Option<i64>, Refusal> {
        query
            .get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ScimError::invalid_value(format!("{name} must be an integer")).into()
                })
            })
            .transpose()
    };
    let (start, count) = paging(number("startIndex")?, number("count")?, MAX_RESULTS);
    let total = resources.len();
    let attributes = attribute_list(query.get("attributes").map(String::as_str));
    let excluded = attribute_list(query.get("excludedAttributes").map(String::as_str));
    let page: Vec<Value> = resources
        .drain(..)
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|mut r| {
            project(&mut r, &attributes, &excluded);
            r
        })
        .collect();
    Ok(scim_response(
        StatusCode::OK,
        &json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": total, "startIndex": start,
                "itemsPerPage": page.len(), "Resources": page}),
    ))
}

fn filter_of(query: &HashMap<String, String>) -> Result<Option<Filter>, Refusal> {
    Ok(query.get("filter").map(|f| parse_filter(f)).transpose()?)
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

async fn list<const IS_GROUP: bool>(
    _: ScimCaller<Read>,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let filter = filter_of(&query)?;
    let (filter, base) = (filter.as_ref(), base(&state));
    let found = if IS_GROUP {
        service::list_groups(&state, filter, &base).await?
    } else {
        service::list_users(&state, filter, &base).await?
    };
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

// Discovery (RFC 7644 §4, RFC 7643 §5-7).

async fn service_provider_config(State(state): State<AppState>) -> Response {
    let base = base(&state);
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A client-credentials access token holding read_scim / write_scim (or root)",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
        }),
    )
}

fn resource_type_documents(base: &str) -> Vec<Value> {
    [("User", "/Users", "User accounts", USER_SCHEMA), ("Group", "/Groups", "Groups (roles)", GROUP_SCHEMA)]
        .into_iter()
        .map(|(id, endpoint, description, schema)| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": id, "name": id, "endpoint": endpoint, "description": description,
                "schema": schema, "schemaExtensions": [],
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{id}")},
            })
        })
        .collect()
}

fn listed(resources: Vec<Value>) -> Response {
    scim_response(
        StatusCode::OK,
        &json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": resources.len(), "startIndex": 1,
                "itemsPerPage": resources.len(), "Resources": resources}),
    )
}

async fn resource_types(State(state): State<AppState>) -> Response {
    listed(resource_type_documents(&base(&state)))
}

async fn resource_type(State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    resource_type_documents(&base(&state))
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| scim_response(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::status(404, "No such resource type").into())
}

/// One attribute definition (RFC 7643 §7).
fn attribute(name: &str, kind: &str, mutability: &str, required: bool, sub: Vec<Value>) -> Value {
    let mut definition = json!({
        "name": name, "type": kind, "multiValued": false, "description": name, "required": required,
        "caseExact": false, "mutability": mutability,
        "returned": if mutability == "writeOnly" { "never" } else { "default" },
        "uniqueness": "none",
    });
    if !sub.is_empty() {
        definition["subAttributes"] = Value::Array(sub);
    }
    definition
}

fn multi(mut definition: Value) -> Value {
    definition["multiValued"] = Value::Bool(true);
    definition
}

fn schema_documents(base: &str) -> Vec<Value> {
    let mut user_name = attribute("userName", "string", "readWrite", true, vec![]);
    user_name["uniqueness"] = json!("server");
    let mut member_ref = attribute("$ref", "reference", "immutable", false, vec![]);
    member_ref["referenceTypes"] = json!(["User"]);
    let mut email_type = attribute("type", "string", "readWrite", false, vec![]);
    email_type["canonicalValues"] = json!(["work"]);
    let mut display_name = attribute("displayName", "string", "readWrite", true, vec![]);
    display_name["uniqueness"] = json!("server");
    let user = vec![
        user_name,
        attribute(
            "name",
            "complex",
            "readWrite",
            false,
            vec![
                attribute("givenName", "string", "readWrite", false, vec![]),
                attribute("familyName", "string", "readWrite", false, vec![]),
            ],
        ),
        // Every account has an email: declared required so clients send one (an email
        // userName alone is also accepted when a user is created).
        multi(attribute(
            "emails",
            "complex",
            "readWrite",
            true,
            vec![
                attribute("value", "string", "readWrite", true, vec![]),
                email_type,
                attribute("primary", "boolean", "readWrite", false, vec![]),
            ],
        )),
        attribute("active", "boolean", "readWrite", false, vec![]),
        attribute("password", "string", "writeOnly", false, vec![]),
    ];
    let group = vec![
        display_name,
        multi(attribute(
            "members",
            "complex",
            "readWrite",
            false,
            vec![
                attribute("value", "string", "immutable", false, vec![]),
                member_ref,
                attribute("display", "string", "readOnly", false, vec![]),
                attribute("type", "string", "immutable", false, vec![]),
            ],
        )),
    ];
    [
        (USER_SCHEMA, "User", "User Account", user),
        (GROUP_SCHEMA, "Group", "Group (a role)", group),
    ]
    .into_iter()
    .map(|(id, name, description, attributes)| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id, "name": name, "description": description, "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
        })
    })
    .collect()
}

async fn schemas(State(state): State<AppState>) -> Response {
    listed(schema_documents(&base(&state)))
}

async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> Answer {
    if id == ENTERPRISE_USER_SCHEMA {
        return Err(
            ScimError::status(404, "The enterprise extension is accepted but not stored").into(),
        );
    }
    schema_documents(&base(&state))
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(|s| scim_response(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::status(404, "No such schema").into())
}
