//! Resource servers (APIs that access tokens are issued for): the list, each one's settings,
//! registering one, deleting.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::AdminRuleError;
use gatehouse_store::ResourceServerRecord;
use serde::Deserialize;

use super::auth::{AdminForm, AdminUser, NoFields};
use super::view::{buttons, lines, render, see_other, Frame, PageResult};
use crate::error::ServiceError;
use crate::services::resource_servers::{self, ResourceServerInput};
use crate::state::AppState;

const PAGE: &str = "/admin/resource-servers";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(list).post(create))
        .route("/admin/resource-servers/{id}", post(update))
        .route("/admin/resource-servers/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/resource_servers.html")]
struct ResourceServersPage {
    f: Frame,
    /// Each with its scopes and its exchange clients, one a line.
    servers: Vec<(ResourceServerRecord, String, String)>,
}

async fn list(State(state): State<AppState>, admin: AdminUser) -> PageResult {
    let servers = resource_servers::list(&state)
        .await?
        .into_iter()
        .map(|rs| {
            let scopes = rs.scope_names().join("\n");
            let exchangers = rs.exchange_client_ids().join("\n");
            (rs, scopes, exchangers)
        })
        .collect();
    let f = Frame::new(
        &admin,
        "resource-servers",
        admin.words().resource_servers,
        PAGE,
    );
    Ok(render(StatusCode::OK, &ResourceServersPage { f, servers }))
}

/// The fields both forms post; an unchecked switch is absent.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ResourceServerForm {
    identifier: String,
    name: String,
    scopes: String,
    access_token_expires_in: String,
    introspection_client_id: String,
    token_exchange_client_ids: String,
    signing_algorithm: String,
    is_active: Option<String>,
}

impl ResourceServerForm {
    /// The service's input: a blank lifetime is the server's, a blank client clears it.
    fn input(self, editing: bool) -> Result<ResourceServerInput, ServiceError> {
        let lifetime = match self.access_token_expires_in.trim() {
            "" => 0,
            text => text
                .parse()
                .map_err(|_| AdminRuleError::ResourceTokenLifetime)?,
        };
        Ok(ResourceServerInput {
            identifier: Some(self.identifier.trim().to_owned()),
            name: Some(self.name),
            scopes: Some(lines(&self.scopes)),
            access_token_expires_in: Some(lifetime),
            introspection_client_id: Some(self.introspection_client_id.trim().to_owned()),
            token_exchange_client_ids: Some(lines(&self.token_exchange_client_ids)),
            signing_algorithm: Some(self.signing_algorithm),
            is_active: editing.then_some(self.is_active.is_some()),
        })
    }
}

async fn create(posted: AdminForm<ResourceServerForm>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    resource_servers::create(&state, form.input(false)?).await?;
    Ok(see_other(PAGE))
}

async fn update(Path(id): Path<i64>, posted: AdminForm<ResourceServerForm>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    resource_servers::update(&state, id, form.input(true)?).await?;
    Ok(see_other(PAGE))
}

buttons! {
    delete(state, id => i64, _ => AdminForm<NoFields>) { resource_servers::delete(&state, id) } => PAGE;
}
