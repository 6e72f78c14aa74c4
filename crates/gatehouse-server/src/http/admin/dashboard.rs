//! The dashboard: sign-ins, sign-ups, active users, second factors, deliveries, locked accounts
//! and the webhook backlog, drawn on the server as inline SVG (`gatehouse_core::charts`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::charts::{daily_bars, share_bars, DailyBars, Series, ShareBars};

use super::auth::AdminUser;
use super::i18n::Words;
use super::view::{render, Frame, PageResult};
use crate::services::dashboard::{self, Figures, Outcomes, BACKLOG_CAP};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    f: Frame,
    /// Each chart's `<figure>`, escaped by the chart functions.
    charts: Vec<String>,
    locked_accounts: i64,
    webhook_backlog: String,
}

/// A chart of what went through and what did not, per day.
fn outcome_chart(
    w: &Words,
    figures: &Figures,
    (id, title): (&str, &str),
    outcomes: &Outcomes,
    succeeded: &str,
) -> String {
    daily_bars(&DailyBars {
        id,
        title,
        first_day: figures.first_day,
        series: &[
            Series {
                name: succeeded,
                values: &outcomes.succeeded,
            },
            Series {
                name: w.failed,
                values: &outcomes.failed,
            },
        ],
        day_heading: w.day,
        totals_label: w.total_30_days,
    })
}

/// Counts from the store are never negative; a drifted one shows as zero.
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn charts(w: &Words, figures: &Figures) -> Vec<String> {
    let users = figures.users;
    let all_users = (w.all_users, count(users.users));
    vec![
        outcome_chart(
            w,
            figures,
            ("chart-sign-ins", w.sign_ins_per_day),
            &figures.sign_ins,
            w.succeeded,
        ),
        daily_bars(&DailyBars {
            id: "chart-sign-ups",
            title: w.sign_ups_per_day,
            first_day: figures.first_day,
            series: &[Series {
                name: w.new_accounts,
                values: &figures.sign_ups,
            }],
            day_heading: w.day,
            totals_label: w.total_30_days,
        }),
        share_bars(&ShareBars {
            id: "chart-active-users",
            title: w.active_users,
            whole: all_users,
            rows: &[
                (w.today, figures.active.today),
                (w.last_7_days, figures.active.week),
                (w.last_30_days, figures.active.month),
            ],
            headings: [w.period, w.users, w.share],
        }),
        share_bars(&ShareBars {
            id: "chart-second-factors",
            title: w.mfa_adoption,
            whole: all_users,
            rows: &[
                (w.any_mfa, count(users.with_mfa)),
                (w.authenticator_app, count(users.with_otp)),
                (w.sms_code, count(users.with_sms_mfa)),
                (w.email_code, count(users.with_email_mfa)),
                (w.passkeys, count(users.with_passkeys)),
            ],
            headings: [w.method, w.users, w.share],
        }),
        outcome_chart(
            w,
            figures,
            ("chart-emails", w.emails_per_day),
            &figures.emails,
            w.sent,
        ),
        outcome_chart(
            w,
            figures,
            ("chart-sms", w.sms_per_day),
            &figures.sms,
            w.sent,
        ),
    ]
}

pub(super) async fn page(State(state): State<AppState>, admin: AdminUser) -> PageResult {
    let w = admin.words();
    let figures = dashboard::figures(&state, gatehouse_store::now_utc().date()).await?;
    let webhook_backlog = if figures.webhook_backlog >= BACKLOG_CAP {
        format!("{BACKLOG_CAP}+")
    } else {
        figures.webhook_backlog.to_string()
    };
    Ok(render(
        StatusCode::OK,
        &DashboardPage {
            f: Frame::new(&admin, "dashboard", w.dashboard, "/admin"),
            charts: charts(w, &figures),
            locked_accounts: figures.locked_accounts,
            webhook_backlog,
        },
    ))
}
