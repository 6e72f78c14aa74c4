//! `/api/v1/resource-servers`: the APIs access tokens may be issued for (RFC 8707, RFC 9068).
//! Reading needs `read_app`, changes `write_app`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::ResourceServerRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::crud::crud_routes;
use super::guard::{Guarded, ReadApp, WriteApp};
use super::json::{ApiJson, RecordId};
use super::views::{record_view, views, ErrorBody};
use crate::http::error::ApiError;
use crate::services::resource_servers::{self, ResourceServerInput};
use crate::state::AppState;

record_view! {
    pub struct ResourceServerView from |r: &ResourceServerRecord| {
        id: i64 = r.id,
        /// What clients send as `resource`, and the tokens' `aud`.
        identifier: String = r.identifier.clone(),
        name: String = r.name.clone(),
        /// The scopes the API defines.
        scopes: Vec<String> = r.scope_names(),
        /// Seconds; null: the server's `spa_access_token_expires_in`.
        access_token_expires_in: Option<i64> = r.access_token_expires_in,
        /// The S2S app that may introspect this API's tokens.
        introspection_client_id: Option<String> = r.introspection_client_id.clone(),
        /// The apps that may exchange a user's token for one to this API (RFC 8693).
        token_exchange_client_ids: Vec<String> = r.exchange_client_ids(),
        /// What its access tokens are signed with; null: the server's `signing_algorithm`.
        signing_algorithm: Option<String> = r.signing_algorithm.clone(),
        is_active: bool = r.is_active,
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceServersBody {
    pub resource_servers: Vec<ResourceServerView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceServerBody {
    pub resource_server: ResourceServerView,
}

fn answer(record: &ResourceServerRecord) -> ResourceServerBody {
    ResourceServerBody {
        resource_server: record.into(),
    }
}

crud_routes! {
    tag "Resource servers", "/api/v1/resource-servers", "/api/v1/resource-servers/{id}",
    id "The resource server's id",
    read ReadApp ["read_app"], write WriteApp ["write_app"], features [];

    /// List resource servers. Requires `read_app`.
    list(state) -> ResourceServersBody [401] {
        ResourceServersBody {
            resource_servers: views(&resource_servers::list(&state).await?),
        }
    }

    /// Get a resource server. Requires `read_app`.
    get(state, id) -> ResourceServerBody [400, 401, 404] {
        answer(&resource_servers::get(&state, id).await?)
    }

    /// Register an API (`identifier` and `name` required). Requires `write_app`.
    create(state, _caller, body: ResourceServerInput) -> ResourceServerBody [400, 401, 409] {
        answer(&resource_servers::create(&state, body).await?)
    }

    /// Update a resource server; `scopes` replaces its scopes. Requires `write_app`.
    update(state, _caller, id, body: ResourceServerInput) -> ResourceServerBody [400, 401, 404, 409] {
        answer(&resource_servers::update(&state, id, body).await?)
    }

    /// Delete a resource server: tokens for it stop being introspected as active, and its
    /// refresh tokens give no more. Requires `write_app`.
    delete(state, _caller, id) [400, 401, 404] {
        resource_servers::delete(&state, id).await?
    }
}
