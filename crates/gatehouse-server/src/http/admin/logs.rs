//! Logs: sign-in, email and SMS entries, newest pages first as the store pages them, and the
//! cleanup of entries written before a date.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_store::{AccountStore, LogKind, MessageLog, Page};
use serde::Deserialize;

use super::auth::{AdminForm, AdminUser};
use super::view::{
    page_number, render, see_other, when, Frame, PageError, PageResult, Paging, PAGE_SIZE,
};
use crate::error::ServiceError;
use crate::services::logs;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/logs/{kind}", get(list))
        .route("/admin/logs/{kind}/cleanup", post(cleanup))
}

/// A log as the URL names it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    SignIn,
    Email,
    Sms,
}

impl Kind {
    fn parse(raw: &str) -> Result<Self, ServiceError> {
        match raw {
            "sign-in" => Ok(Self::SignIn),
            "email" => Ok(Self::Email),
            "sms" => Ok(Self::Sms),
            _ => Err(ServiceError::NotFound(
                "No such log (sign-in, email or sms)",
            )),
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    fn store_kind(self) -> LogKind {
        match self {
            Self::SignIn => LogKind::SignIn,
            Self::Email => LogKind::Email,
            Self::Sms => LogKind::Sms,
        }
    }

    fn enabled(self, config: &crate::config::Config) -> bool {
        match self {
            Self::SignIn => config.enable_sign_in_log,
            Self::Email => config.enable_email_log,
            Self::Sms => config.enable_sms_log,
        }
    }
}

/// One log entry as shown: who (with a link to the user when known), what, the detail.
struct Entry {
    time: String,
    who: String,
    user_link: Option<String>,
    what: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/logs.html")]
struct LogsPage {
    f: Frame,
    kind: &'static str,
    /// (slug, label, current) of each log.
    tabs: Vec<(&'static str, &'static str, bool)>,
    enabled: bool,
    who_label: &'static str,
    what_label: &'static str,
    entries: Vec<Entry>,
    paging: Paging,
}

#[derive(Deserialize)]
pub(super) struct LogQuery {
    page: Option<u32>,
    deleted: Option<u64>,
}

async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(kind): Path<String>,
    Query(q): Query<LogQuery>,
) -> PageResult {
    let w = admin.words();
    let kind = Kind::parse(&kind)?;
    let page = page_number(q.page);
    let paged = Some(Page {
        size: PAGE_SIZE,
        number: page,
    });
    let (entries, total) = match kind {
        Kind::SignIn => {
            let (rows, total) = logs::sign_ins(&state.store, paged).await?;
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                let user = state.store.user_by_id(row.user_id).await?;
                entries.push(Entry {
                    time: when(&row.created_at),
                    who: user
                        .as_ref()
                        .and_then(|u| u.email.clone())
                        .unwrap_or_else(|| format!("#{}", row.user_id)),
                    user_link: user.map(|u| format!("/admin/users/{}", u.auth_id)),
                    what: row.ip.unwrap_or_default(),
                    detail: row.detail,
                });
            }
            (entries, total)
        }
        Kind::Email | Kind::Sms => {
            let log = if kind == Kind::Email {
                MessageLog::Email
            } else {
                MessageLog::Sms
            };
            let (rows, total) = logs::messages(&state.store, log, paged).await?;
            let entries = rows
                .into_iter()
                .map(|row| Entry {
                    time: when(&row.created_at),
                    who: row.receiver,
                    user_link: None,
                    what: if row.success { w.yes } else { w.no }.to_owned(),
                    detail: row.content.chars().take(300).collect(),
                })
                .collect();
            (entries, total)
        }
    };
    let slug = kind.slug();
    let notice = q.deleted.map(|n| format!("{} {n}", w.deleted_entries));
    let (title, who_label, what_label) = match kind {
        Kind::SignIn => (w.sign_in_logs, w.user, w.ip),
        Kind::Email => (w.email_logs, w.receiver, w.status),
        Kind::Sms => (w.sms_logs, w.receiver, w.status),
    };
    let here = format!("/admin/logs/{slug}");
    Ok(render(
        StatusCode::OK,
        &LogsPage {
            f: Frame::new(&admin, "logs", title, &here).with_notice(notice),
            kind: slug,
            tabs: vec![
                ("sign-in", w.sign_in_logs, kind == Kind::SignIn),
                ("email", w.email_logs, kind == Kind::Email),
                ("sms", w.sms_logs, kind == Kind::Sms),
            ],
            enabled: kind.enabled(&state.config),
            who_label,
            what_label,
            entries,
            paging: Paging::new(w, page, total, |n| format!("{here}?page={n}")),
        },
    ))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CleanupForm {
    before: String,
}

async fn cleanup(Path(kind): Path<String>, posted: AdminForm<CleanupForm>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    let kind = Kind::parse(&kind)?;
    let before = chrono::NaiveDate::parse_from_str(form.before.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| {
            PageError::from(ServiceError::from(
                gatehouse_core::admin::AdminRuleError::OneOf {
                    field: "before",
                    allowed: "a date as YYYY-MM-DD",
                },
            ))
        })?;
    let deleted = logs::prune(&state.store, kind.store_kind(), before).await?;
    Ok(see_other(&format!(
        "/admin/logs/{}?deleted={deleted}",
        kind.slug()
    )))
}
