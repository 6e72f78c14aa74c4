//! Melody's contract with data in it: a server filled the way a real one is (Melody's database
//! imported — users with roles, an org and its group, attribute values, consents, a passkey,
//! TOTP, banners —, then a sign-in with a session, a sign-in log, a lockout, email and SMS log
//! rows and a SAML IdP) answers every `/api/v1` GET in Melody's S2S spec, item by item, as the
//! spec says (`tests/clients/melody_contract.py`). Empty lists would prove nothing, so the script
//! also fails when a list it checks came back empty.

use std::path::PathBuf;

use serde_json::json;

use crate::api_logs_saml::message_row;
use crate::clients::run_client;
use crate::flow::{authorize_url, code_tokens, sign_in, Browser};
use crate::harness::{backend_tests, call, Backend, TestApp};
use crate::import::import;
use crate::melody_fixture::{MelodyDb, ADA_EMAIL, ADA_PASSWORD, CB, GRACE_EMAIL, SHOP_CLIENT};

fn melody_spec() -> PathBuf {
    let spec = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/spec/melody-s2s-openapi.json"
    ));
    assert!(
        spec.is_file(),
        "Melody's S2S spec is missing: {}",
        spec.display()
    );
    spec
}

backend_tests! {
    async fn every_answer_of_a_filled_server_matches_melodys_spec(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_org = true;
            c.enable_org_group = true;
            c.enable_user_attribute = true;
            c.enable_app_banner = true;
            c.enable_saml_sso_as_sp = true;
            c.enable_sign_in_log = true;
            c.account_lockout_threshold = 2;
        })
        .await;
        let melody = MelodyDb::build(&app.isolation, backend == Backend::PostgresRedis).await;
        import(&app.isolation, &melody.args(), &["--json"]).report();
        let root = app.admin_token("root").await;

        // A browser session and a refresh token (an active session), and a sign-in log entry.
        let browser = Browser::new(&app);
        let page = sign_in(&browser, &authorize_url(SHOP_CLIENT, CB, &[]), ADA_EMAIL, ADA_PASSWORD, CB).await;
        let page = browser.follow(page, CB).await;
        let tokens = code_tokens(&app, SHOP_CLIENT, CB, page.location.as_deref().unwrap_or_default()).await;
        assert!(tokens["refresh_token"].is_string(), "{tokens}");
        // Grace locked out from this address.
        for _ in 0..2 {
            let _ = sign_in(&Browser::new(&app), &authorize_url(SHOP_CLIENT, CB, &[]), GRACE_EMAIL, "Wrong-passw0rd!", CB).await;
        }
        message_row(&app, "email_logs", ADA_EMAIL, "2026-01-02 10:00:00").await;
        message_row(&app, "sms_logs", "+15550100", "2026-01-02 10:00:00").await;
        let metadata = "<EntityDescriptor entityID=\"https://idp.example\"/>";
        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "corp", "userIdAttribute": "uid", "emailAttribute": "mail", "metadata": metadata
        }))).await;
        assert_eq!(status, 201, "{body}");

        run_client("python3", "melody_contract.py", &[
            ("ISSUER", app.base.clone()),
            ("TOKEN", root),
            ("SPEC", melody_spec().display().to_string()),
        ]).await;
    }
}
