//! The audit trail: every recorded change, newest first, with the API's filters, and the
//! history a user's page shows.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use gatehouse_store::{AuditFilter, AuditRecord};

use super::auth::AdminUser;
use super::view::{message, render, when, Frame, PageResult};
use crate::http::api::audit::{audit_filter, AuditQuery};
use crate::services::audit;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}

/// A record as a row of the panel's tables.
pub struct AuditRow {
    pub time: String,
    pub who: String,
    pub resource: String,
    /// The user page, when the record is about a user.
    pub resource_link: Option<String>,
    pub action: String,
    /// `field: before → after`, one a line.
    pub changes: Vec<String>,
    pub request_id: String,
}

fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl From<&AuditRecord> for AuditRow {
    fn from(r: &AuditRecord) -> Self {
        let changes = r
            .changes
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {} → {}",
                            f["field"].as_str().unwrap_or_default(),
                            shown(&f["before"]),
                            shown(&f["after"])
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let who = match r.actor_id.as_str() {
            "" => r.actor_kind.clone(),
            id if id == r.actor_kind => id.to_owned(),
            id => format!("{} {id}", r.actor_kind),
        };
        let who = match &r.ip {
            Some(ip) => format!("{who} ({ip})"),
            None => who,
        };
        Self {
            time: when(&r.created_at),
            who,
            resource: format!("{} {}", r.resource, r.resource_id),
            resource_link: (r.resource == "user")
                .then(|| format!("/admin/users/{}", r.resource_id)),
            action: r.action.clone(),
            changes,
            request_id: r.request_id.clone().unwrap_or_default(),
        }
    }
}

/// The latest records about one user, for their page.
pub async fn user_history(
    state: &AppState,
    auth_id: &str,
) -> Result<Vec<AuditRow>, crate::error::ServiceError> {
    let filter = AuditFilter {
        resource: Some("user".into()),
        resource_id: Some(auth_id.to_owned()),
        ..AuditFilter::default()
    };
    let (records, _) = audit::page(&state.store, &filter, None, 20).await?;
    Ok(records.iter().map(AuditRow::from).collect())
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    f: Frame,
    query: AuditQuery,
    rows: Vec<AuditRow>,
    older: Option<String>,
}

const PAGE: i64 = 50;

async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let w = admin.words();
    let refused = |text: &str| {
        message(
            w,
            StatusCode::BAD_REQUEST,
            w.audit_trail,
            text,
            Some(("/admin/audit", w.back)),
        )
    };
    let query: AuditQuery = match serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()) {
        Ok(query) => query,
        Err(err) => return Ok(refused(&format!("Invalid audit query: {err}"))),
    };
    let filter = match audit_filter(&query) {
        Ok(filter) => filter,
        Err(text) => return Ok(refused(&text)),
    };
    let (records, next) = audit::page(&state.store, &filter, query.before, PAGE).await?;
    let older = next.map(|before| {
        let mut pairs: Vec<(&str, String)> = [
            ("actor", &query.actor),
            ("resource", &query.resource),
            ("resourceId", &query.resource_id),
            ("action", &query.action),
            ("from", &query.from),
            ("to", &query.to),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().filter(|v| !v.is_empty()).map(|v| (name, v)))
        .collect();
        pairs.push(("before", before.to_string()));
        format!(
            "/admin/audit?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let f = Frame::new(&admin, "audit", w.audit_trail, "/admin/audit");
    let rows = records.iter().map(AuditRow::from).collect();
    Ok(render(
        StatusCode::OK,
        &AuditPage {
            f,
            query,
            rows,
            older,
        },
    ))
}
