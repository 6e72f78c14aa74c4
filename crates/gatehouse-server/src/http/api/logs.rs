//! `/api/v1/logs/*` (root only): email, SMS and sign-in logs.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use gatehouse_store::{LogKind, MessageLog, MessageLogRecord, SignInLogRecord};
use serde::Serialize;
use utoipa::ToSchema;

use super::guard::{Guarded, Root};
use super::json::RecordId;
use super::paging::ListQuery;
use super::views::{record_view, ErrorBody};
use crate::http::error::ApiError;
use crate::services::logs;
use crate::state::AppState;

const BAD_BEFORE: &str = "deleteBefore must be present and in utc format";

record_view! {
    pub struct MessageLogView from |r: &MessageLogRecord| {
        id: i64 = r.id,
        success: bool = r.success,
        receiver: String = r.receiver.clone(),
        response: String = r.response.clone(),
        /// The message as sent, with one-time codes redacted.
        content: String = r.content.clone(),
    }
}

record_view! {
    pub struct SignInLogView from |r: &SignInLogRecord| {
        id: i64 = r.id,
        user_id: i64 = r.user_id.get(),
        ip: Option<String> = r.ip.clone(),
        /// JSON text with what is known of where the sign-in came from.
        detail: Option<String> = Some(r.detail.clone()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageLogsBody {
    pub logs: Vec<MessageLogView>,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageLogBody {
    pub log: MessageLogView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInLogsBody {
    pub logs: Vec<SignInLogView>,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInLogBody {
    pub log: SignInLogView,
}

/// `before` as `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or RFC 3339, taken as UTC.
fn parse_before(query: &HashMap<String, String>) -> Result<NaiveDateTime, ApiError> {
    query
        .get("before")
        .and_then(|raw| parse_utc(raw))
        .ok_or_else(|| ApiError::bad_request(BAD_BEFORE.into()))
}

/// A time as `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or RFC 3339, taken as UTC.
pub(super) fn parse_utc(raw: &str) -> Option<NaiveDateTime> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .ok()
}

async fn delete_before(
    state: &AppState,
    log: LogKind,
    query: &Option<String>,
) -> Result<StatusCode, ApiError> {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default())
            .map_err(|_| ApiError::bad_request(BAD_BEFORE.into()))?;
    let before = parse_before(&query)?;
    logs::prune(&state.store, log, before).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_messages(
    state: &AppState,
    log: MessageLog,
    query: &ListQuery,
) -> Result<Json<MessageLogsBody>, ApiError> {
    let (rows, count) = logs::messages(&state.store, log, query.page()).await?;
    Ok(Json(MessageLogsBody {
        logs: rows.iter().map(Into::into).collect(),
        count,
    }))
}

async fn one_message(
    state: &AppState,
    log: MessageLog,
    id: i64,
) -> Result<Json<MessageLogBody>, ApiError> {
    let row = logs::message(&state.store, log, id).await?;
    Ok(Json(MessageLogBody { log: (&row).into() }))
}

macro_rules! message_log_routes {
    ($($list:ident, $get:ident, $delete:ident, $kind:expr, $name:literal, $path:literal, $item:literal;)*) => {$(
        #[doc = concat!("List ", $name, " logs, newest first. Requires `root`.")]
        #[utoipa::path(get, path = $path, tag = "Logs", security(("oauth2" = ["root"])), params(ListQuery),
            responses((status = 200, body = MessageLogsBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
        pub async fn $list(_: Guarded<Root>, State(state): State<AppState>, query: ListQuery) -> Result<Json<MessageLogsBody>, ApiError> {
            list_messages(&state, $kind, &query).await
        }

        #[doc = concat!("Get one ", $name, " log entry. Requires `root`.")]
        #[utoipa::path(get, path = $item, tag = "Logs", security(("oauth2" = ["root"])),
            params(("id" = i64, Path, description = "The entry's id")),
            responses((status = 200, body = MessageLogBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
        pub async fn $get(_: Guarded<Root>, State(state): State<AppState>, RecordId(id): RecordId) -> Result<Json<MessageLogBody>, ApiError> {
            one_message(&state, $kind, id).await
        }

        #[doc = concat!("Delete ", $name, " log entries written before `before` (UTC). Requires `root`.")]
        #[utoipa::path(delete, path = $path, tag = "Logs", security(("oauth2" = ["root"])),
            params(("before" = String, Query, description = "UTC date: YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339")),
            responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
        pub async fn $delete(_: Guarded<Root>, State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<StatusCode, ApiError> {
            delete_before(&state, $kind.into(), &query).await
        }
    )*};
}

message_log_routes! {
    list_email, get_email, delete_email, MessageLog::Email, "email", "/api/v1/logs/email", "/api/v1/logs/email/{id}";
    list_sms, get_sms, delete_sms, MessageLog::Sms, "SMS", "/api/v1/logs/sms", "/api/v1/logs/sms/{id}";
}

/// List sign-in log entries, newest first. Requires `root`.
#[utoipa::path(get, path = "/api/v1/logs/sign-in", tag = "Logs", security(("oauth2" = ["root"])), params(ListQuery),
    responses((status = 200, body = SignInLogsBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_sign_in(
    _: Guarded<Root>,
    State(state): State<AppState>,
    query: ListQuery,
) -> Result<Json<SignInLogsBody>, ApiError> {
    let (rows, count) = logs::sign_ins(&state.store, query.page()).await?;
    Ok(Json(SignInLogsBody {
        logs: rows.iter().map(Into::into).collect(),
        count,
    }))
}

/// Get one sign-in log entry. Requires `root`.
#[utoipa::path(get, path = "/api/v1/logs/sign-in/{id}", tag = "Logs", security(("oauth2" = ["root"])),
    params(("id" = i64, Path, description = "The entry's id")),
    responses((status = 200, body = SignInLogBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_sign_in(
    _: Guarded<Root>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<SignInLogBody>, ApiError> {
    let row = logs::sign_in(&state.store, id).await?;
    Ok(Json(SignInLogBody { log: (&row).into() }))
}

/// Delete sign-in log entries written before `before` (UTC). Requires `root`.
#[utoipa::path(delete, path = "/api/v1/logs/sign-in", tag = "Logs", security(("oauth2" = ["root"])),
    params(("before" = String, Query, description = "UTC date: YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn delete_sign_in(
    _: Guarded<Root>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<StatusCode, ApiError> {
    delete_before(&state, LogKind::SignIn, &query).await
}
