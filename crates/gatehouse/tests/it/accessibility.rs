//! The pages pass axe-core at WCAG 2.2 AA in headless Chromium, and a password + TOTP sign-in
//! needs nothing but the keyboard (`tests/clients/accessibility.mjs`); so do the second-factor,
//! policy, recovery, password-reset, invitation, passwordless and account-linking pages, with
//! their refusals (`tests/clients/accessibility-account.mjs`). The other Chromium scripts audit
//! each page they pass through the same way (`tests/clients/lib/a11y.mjs`).

use gatehouse_core::signin::MfaType;
use gatehouse_server::config::{OidcProviderConfig, Secret};
use serde_json::json;

use crate::clients::{app_origin, run_client};
use crate::flow::{authorize_url, create_app, sign_up, Browser, PASSWORD};
use crate::harness::{call, Backend, TestApp};
use crate::mailbox::Mailbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sign_in_page_passes_axe_core_and_the_keyboard_alone_signs_in() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.otp_mfa_is_required = true;
        c.enable_recovery_code = true;
        c.allow_passkey_enrollment = true;
        c.enable_user_app_consent = true;
    })
    .await;
    let origin = app_origin();
    let redirect = format!("{origin}/cb");
    let (_, client_id, _) = create_app(&app, "Shop", "spa", &[&redirect]).await;
    run_client(
        "node",
        "accessibility.mjs",
        &[
            ("ISSUER", app.base.clone()),
            ("CLIENT_ID", client_id),
            ("REDIRECT_URI", redirect),
            ("EMAIL", "ada.keyboard@example.com".into()),
            ("PASSWORD", PASSWORD.into()),
        ],
    )
    .await;
}

/// Runs `accessibility-account.mjs` in `mode` against `app`'s app `client` (id, redirect URI).
async fn audit_account_pages(
    app: &TestApp,
    (client_id, redirect): (String, String),
    mode: &str,
    env: &[(&str, String)],
) {
    let mut all = vec![
        ("ISSUER", app.base.clone()),
        ("CLIENT_ID", client_id),
        ("REDIRECT_URI", redirect),
        ("PASSWORD", PASSWORD.into()),
        ("MODE", mode.into()),
    ];
    all.extend_from_slice(env);
    run_client("node", "accessibility-account.mjs", &all).await;
}

/// A single-page app of `app` whose redirect URI is on a free loopback port: (id, redirect URI).
async fn spa(app: &TestApp) -> (String, String) {
    let redirect = format!("{}/cb", app_origin());
    let (_, client_id, _) = create_app(app, "Shop", "spa", &[&redirect]).await;
    (client_id, redirect)
}

fn mail_dir(mailbox: &Mailbox) -> (&'static str, String) {
    ("MAIL_DIR", mailbox.dir.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mfa_policy_recovery_and_invitation_page_passes_axe_core() {
    let mailbox = Mailbox::start().await;
    // The script answers as Twilio there.
    let twilio = app_origin();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        mailbox.configure(c);
        c.enforce_one_mfa_enrollment = vec![MfaType::Otp, MfaType::Email, MfaType::Sms];
        c.twilio_account_id = "AC0123".into();
        c.twilio_auth_token = Secret::new("twilio-token");
        c.twilio_sender_number = "+15005550006".into();
        c.twilio_api_url = twilio.clone();
        c.enable_recovery_code = true;
        c.allow_passkey_enrollment = true;
        c.enable_mfa_remember_device = true;
        c.enable_org = true;
        c.blocked_policies = Vec::new();
        // Every sensitive policy opened from a session asks the password again.
        c.sensitive_action_max_auth_age = 0;
    })
    .await;
    let invited = "invited.a11y@example.com";
    let token = app.admin_token("root").await;
    let org = json!({ "name": "Acme", "slug": "acme" });
    let (status, body) = call(&app, "POST", "/api/v1/orgs", &token, Some(org)).await;
    assert_eq!(status, 201, "{body}");
    let path = "/api/v1/users/invitations";
    let invitation = json!({ "email": invited, "orgSlug": "acme" });
    let (status, body) = call(&app, "POST", path, &token, Some(invitation)).await;
    assert_eq!(status, 200, "{body}");
    let env = [
        mail_dir(&mailbox),
        ("TWILIO_URL", twilio),
        ("INVITED_EMAIL", invited.into()),
    ];
    audit_account_pages(&app, spa(&app).await, "mfa", &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_passwordless_code_and_magic_link_pages_pass_axe_core() {
    for mode in ["passwordless", "magic-link"] {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            mailbox.configure(c);
            c.enable_passwordless_sign_in = true;
            c.use_passwordless_as_magic_link = mode == "magic-link";
        })
        .await;
        audit_account_pages(&app, spa(&app).await, mode, &[mail_dir(&mailbox)]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_account_page_passes_axe_core() {
    const PROVIDER: &str = "Partner";
    const EMAIL: &str = "grace.a11y@example.com";
    let upstream = TestApp::spawn(Backend::Sqlite).await;
    let root = upstream.admin_token("root").await;
    let app = json!({
        "name": "Downstream Gatehouse", "type": "web", "scopes": ["openid", "profile", "email"],
        "redirectUris": ["http://127.0.0.1:9/not-yet-known"],
    });
    let (status, body) = call(&upstream, "POST", "/api/v1/apps", &root, Some(app)).await;
    assert_eq!(status, 201, "{body}");
    let app_id = body["app"]["id"].as_i64().unwrap();
    let downstream = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.oidc_auth_providers = vec![OidcProviderConfig {
            name: PROVIDER.into(),
            client_id: body["app"]["clientId"].as_str().unwrap().into(),
            client_secret: Secret::new(body["app"]["secret"].as_str().unwrap()),
            discovery_url: upstream.url("/.well-known/openid-configuration"),
            ..OidcProviderConfig::default()
        }];
        c.link_social_accounts_at_sign_in = true;
    })
    .await;
    // The downstream's callback is known only now that it listens.
    let callback = downstream.url(&format!("/identity/v1/authorize-oidc/{PROVIDER}"));
    let path = format!("/api/v1/apps/{app_id}");
    let uris = json!({ "redirectUris": [callback] });
    let (status, body) = call(&upstream, "PUT", &path, &root, Some(uris)).await;
    assert_eq!(status, 200, "{body}");
    // An account with the same email, verified, on each side.
    let client = spa(&downstream).await;
    for (side, (client_id, redirect)) in [
        (&upstream, spa(&upstream).await),
        (&downstream, client.clone()),
    ] {
        let url = authorize_url(&client_id, &redirect, &[]);
        sign_up(&Browser::new(side), &url, EMAIL, &redirect).await;
        let verify = "UPDATE users SET email_verified = TRUE WHERE email = $1";
        side.isolation.execute(verify, EMAIL).await;
    }
    let env = [
        ("UPSTREAM", upstream.base.clone()),
        ("PROVIDER", PROVIDER.into()),
        ("EMAIL", EMAIL.into()),
    ];
    audit_account_pages(&downstream, client, "link", &env).await;
}
