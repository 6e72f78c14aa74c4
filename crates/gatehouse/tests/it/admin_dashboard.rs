//! The admin dashboard counts what happened: users sign up, sign in and fail to (one until their
//! account locks), enrol second factors and a passkey, are invited by email, and webhook
//! deliveries wait; then headless Chromium signs in to the panel and reads each chart's numbers
//! from its data table (`tests/clients/admin-dashboard.mjs`), audits the dashboard and the
//! configuration page with axe-core and screenshots both into `test-artifacts/`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::admin::set_up_admin;
use crate::clients::run_client;
use crate::flow::{
    authorize_url, create_app, error_text, finish_consent, id_token_subject, sign_in, sign_up,
    Browser, PASSWORD,
};
use crate::harness::{backend_tests, call, Backend, Isolation, TestApp};
use crate::mailbox::Mailbox;

const ADMIN_EMAIL: &str = "dashboard-admin@example.com";
const CB: &str = "https://shop.example.com/cb";

/// Runs `sql` (several statements, no parameters) on the test's database.
async fn run_sql(isolation: &Isolation, sql: &str) {
    match isolation.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&isolation.database_url)
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::PostgresRedis => {
            let pool = sqlx::PgPool::connect(&isolation.database_url)
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Three webhook deliveries to an endpoint, one delivered: a backlog of two. They are due in
/// 2999, so no sender picks them up during the test.
async fn webhook_backlog_of_two(isolation: &Isolation) {
    let later = match isolation.backend {
        Backend::Sqlite => "'2999-01-01 00:00:00'",
        Backend::PostgresRedis => "TIMESTAMP '2999-01-01 00:00:00'",
    };
    run_sql(
        isolation,
        &format!(
            "INSERT INTO webhook_endpoints (url, secret_sealed, created_at, updated_at) \
         VALUES ('http://127.0.0.1:9/hook', 'unused', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP); \
         INSERT INTO webhook_events (message_id, event_type, resource_id, data, created_at) \
         VALUES ('msg-dash-1', 'user.created', 'u1', '{{}}', CURRENT_TIMESTAMP), \
         ('msg-dash-2', 'user.created', 'u2', '{{}}', CURRENT_TIMESTAMP), \
         ('msg-dash-3', 'user.created', 'u3', '{{}}', CURRENT_TIMESTAMP); \
         INSERT INTO webhook_deliveries (event_id, endpoint_id, next_attempt_at, created_at) \
         SELECT e.id, p.id, {later}, CURRENT_TIMESTAMP FROM webhook_events e, webhook_endpoints p \
         WHERE e.message_id LIKE 'msg-dash-%' AND p.url = 'http://127.0.0.1:9/hook'; \
         UPDATE webhook_deliveries SET delivered_at = CURRENT_TIMESTAMP WHERE event_id = \
         (SELECT id FROM webhook_events WHERE message_id = 'msg-dash-1');"
        ),
    )
    .await;
}

/// A sign-in with the wrong password, refused with the page's error.
async fn wrong_password(app: &TestApp, authorize: &str, email: &str) -> String {
    let page = sign_in(&Browser::new(app), authorize, email, "Wrong-passw0rd!", CB).await;
    let error = error_text(&page.html);
    assert!(!error.is_empty(), "{}", page.html);
    error
}

backend_tests! {
    async fn the_dashboard_charts_what_happened_and_both_panel_pages_pass_axe(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = false;
            c.account_lockout_threshold = 3;
        })
        .await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let token = app.admin_token("root").await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let authorize = authorize_url(&client_id, CB, &[]);

        // Three sign-ups, each ending in tokens (a sign-in each); Ada signs in once more.
        let mut auth_ids = Vec::new();
        for name in ["ada", "grace", "alan"] {
            let email = format!("{name}@example.com");
            let back = sign_up(&Browser::new(&app), &authorize, &email, CB).await;
            auth_ids.push(id_token_subject(&app, &client_id, CB, &back).await);
        }
        let browser = Browser::new(&app);
        let page = sign_in(&browser, &authorize, "ada@example.com", PASSWORD, CB).await;
        let back = finish_consent(&browser, page, CB).await;
        id_token_subject(&app, &client_id, CB, &back).await;

        // Seven refused sign-ins: Grace twice, an unknown email, and Alan three times (which
        // locks his account) and once more with his right password.
        for _ in 0..2 {
            wrong_password(&app, &authorize, "grace@example.com").await;
        }
        wrong_password(&app, &authorize, "nobody@example.com").await;
        for _ in 0..3 {
            wrong_password(&app, &authorize, "alan@example.com").await;
        }
        let locked = sign_in(&Browser::new(&app), &authorize, "alan@example.com", PASSWORD, CB).await;
        assert!(error_text(&locked.html).contains("locked"), "{}", locked.html);

        // Ada enrols an authenticator app, Grace SMS and email codes and a passkey.
        for (user, factor) in [(0, "otp"), (1, "sms"), (1, "email")] {
            let path = format!("/api/v1/users/{}/{factor}-mfa", auth_ids[user]);
            let (status, body) = call(&app, "POST", &path, &token, None).await;
            assert_eq!(status, 204, "{body}");
        }
        run_sql(&app.isolation, "INSERT INTO user_passkeys (user_id, credential_id, public_key) \
            SELECT id, 'dashboard-credential', 'key' FROM users WHERE email = 'grace@example.com'").await;

        // Two invitations: two new accounts and two emails.
        for invited in ["invited1@example.com", "invited2@example.com"] {
            let (status, body) = call(&app, "POST", "/api/v1/users/invitations", &token,
                Some(json!({ "email": invited }))).await;
            assert_eq!(status, 200, "{body}");
        }
        for _ in 0..100 {
            if mailbox.all().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(mailbox.all().len(), 2);
        webhook_backlog_of_two(&app.isolation).await;

        // Users: the admin, three sign-ups and two invitations. Sign-ins: four, and the admin's
        // own in Chromium. Active: everyone who signed in (not the invited).
        let today = gatehouse_store::now_utc().date().format("%Y-%m-%d").to_string();
        let share = |n: u64| format!("{:.1}%", n as f64 * 100.0 / 6.0);
        let row = |n: u64| json!([n.to_string(), share(n)]);
        let expected = json!({
            "days": 30,
            "tables": {
                "chart-sign-ins-data": { &today: ["5", "7"] },
                "chart-sign-ups-data": { &today: ["6"] },
                "chart-active-users-data": {
                    "Today (UTC)": row(4), "Last 7 days": row(4), "Last 30 days": row(4),
                    "All users": ["6", "100.0%"],
                },
                "chart-second-factors-data": {
                    "Any second factor": row(2), "Authenticator app (TOTP)": row(1),
                    "Code by SMS": row(1), "Code by email": row(1), "Passkeys": row(1),
                },
                "chart-emails-data": { &today: ["2", "0"] },
                "chart-sms-data": { &today: ["0", "0"] },
            },
            "figures": { "locked-accounts": "1", "webhook-backlog": "2" },
        });
        let shots = format!("dashboard-{backend:?}").to_lowercase();
        run_client("node", "admin-dashboard.mjs", &[
            ("ISSUER", app.base.clone()),
            ("ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("PASSWORD", PASSWORD.into()),
            ("SHOTS", shots.clone()),
            ("EXPECTED", expected.to_string()),
        ]).await;
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-artifacts"));
        for page in ["dashboard", "configuration", "dashboard-ar"] {
            let size = std::fs::metadata(dir.join(format!("{shots}-{page}.png"))).map(|m| m.len()).unwrap_or(0);
            assert!(size > 5_000, "screenshot {shots}-{page} missing or blank");
        }

        // An admin's unlock takes Alan off the count.
        let (status, body) = call(&app, "DELETE", &format!("/api/v1/users/{}/locked-ips", auth_ids[2]), &token, None).await;
        assert!(status < 300, "{status} {body}");
        assert_eq!(app.cache.count_marked(gatehouse_core::lockout::LOCKED_ACCOUNTS).await.unwrap(), 0);
    }
}
