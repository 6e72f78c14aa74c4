//! The admin panel's acceptance path in headless Chromium (`tests/clients/admin-panel.mjs`), with
//! a screenshot of every page in `test-artifacts/`.

use std::path::PathBuf;

use serde_json::json;

use crate::clients::{app_origin, run_client};
use crate::flow::PASSWORD;
use crate::harness::{backend_tests, call, TestApp};

backend_tests! {
    async fn chromium_runs_the_admin_panel_from_first_run_to_the_sign_in_log(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_sign_in_log = true;
            c.enable_org = true;
            c.enable_org_group = true;
            c.enable_app_banner = true;
            c.enable_user_attribute = true;
            c.enable_saml_sso_as_sp = true;
        })
        .await;
        // A role to assign (the roles page is reached later in the script).
        let token = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/roles", &token, Some(json!({ "name": "support", "note": "Help desk" }))).await;
        assert_eq!(status, 201, "{body}");
        let shots = format!("admin-{backend:?}").to_lowercase();
        run_client("node", "admin-panel.mjs", &[
            ("ISSUER", app.base.clone()),
            ("SETUP_LINK", app.setup_link.clone().expect("a setup link on an empty install")),
            ("ADMIN_EMAIL", "panel-admin@example.com".into()),
            ("USER_EMAIL", "grace@example.com".into()),
            ("PASSWORD", PASSWORD.into()),
            ("APP_ORIGIN", app_origin()),
            ("ROLE", "support".into()),
            ("SHOTS", shots.clone()),
        ]).await;
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-artifacts"));
        for page in ["setup", "dashboard", "app-created-secret", "apps", "users-search", "user-disabled", "user-sign-in-refused", "user-impersonation", "user-detail", "logs-sign-in", "audit-filtered", "page-audit", "page-users", "org-branding", "page-orgs", "page-attributes", "page-banners", "page-roles", "page-scopes", "page-keys", "page-account", "page-saml", "users-phone", "users-zh-CN", "users-ar", "users-he", "users-fr"] {
            let size = std::fs::metadata(dir.join(format!("{shots}-{page}.png"))).map(|m| m.len()).unwrap_or(0);
            assert!(size > 5_000, "screenshot {shots}-{page} missing or blank");
        }
    }
}
