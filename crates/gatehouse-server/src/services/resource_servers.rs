//! Managing resource servers (the APIs access tokens may be issued for, RFC 8707), and finding
//! the one a token request names.

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_core::grant::AppType;
use gatehouse_core::resource::{check_identifier, ResourceError};
use gatehouse_core::TokenError;
use gatehouse_store::{ResourceServerFields, ResourceServerRecord, ResourceServerStore};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{conflict_as, ServiceError};
use crate::services::found;
use crate::services::signing_keys::algorithm_setting;
use crate::state::AppState;

const NOT_FOUND: &str = "No resource server found";
const TAKEN: &str = "A resource server with this identifier already exists";

/// A resource server's fields, as the S2S API posts them and the panel fills them: all optional
/// on update, `identifier` and `name` required on create.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ResourceServerReq)]
pub struct ResourceServerInput {
    /// The absolute URI clients send as `resource` and the tokens' `aud`, without a fragment.
    pub identifier: Option<String>,
    /// 1–50 characters.
    pub name: Option<String>,
    /// The scopes the API defines (1–100 characters each, no spaces); replaces them on update.
    pub scopes: Option<Vec<String>>,
    /// Access-token lifetime in seconds (60–86400); 0 for the server's `spa_access_token_expires_in`.
    pub access_token_expires_in: Option<i64>,
    /// The client id of the S2S app that stands for the API at the introspection endpoint; an
    /// empty string clears it.
    pub introspection_client_id: Option<String>,
    /// The client ids of the apps (`s2s` or `web`) that may exchange a user's token for one to
    /// this API (RFC 8693); replaces them on update.
    pub token_exchange_client_ids: Option<Vec<String>>,
    /// `RS256`, `ES256` or `EdDSA`: what its access tokens are signed with; empty or absent on
    /// create: the server's `signing_algorithm`.
    pub signing_algorithm: Option<String>,
    pub is_active: Option<bool>,
}

fn json_list(list: &[String]) -> Result<String, ServiceError> {
    serde_json::to_string(list).map_err(|e| ServiceError::Internal(e.to_string()))
}

async fn fields(
    state: &AppState,
    input: ResourceServerInput,
) -> Result<ResourceServerFields, ServiceError> {
    if let Some(identifier) = &input.identifier {
        check_identifier(identifier).map_err(|_| AdminRuleError::ResourceIdentifier)?;
    }
    let scopes = match input.scopes {
        None => None,
        Some(scopes) => {
            let mut names: Vec<String> = Vec::with_capacity(scopes.len());
            for scope in scopes {
                let bad = scope.is_empty()
                    || scope.len() > 100
                    || scope.chars().any(|c| c.is_whitespace() || c.is_control());
                if bad {
                    return Err(AdminRuleError::ResourceScope.into());
                }
                if !names.contains(&scope) {
                    names.push(scope);
                }
            }
            Some(json_list(&names)?)
        }
    };
    if let Some(lifetime) = input.access_token_expires_in {
        if lifetime != 0 && !(60..=86_400).contains(&lifetime) {
            return Err(AdminRuleError::ResourceTokenLifetime.into());
        }
    }
    if let Some(client_id) = input
        .introspection_client_id
        .as_deref()
        .filter(|c| !c.is_empty())
    {
        let app = state.clients.app(client_id).await?;
        if !app.is_some_and(|a| a.app_type == AppType::S2s) {
            return Err(AdminRuleError::IntrospectionClientNotS2s.into());
        }
    }
    let exchange_clients = match &input.token_exchange_client_ids {
        None => None,
        Some(ids) => {
            for id in ids {
                let app = state.clients.app(id).await?;
                if !app.is_some_and(|a| a.app_type != AppType::Spa) {
                    return Err(AdminRuleError::ExchangeClientNotConfidential.into());
                }
            }
            Some(json_list(ids)?)
        }
    };
    let signing_algorithm =
        algorithm_setting(state, "signingAlgorithm", input.signing_algorithm).await?;
    Ok(ResourceServerFields {
        identifier: input.identifier,
        name: input
            .name
            .map(|n| bounded_text("name", &n, 50))
            .transpose()?,
        scopes,
        access_token_expires_in: input.access_token_expires_in,
        introspection_client_id: input.introspection_client_id,
        token_exchange_client_ids: exchange_clients,
        signing_algorithm,
        is_active: input.is_active,
    })
}

pub async fn list(state: &AppState) -> Result<Vec<ResourceServerRecord>, ServiceError> {
    Ok(state.store.list_resource_servers().await?)
}

pub async fn get(state: &AppState, id: i64) -> Result<ResourceServerRecord, ServiceError> {
    found(state.store.resource_server_by_id(id), NOT_FOUND).await
}

pub async fn create(
    state: &AppState,
    input: ResourceServerInput,
) -> Result<ResourceServerRecord, ServiceError> {
    if input.identifier.is_none() {
        return Err(AdminRuleError::ResourceIdentifier.into());
    }
    if input.name.is_none() {
        return Err(AdminRuleError::Length {
            field: "name",
            max: 50,
        }
        .into());
    }
    let fields = fields(state, input).await?;
    state
        .store
        .insert_resource_server(&fields)
        .await
        .map_err(conflict_as(TAKEN))
}

pub async fn update(
    state: &AppState,
    id: i64,
    input: ResourceServerInput,
) -> Result<ResourceServerRecord, ServiceError> {
    get(state, id).await?;
    let fields = fields(state, input).await?;
    state
        .store
        .update_resource_server(id, &fields)
        .await
        .map_err(conflict_as(TAKEN))?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn delete(state: &AppState, id: i64) -> Result<(), ServiceError> {
    if !state.store.delete_resource_server(id).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}

/// The active resource server a request names by `identifier` (RFC 8707 `resource`); a
/// malformed, unknown or switched-off one is `invalid_target`.
pub async fn named(
    state: &AppState,
    identifier: &str,
) -> Result<ResourceServerRecord, ServiceError> {
    check_identifier(identifier).map_err(TokenError::from)?;
    state
        .store
        .resource_server_by_identifier(identifier)
        .await?
        .filter(|rs| rs.is_active)
        .ok_or_else(|| TokenError::from(ResourceError::Unknown).into())
}
