//! `GET /api/v1/logs/audit` (root only): the audit trail, newest first, with keyset paging.

use axum::extract::{RawQuery, State};
use axum::Json;
use gatehouse_store::{AuditFilter, AuditRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::guard::{Guarded, Root};
use super::logs::parse_utc;
use super::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::audit;
use crate::state::AppState;

/// The filters and the page of an audit query.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who made the change: an S2S app's client id, a user's `authId`, `cli` or `system`.
    pub actor: Option<String>,
    /// `user`, `role`, `app`, `scope`, `org`…
    pub resource: Option<String>,
    /// The resource's id as the API addresses it (a user's `authId`).
    pub resource_id: Option<String>,
    /// `created`, `updated`, `deleted`, `role_assigned`…
    pub action: Option<String>,
    /// From this time (UTC, inclusive): `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or RFC 3339.
    pub from: Option<String>,
    /// Until this time (UTC, exclusive).
    pub to: Option<String>,
    /// The `next` of the previous page.
    pub before: Option<i64>,
    /// Records per page, 1 to 200 (50 when absent).
    pub limit: Option<i64>,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordView {
    id: i64,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    created_at: String,
    /// `app`, `admin`, `user`, `cli` or `system`.
    actor_kind: String,
    actor_id: String,
    ip: Option<String>,
    /// The `X-Request-Id` of the request that made the change.
    request_id: Option<String>,
    resource: String,
    resource_id: String,
    action: String,
    /// `[{"field", "before", "after"}]`; secrets and codes are `"[redacted]"`.
    #[schema(value_type = Vec<Object>)]
    changes: serde_json::Value,
}

impl From<AuditRecord> for AuditRecordView {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            created_at: gatehouse_store::format_timestamp(&r.created_at),
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            ip: r.ip,
            request_id: r.request_id,
            resource: r.resource,
            resource_id: r.resource_id,
            action: r.action,
            changes: r.changes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecordsBody {
    records: Vec<AuditRecordView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<i64>,
}

/// The filter a query asks for, or what is wrong with it.
pub fn audit_filter(query: &AuditQuery) -> Result<AuditFilter, String> {
    let time = |name: &str, raw: &Option<String>| match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => parse_utc(raw).map(Some).ok_or_else(|| {
            format!("{name} must be a UTC time: YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339")
        }),
    };
    let text = |raw: &Option<String>| {
        raw.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(AuditFilter {
        actor_id: text(&query.actor),
        resource: text(&query.resource),
        resource_id: text(&query.resource_id),
        action: text(&query.action),
        from: time("from", &query.from)?,
        to: time("to", &query.to)?,
    })
}

/// List audit records, newest first. Requires `root`.
#[utoipa::path(get, path = "/api/v1/logs/audit", tag = "Logs", security(("oauth2" = ["root"])), params(AuditQuery),
    responses((status = 200, body = AuditRecordsBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_audit(
    _: Guarded<Root>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditRecordsBody>, ApiError> {
    let query: AuditQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("Invalid audit query: {e}")))?;
    let filter = audit_filter(&query).map_err(ApiError::bad_request)?;
    if query
        .limit
        .is_some_and(|l| !(1..=audit::MAX_PAGE).contains(&l))
    {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}",
            audit::MAX_PAGE
        )));
    }
    let limit = query.limit.unwrap_or(50);
    let (records, next) = audit::page(&state.store, &filter, query.before, limit).await?;
    Ok(Json(AuditRecordsBody {
        records: records.into_iter().map(Into::into).collect(),
        next,
    }))
}
