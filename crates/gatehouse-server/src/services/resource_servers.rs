//! Managing resource servers (the APIs access tokens may be issued for, RFC 8707), and finding
//! the one a token request names.

use gatehouse_core::admin::{bounded_text, AdminRuleError};
use gatehouse_core::grant::AppType;
use gatehouse_core::resource::{check_identifier, ResourceError};
use gatehouse_core::TokenError;
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{ResourceServerFields, ResourceServerRecord, ResourceServerStore, Store};
use serde::Deserialize;
use serde_json::{json, Value};
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

/// A stored JSON list as the audit trail shows it: the list, not its text.
fn stored_list(stored: &str) -> Value {
    serde_json::from_str(stored).unwrap_or_else(|_| json!(stored))
}

/// The fields a request may set, by their API names, as the audit trail compares them.
fn record_json(r: &ResourceServerRecord) -> Value {
    json!({
        "identifier": r.identifier,
        "name": r.name,
        "scopes": stored_list(&r.scopes),
        "accessTokenExpiresIn": r.access_token_expires_in.unwrap_or_default(),
        "introspectionClientId": r.introspection_client_id.as_deref().unwrap_or_default(),
        "tokenExchangeClientIds": stored_list(&r.token_exchange_client_ids),
        "signingAlgorithm": r.signing_algorithm.as_deref().unwrap_or_default(),
        "isActive": r.is_active,
    })
}

/// What a request sets (`null`: left as it is), named as in [`record_json`].
fn fields_json(f: &ResourceServerFields) -> Value {
    json!({
        "identifier": f.identifier,
        "name": f.name,
        "scopes": f.scopes.as_deref().map(stored_list),
        "accessTokenExpiresIn": f.access_token_expires_in,
        "introspectionClientId": f.introspection_client_id,
        "tokenExchangeClientIds": f.token_exchange_client_ids.as_deref().map(stored_list),
        "signingAlgorithm": f.signing_algorithm,
        "isActive": f.is_active,
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
    insert(&state.store, &fields).await
}

/// The writes take only the store (what is written was checked against the state before), so
/// the unit tests run them on an in-memory database.
async fn insert(
    store: &Store,
    fields: &ResourceServerFields,
) -> Result<ResourceServerRecord, ServiceError> {
    let change = Change::created("resource_server").fields_new(&fields_json(fields));
    recording(change, store.insert_resource_server(fields))
        .await
        .map_err(conflict_as(TAKEN))
}

pub async fn update(
    state: &AppState,
    id: i64,
    input: ResourceServerInput,
) -> Result<ResourceServerRecord, ServiceError> {
    let current = get(state, id).await?;
    let fields = fields(state, input).await?;
    apply(&state.store, &current, &fields).await
}

async fn apply(
    store: &Store,
    current: &ResourceServerRecord,
    fields: &ResourceServerFields,
) -> Result<ResourceServerRecord, ServiceError> {
    let change = Change::of("resource_server", current.id, "updated")
        .fields_set(&record_json(current), &fields_json(fields));
    recording(change, store.update_resource_server(current.id, fields))
        .await
        .map_err(conflict_as(TAKEN))?
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn delete(state: &AppState, id: i64) -> Result<(), ServiceError> {
    remove(&state.store, id).await
}

async fn remove(store: &Store, id: i64) -> Result<(), ServiceError> {
    // Read first: a delete of several statements records its change even when the server is
    // not there.
    let current = found(store.resource_server_by_id(id), NOT_FOUND).await?;
    let change = Change::of("resource_server", id, "deleted")
        .field("identifier", &current.identifier, Value::Null)
        .field("name", &current.name, Value::Null);
    if !recording(change, store.delete_resource_server(id)).await? {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::services::fixture::{self, audit_row, audit_trail};

    fn new_api(identifier: &str) -> ResourceServerFields {
        ResourceServerFields {
            identifier: Some(identifier.into()),
            name: Some("Reports".into()),
            scopes: Some(r#"["reports:read"]"#.into()),
            ..ResourceServerFields::default()
        }
    }

    #[tokio::test]
    async fn resource_server_changes_are_recorded_with_what_they_changed() {
        let store = fixture::store().await;
        let api = insert(&store, &new_api("https://api.example"))
            .await
            .unwrap();
        let change = ResourceServerFields {
            name: Some("Reports API".into()),
            scopes: Some(r#"["reports:read","reports:write"]"#.into()),
            is_active: Some(false),
            ..ResourceServerFields::default()
        };
        apply(&store, &api, &change).await.unwrap();
        remove(&store, api.id).await.unwrap();
        assert_eq!(
            audit_trail(&store).await,
            [
                audit_row(
                    "resource_server",
                    api.id,
                    "created",
                    json!({
                        "identifier": [null, "https://api.example"],
                        "name": [null, "Reports"],
                        "scopes": [null, ["reports:read"]],
                    })
                ),
                audit_row(
                    "resource_server",
                    api.id,
                    "updated",
                    json!({
                        "name": ["Reports", "Reports API"],
                        "scopes": [["reports:read"], ["reports:read", "reports:write"]],
                        "isActive": [true, false],
                    })
                ),
                audit_row(
                    "resource_server",
                    api.id,
                    "deleted",
                    json!({
                        "identifier": ["https://api.example", null],
                        "name": ["Reports API", null],
                    })
                ),
            ]
        );
    }

    #[tokio::test]
    async fn refused_resource_server_changes_record_nothing() {
        let store = fixture::store().await;
        let api = insert(&store, &new_api("https://api.example"))
            .await
            .unwrap();
        let other = insert(&store, &new_api("https://other.example"))
            .await
            .unwrap();
        assert!(insert(&store, &new_api("https://api.example"))
            .await
            .is_err());
        let taken = ResourceServerFields {
            identifier: Some("https://api.example".into()),
            ..ResourceServerFields::default()
        };
        assert!(matches!(
            apply(&store, &other, &taken).await,
            Err(ServiceError::Conflict(_))
        ));
        remove(&store, api.id).await.unwrap();
        let gone = apply(&store, &api, &ResourceServerFields::default()).await;
        assert!(matches!(gone, Err(ServiceError::NotFound(_))), "{gone:?}");
        assert!(remove(&store, api.id).await.is_err());
        let trail = audit_trail(&store).await;
        let actions: Vec<(&str, &str)> = trail
            .iter()
            .map(|(_, id, action, _)| (id.as_str(), action.as_str()))
            .collect();
        let (api_id, other_id) = (api.id.to_string(), other.id.to_string());
        assert_eq!(
            actions,
            [
                (api_id.as_str(), "created"),
                (other_id.as_str(), "created"),
                (api_id.as_str(), "deleted"),
            ]
        );
    }
}
