//! Second factors through the pages: TOTP setup and codes (computed here from the secret the
//! page shows), replay and lockout, email codes from the real SMTP receiver, enrollment, email
//! as a TOTP backup, per-app requirements, remember-device and the reset_mfa policy.

use gatehouse_core::signin::MfaType;
use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, now, TestApp};
use crate::mailbox::Mailbox;

pub(crate) const CB: &str = "http://127.0.0.1:5173/cb";

/// The TOTP secret the setup page shows.
pub(crate) fn shown_secret(html: &str) -> Vec<u8> {
    let at = html
        .find("id=\"otp-secret\">")
        .unwrap_or_else(|| panic!("no secret: {html}"))
        + 16;
    let secret = &html[at..at + html[at..].find('<').unwrap()];
    gatehouse_core::mfa::base32_decode(secret).unwrap()
}

/// A "Strict" app with its own MFA `settings` beside a "Lax" one on the system's (which asks
/// for nothing), and a user `email` signed up straight through the lax one. Returns the strict
/// app's id and client id and a root token.
async fn strict_and_lax_apps(
    app: &TestApp,
    mut settings: Value,
    email: &str,
) -> (i64, String, String) {
    let (app_id, client_id, _) = create_app(app, "Strict", "spa", &[CB]).await;
    let (_, lax_client, _) = create_app(app, "Lax", "spa", &[CB]).await;
    let token = app.admin_token("root").await;
    settings["useSystemMfaConfig"] = json!(false);
    let path = format!("/api/v1/apps/{app_id}");
    let (status, body) = call(app, "PUT", &path, &token, Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    let lax = sign_up_to_mfa(&Browser::new(app), &lax_client, email).await;
    assert!(
        lax.location.as_deref().is_some_and(|l| l.starts_with(CB)),
        "{}",
        lax.html
    );
    (app_id, client_id, token)
}

/// Signs in with the password and accepts consent if asked; returns the next page.
async fn sign_in_past_consent(browser: &Browser, client_id: &str, email: &str) -> Page {
    let url = authorize_url(client_id, CB, &[]);
    let page = browser
        .follow(sign_in(browser, &url, email, PASSWORD, CB).await, CB)
        .await;
    past_consent(browser, page, CB).await
}

pub(crate) fn totp(secret: &[u8], offset: i64) -> String {
    gatehouse_server::crypto::totp_code(secret, now().div_euclid(30) + offset)
}

/// Signs up (verification off) and returns the first page after consent.
pub(crate) async fn sign_up_to_mfa(browser: &Browser, client_id: &str, email: &str) -> Page {
    let page = browser
        .follow(browser.get(&authorize_url(client_id, CB, &[])).await, CB)
        .await;
    let tx = input_value(&page.html, "tx").unwrap();
    let fields = sign_up_form(browser, &tx, email, &[("first_name", "Ada")]).await;
    let after = browser
        .follow(browser.post("/identity/v1/view/sign-up", &fields).await, CB)
        .await;
    past_consent(browser, after, CB).await
}

backend_tests! {
    async fn totp_setup_codes_replay_lockout_and_remembered_devices(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.otp_mfa_is_required = true;
            c.mfa_code_verify_threshold = 4;
            c.enable_mfa_remember_device = true;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let email = format!("totp.{backend:?}@example.com").to_lowercase();
        let setup = sign_up_to_mfa(&browser, &client_id, &email).await;
        assert!(setup.html.contains("Set up your authenticator app") && setup.html.contains("<svg"), "{}", setup.html);
        let secret = shown_secret(&setup.html);
        assert_eq!(secret.len(), 20);
        // No code exists yet: the transaction id is not one, and the token endpoint refuses it.
        let tx = input_value(&setup.html, "tx").unwrap();
        let (status, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &tx), ("code_verifier", VERIFIER), ("redirect_uri", CB)]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

        let bad = browser.post("/identity/v1/view/otp-setup", &hidden_fields(&setup.html, "step-form", &[("code", "12345x")])).await;
        assert_eq!(error_text(&bad.html), "Invalid MFA code provided");
        let done = browser.post("/identity/v1/view/otp-setup", &hidden_fields(&setup.html, "step-form", &[("code", &totp(&secret, 0))])).await;
        let loc = done.location.clone().unwrap_or_else(|| panic!("{}", done.html));
        assert!(loc.starts_with(CB), "{loc}");
        let record = user_by_email(&app, &email).await;
        assert_eq!((record["otpVerified"].as_bool(), record["mfaTypes"].clone()), (Some(true), json!(["otp"])));

        // Next sign-in: the code page (no secret shown again); the spent step is refused.
        let again = Browser::new(&app);
        let signed = sign_in(&again, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let page = again.follow(signed, CB).await;
        assert!(page.html.contains("Enter your authenticator code") && !page.html.contains("otp-secret"), "{}", page.html);
        let replay = again.post("/identity/v1/view/otp-mfa", &hidden_fields(&page.html, "step-form", &[("code", &totp(&secret, 0))])).await;
        assert_eq!(error_text(&replay.html), "Invalid MFA code provided", "each step is usable once");
        // The next step's code is within the window; remember this device.
        let ok = again.post("/identity/v1/view/otp-mfa", &hidden_fields(&page.html, "step-form", &[("code", &totp(&secret, 1)), ("remember", "1")])).await;
        assert!(ok.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", ok.html);

        // The remembered browser skips TOTP at a forced re-authentication; others do not.
        let signed = sign_in(&again, &authorize_url(&client_id, CB, &[("prompt", "login")]), &email, PASSWORD, CB).await;
        assert!(signed.location.as_deref().is_some_and(|l| l.starts_with(CB)), "remembered: {:?} {}", signed.location, signed.html);

        // Wrong codes lock the second factor out, even for the right code.
        let third = Browser::new(&app);
        let signed = sign_in(&third, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let page = third.follow(signed, CB).await;
        let path = "/identity/v1/view/otp-mfa";
        for _ in 0..4 {
            assert_eq!(submit_step_code(&third, &page, path, "000000").await, "Invalid MFA code provided");
        }
        let locked = submit_step_code(&third, &page, path, &totp(&secret, -1)).await;
        assert_eq!(locked, "Too many failed MFA verification attempts. Please try again after 30 minutes.");
    }

    async fn enrollment_email_codes_backup_and_reset_policy(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = false;
            c.enforce_one_mfa_enrollment = vec![MfaType::Otp, MfaType::Email];
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let email = format!("enroll.{backend:?}@example.com").to_lowercase();
        let enroll = sign_up_to_mfa(&browser, &client_id, &email).await;
        assert!(enroll.html.contains("Add a second sign-in step"), "{}", enroll.html);
        let bad = browser.post("/identity/v1/view/mfa-enroll", &hidden_fields(&enroll.html, "step-form", &[("type", "sms")])).await;
        assert_eq!(bad.status, 400, "SMS is not offered");
        let chosen = browser.post("/identity/v1/view/mfa-enroll", &hidden_fields(&enroll.html, "step-form", &[("type", "email")])).await;
        let page = browser.follow(chosen, CB).await;
        assert!(page.html.contains("Check your email"), "{}", page.html);
        let code = mailbox.first_to(&email).await.code();
        // Reloading the page does not send another code.
        let tx = input_value(&page.html, "tx").unwrap();
        let reload = browser.get(&format!("/identity/v1/view/email-mfa?tx={tx}")).await;
        assert_eq!(reload.status, 200);
        let done = browser.post("/identity/v1/view/email-mfa", &hidden_fields(&page.html, "step-form", &[("code", &code)])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);
        assert_eq!(mailbox.count_to(&email), 1);
        assert_eq!(user_by_email(&app, &email).await["mfaTypes"], json!(["email"]));

        // The reset_mfa policy clears the factors; the next sign-in asks to enroll again.
        let policy = Browser::new(&app);
        let signed = sign_in(&policy, &authorize_url(&client_id, CB, &[("policy", "reset_mfa")]), &email, PASSWORD, CB).await;
        let page = policy.follow(signed, CB).await;
        assert!(page.html.contains("Check your email"), "the factor is still asked first: {}", page.html);
        let code = mailbox.nth_to(&email, 2).await.code();
        let reset = policy.follow(policy.post("/identity/v1/view/email-mfa", &hidden_fields(&page.html, "step-form", &[("code", &code)])).await, CB).await;
        assert!(reset.html.contains("Reset your second sign-in steps"), "{}", reset.html);
        let done = policy.post("/identity/v1/view/reset-mfa", &hidden_fields(&reset.html, "step-form", &[])).await;
        let done = policy.follow(done, CB).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)) || done.html.contains("Add a second sign-in step"), "{}", done.html);
        assert_eq!(user_by_email(&app, &email).await["mfaTypes"], json!([]));
    }

    async fn an_app_that_requires_email_mfa_and_email_as_totp_backup(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = false;
        }).await;
        let email = format!("strict.{backend:?}@example.com").to_lowercase();
        let (app_id, client_id, token) =
            strict_and_lax_apps(&app, json!({ "requireEmailMfa": true }), &email).await;
        // The strict app asks for an emailed code.
        let browser = Browser::new(&app);
        let page = sign_in_past_consent(&browser, &client_id, &email).await;
        assert!(page.html.contains("Check your email"), "{}", page.html);
        let code = mailbox.first_to(&email).await.code();
        let done = browser.post("/identity/v1/view/email-mfa", &hidden_fields(&page.html, "step-form", &[("code", &code)])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);

        // A TOTP user may take an emailed code instead (allow_email_mfa_as_backup).
        let auth_id = user_by_email(&app, &email).await["authId"].as_str().unwrap().to_owned();
        let (status, _) = call(&app, "POST", &format!("/api/v1/users/{auth_id}/otp-mfa"), &token, None).await;
        assert!(status == 200 || status == 204, "{status}");
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{app_id}"), &token,
            Some(json!({ "useSystemMfaConfig": true }))).await;
        assert_eq!(status, 200);
        let second = Browser::new(&app);
        let signed = sign_in(&second, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let setup = second.follow(signed, CB).await;
        assert!(setup.html.contains("Set up your authenticator app"), "{}", setup.html);
        let secret = shown_secret(&setup.html);
        let done = second.post("/identity/v1/view/otp-setup", &hidden_fields(&setup.html, "step-form", &[("code", &totp(&secret, 0))])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);
        let third = Browser::new(&app);
        let signed = sign_in(&third, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let otp = third.follow(signed, CB).await;
        assert!(otp.html.contains("alt-link"), "the backup is offered: {}", otp.html);
        let tx = input_value(&otp.html, "tx").unwrap();
        let backup = third.get(&format!("/identity/v1/view/email-mfa?tx={tx}&backup=otp")).await;
        assert_eq!(backup.status, 200, "{}", backup.html);
        let code = mailbox.nth_to(&email, 2).await.code();
        let done = third.post("/identity/v1/view/email-mfa", &hidden_fields(&backup.html, "step-form", &[("code", &code)])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);
    }
}

/// Settings the server cannot honour are refused at start-up with the key named.
#[test]
fn email_mfa_without_an_email_provider_is_a_configuration_error() {
    use gatehouse_server::config::{load, ConfigSource};
    let err = load(&ConfigSource {
        file: None,
        file_required: false,
        env: vec![("GATEHOUSE_EMAIL_MFA_IS_REQUIRED".into(), "true".into())],
    })
    .unwrap_err();
    assert!(err.to_string().contains("email_mfa_is_required"), "{err}");
}

fn recovery_codes(html: &str) -> Vec<String> {
    let start = html
        .find("id=\"recovery-codes\"")
        .unwrap_or_else(|| panic!("no codes: {html}"));
    let end = start + html[start..].find("</ul>").unwrap();
    html[start..end]
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].to_owned())
        .collect()
}

backend_tests! {
    async fn recovery_codes_enroll_sign_in_once_each_and_regenerate(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.otp_mfa_is_required = true;
            c.enable_recovery_code = true;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let email = format!("recovery.{backend:?}@example.com").to_lowercase();
        let setup = sign_up_to_mfa(&browser, &client_id, &email).await;
        let secret = shown_secret(&setup.html);
        let after = browser.post("/identity/v1/view/otp-setup", &hidden_fields(&setup.html, "step-form", &[("code", &totp(&secret, 0))])).await;
        let codes_page = browser.follow(after, CB).await;
        let codes = recovery_codes(&codes_page.html);
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 19 && c.matches('-').count() == 3), "{codes:?}");
        // A reload shows the same set; confirming finishes the sign-in.
        let tx = input_value(&codes_page.html, "tx").unwrap();
        let reload = browser.get(&format!("/identity/v1/view/recovery-code-enroll?tx={tx}")).await;
        assert_eq!(recovery_codes(&reload.html), codes);
        let done = browser.post("/identity/v1/view/recovery-code-enroll", &hidden_fields(&codes_page.html, "step-form", &[])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);

        // A recovery code signs in without the password or the authenticator, once.
        let recover = |code: String| {
            let app = &app;
            let client_id = client_id.clone();
            let email = email.clone();
            async move {
                let b = Browser::new(app);
                let page = b.follow(b.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
                assert!(page.html.contains("recovery-code-link"), "{}", page.html);
                let tx = input_value(&page.html, "tx").unwrap();
                let form = b.get(&format!("/identity/v1/view/recovery-code?tx={tx}")).await;
                b.post("/identity/v1/view/recovery-code", &hidden_fields(&form.html, "step-form", &[("email", &email), ("recovery_code", &code)])).await
            }
        };
        let first = recover(codes[0].to_lowercase().replace('-', " ")).await;
        assert!(first.location.as_deref().is_some_and(|l| l.starts_with(CB)), "typed loosely, it still works: {}", first.html);
        let again = recover(codes[0].clone()).await;
        assert_eq!(error_text(&again.html), "No user found", "a spent code");
        let second = recover(codes[1].clone()).await;
        assert!(second.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", second.html);

        // manage_recovery_code: a new set replaces the old one.
        let manage = Browser::new(&app);
        let signed = sign_in(&manage, &authorize_url(&client_id, CB, &[("policy", "manage_recovery_code")]), &email, PASSWORD, CB).await;
        let otp = manage.follow(signed, CB).await;
        let after = manage.post("/identity/v1/view/otp-mfa", &hidden_fields(&otp.html, "step-form", &[("code", &totp(&secret, 1))])).await;
        let page = manage.follow(after, CB).await;
        let fresh = recovery_codes(&page.html);
        assert_eq!(fresh.len(), 10);
        assert!(fresh.iter().all(|c| !codes.contains(c)));
        let done = manage.post("/identity/v1/view/manage-recovery-code", &hidden_fields(&page.html, "step-form", &[])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);
        let old = recover(codes[2].clone()).await;
        assert_eq!(error_text(&old.html), "No user found", "the old set is retired");
        let new = recover(fresh[0].clone()).await;
        assert!(new.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", new.html);
    }
}

/// (account, Authorization header, form body) of each request the Twilio stub received.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

/// A local server speaking Twilio's Messages API: records each request, answers 201.
async fn twilio_stub() -> (String, Seen) {
    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    let seen: Seen = Default::default();
    async fn create(
        State(seen): State<Seen>,
        Path(account): Path<String>,
        headers: HeaderMap,
        body: String,
    ) -> (axum::http::StatusCode, String) {
        let auth = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        seen.lock().unwrap().push((account.clone(), auth, body));
        (
            axum::http::StatusCode::CREATED,
            format!("{{\"sid\":\"SM1\",\"account_sid\":\"{account}\",\"status\":\"queued\"}}"),
        )
    }
    let router = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            axum::routing::post(create),
        )
        .with_state(std::sync::Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

/// The code in the nth (1-based) recorded SMS, after checking the request's shape.
async fn texted_code(seen: &Seen, n: usize) -> String {
    for _ in 0..100 {
        if let Some((account, auth, body)) = seen.lock().unwrap().get(n - 1).cloned() {
            assert_eq!(account, "AC0123");
            assert_eq!(auth, crate::harness::basic("AC0123", "twilio-token"));
            let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
            let field = |k: &str| {
                form.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            assert_eq!(field("To"), "+14155550123");
            assert_eq!(field("From"), "+15005550006");
            return field("Body").rsplit(' ').next().unwrap().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no SMS #{n} arrived");
}

backend_tests! {
    async fn an_app_that_requires_sms_while_the_system_does_not(backend: Backend) {
        let (twilio, seen) = twilio_stub().await;
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = false;
            c.twilio_account_id = "AC0123".into();
            c.twilio_auth_token = gatehouse_server::config::Secret::new("twilio-token");
            c.twilio_sender_number = "+15005550006".into();
            c.twilio_api_url = twilio;
            c.enable_sms_log = true;
        }).await;
        let email = format!("sms.{backend:?}@example.com").to_lowercase();
        let settings = json!({ "requireSmsMfa": true, "allowEmailMfaAsBackup": true });
        let (_, client_id, token) = strict_and_lax_apps(&app, settings, &email).await;

        let browser = Browser::new(&app);
        let page = sign_in_past_consent(&browser, &client_id, &email).await;
        assert!(page.html.contains("phone_number"), "{}", page.html);
        let bad = browser.post("/identity/v1/view/sms-mfa", &hidden_fields(&page.html, "step-form", &[("phone_number", "12")])).await;
        assert_eq!(error_text(&bad.html), "Enter a phone number in international form, such as +14155550123");
        let sent = browser.post("/identity/v1/view/sms-mfa", &hidden_fields(&page.html, "step-form", &[("phone_number", "(415) 555-0123")])).await;
        assert_eq!(sent.status, 200, "{}", sent.html);
        let code = texted_code(&seen, 1).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let refused = browser.post("/identity/v1/view/sms-mfa", &hidden_fields(&sent.html, "step-form", &[("code", wrong)])).await;
        assert_eq!(error_text(&refused.html), "Invalid MFA code provided");
        let done = browser.post("/identity/v1/view/sms-mfa", &hidden_fields(&sent.html, "step-form", &[("code", &code)])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);
        assert_eq!(user_by_email(&app, &email).await["mfaTypes"], json!(["sms"]));

        // The next sign-in texts the verified number on arrival.
        let again = Browser::new(&app);
        let signed = sign_in(&again, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let page = again.follow(signed, CB).await;
        assert!(page.html.contains("0123") && !page.html.contains("4155550123"), "masked number: {}", page.html);
        let code = texted_code(&seen, 2).await;
        let done = again.post("/identity/v1/view/sms-mfa", &hidden_fields(&page.html, "step-form", &[("code", &code)])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);

        // An emailed code may stand in for the SMS (allow_email_mfa_as_backup).
        let third = Browser::new(&app);
        let signed = sign_in(&third, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let page = third.follow(signed, CB).await;
        assert!(page.html.contains("alt-link"), "{}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let backup = third.get(&format!("/identity/v1/view/email-mfa?tx={tx}&backup=sms")).await;
        assert_eq!(backup.status, 200, "{}", backup.html);
        let emailed = mailbox.first_to(&email).await.code();
        let done = third.post("/identity/v1/view/email-mfa", &hidden_fields(&backup.html, "step-form", &[("code", &emailed)])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);

        // The SMS log holds every message, codes redacted.
        let (status, logs) = call(&app, "GET", "/api/v1/logs/sms", &token, None).await;
        assert_eq!(status, 200, "{logs}");
        let logs = logs["logs"].as_array().unwrap();
        assert_eq!(logs.len(), 3, "{logs:?}");
        for log in logs {
            assert_eq!(log["receiver"], "+14155550123");
            assert!(log["content"].as_str().unwrap().contains("[redacted]") && !log["content"].as_str().unwrap().contains(&code));
        }
    }
}

pub(crate) async fn embedded(app: &TestApp, path: &str, body: Option<Value>) -> (u16, Value) {
    let request = match body {
        Some(body) => app.client.post(app.url(path)).json(&body),
        None => app.client.get(app.url(path)),
    };
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

backend_tests! {
    async fn embedded_api_totp_email_backup_and_recovery_codes(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = false;
            c.otp_mfa_is_required = true;
            c.enable_recovery_code = true;
            c.embedded_auth_origins = vec!["http://127.0.0.1:5173".into()];
        }).await;
        let (_, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;
        let initiate = json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "en",
        });
        let (_, body) = embedded(&app, "/embedded-auth/v1/initiate", Some(initiate.clone())).await;
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let email = format!("embedded.mfa.{backend:?}@example.com").to_lowercase();
        let (s, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/sign-up"), Some(json!({ "email": email, "password": PASSWORD }))).await;
        assert_eq!((s, body["nextStep"].as_str()), (200, Some("consent")), "{body}");
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/app-consent"), Some(json!({}))).await;
        assert_eq!(body["nextStep"], "otp_setup", "{body}");
        // Out of order: the SMS route refuses, and no token is issued mid-transaction.
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/sms-mfa-code"), Some(json!({}))).await;
        assert_eq!(s, 400);
        let (s, _) = embedded(&app, "/embedded-auth/v1/token-exchange", Some(json!({ "sessionId": session, "codeVerifier": VERIFIER }))).await;
        assert_eq!(s, 404);
        let (s, setup) = embedded(&app, &format!("/embedded-auth/v1/{session}/otp-mfa-setup"), None).await;
        assert_eq!(s, 200, "{setup}");
        assert!(setup["otpUri"].as_str().unwrap().starts_with("otpauth://totp/Gatehouse:"), "{setup}");
        let secret = gatehouse_core::mfa::base32_decode(setup["otpSecret"].as_str().unwrap()).unwrap();
        let (s, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/otp-mfa"), Some(json!({ "mfaCode": "000000" }))).await;
        assert_eq!((s, body["error_description"].as_str()), (400, Some("Invalid MFA code provided")), "{body}");
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/otp-mfa"), Some(json!({ "mfaCode": totp(&secret, 0) }))).await;
        assert_eq!(body["nextStep"], "recovery_code_enroll", "{body}");
        let (_, codes) = embedded(&app, &format!("/embedded-auth/v1/{session}/recovery-code-enroll"), None).await;
        let codes: Vec<String> = codes["recoveryCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        assert_eq!(codes.len(), 10);
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/recovery-code-enroll"), Some(json!({}))).await;
        assert_eq!(body["success"], true, "{body}");
        let (s, tokens) = embedded(&app, "/embedded-auth/v1/token-exchange", Some(json!({ "sessionId": session, "codeVerifier": VERIFIER }))).await;
        assert_eq!(s, 200, "{tokens}");

        // Next time: TOTP, with an emailed code standing in for it.
        let (_, body) = embedded(&app, "/embedded-auth/v1/initiate", Some(initiate.clone())).await;
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/sign-in"), Some(json!({ "email": email, "password": PASSWORD }))).await;
        assert_eq!(body["nextStep"], "otp_mfa", "{body}");
        let (_, info) = embedded(&app, &format!("/embedded-auth/v1/{session}/otp-mfa"), None).await;
        assert_eq!(info["allowFallbackToEmailMfa"], true);
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/email-mfa-code"), Some(json!({}))).await;
        assert_eq!(s, 200);
        let code = mailbox.first_to(&email).await.code();
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/email-mfa"), Some(json!({ "mfaCode": code }))).await;
        assert_eq!(body["success"], true, "{body}");

        // And with a recovery code instead of the password and TOTP.
        let (_, body) = embedded(&app, "/embedded-auth/v1/initiate", Some(initiate)).await;
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/recovery-code"), Some(json!({ "email": email, "recoveryCode": codes[3] }))).await;
        assert_eq!(body["success"], true, "{body}");
    }
}

backend_tests! {
    async fn the_full_step_order_with_totp_passkeys_and_recovery_codes(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.otp_mfa_is_required = true;
            c.enable_recovery_code = true;
            c.allow_passkey_enrollment = true;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let email = format!("order.{backend:?}@example.com").to_lowercase();
        // sign-up → consent (inside sign_up_to_mfa) → otp_setup → passkey_enroll → recovery codes.
        let setup = sign_up_to_mfa(&browser, &client_id, &email).await;
        assert!(setup.html.contains("Set up your authenticator app"), "{}", setup.html);
        let secret = shown_secret(&setup.html);
        let next = browser.follow(browser.post("/identity/v1/view/otp-setup", &hidden_fields(&setup.html, "step-form", &[("code", &totp(&secret, 0))])).await, CB).await;
        assert!(next.html.contains("Sign in faster next time"), "passkey enrollment follows MFA: {}", next.html);
        // An enrollment posted with a forged credential is refused and changes nothing.
        let forged = browser.post("/identity/v1/view/passkey-enroll", &hidden_fields(&next.html, "passkey-form", &[]).into_iter()
            .map(|(k, v)| if k == "credential" { (k, r#"{"id":"x","response":{"clientDataJSON":"e30","attestationObject":"oA"}}"#.to_owned()) } else { (k, v) }).collect::<Vec<_>>()).await;
        assert_eq!(error_text(&forged.html), "Invalid passkey request");
        // "Not now, don't ask again".
        let declined = browser.follow(browser.post("/identity/v1/view/passkey-enroll", &hidden_fields(&next.html, "step-form", &[("remember", "1")])).await, CB).await;
        assert!(declined.html.contains("recovery-codes"), "recovery codes come last: {}", declined.html);
        let done = browser.post("/identity/v1/view/recovery-code-enroll", &hidden_fields(&declined.html, "step-form", &[])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);
        // Next sign-in: TOTP only (no passkey prompt after "don't ask again", codes exist).
        let again = Browser::new(&app);
        let signed = sign_in(&again, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let otp = again.follow(signed, CB).await;
        let done = again.post("/identity/v1/view/otp-mfa", &hidden_fields(&otp.html, "step-form", &[("code", &totp(&secret, 1))])).await;
        assert!(done.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", done.html);
    }
}

backend_tests! {
    async fn embedded_passkey_routes_offer_options_and_refuse_forgeries(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.allow_passkey_enrollment = true;
            c.embedded_auth_origins = vec!["http://127.0.0.1:5173".into()];
        }).await;
        let (_, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;
        let initiate = json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid"], "locale": "en",
        });
        let (_, body) = embedded(&app, "/embedded-auth/v1/initiate", Some(initiate.clone())).await;
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let email = format!("embedded.passkey.{backend:?}@example.com").to_lowercase();
        embedded(&app, &format!("/embedded-auth/v1/{session}/sign-up"), Some(json!({ "email": email, "password": PASSWORD }))).await;
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/app-consent"), Some(json!({}))).await;
        assert_eq!(body["nextStep"], "passkey_enroll", "{body}");
        let (s, options) = embedded(&app, &format!("/embedded-auth/v1/{session}/passkey-enroll"), None).await;
        assert_eq!(s, 200, "{options}");
        assert_eq!(options["enrollOptions"]["rp"]["id"], "127.0.0.1");
        assert_eq!(options["enrollOptions"]["attestation"], "none");
        assert!(options["enrollOptions"]["challenge"].as_str().unwrap().len() >= 43);
        let forged = json!({ "enrollInfo": { "id": "x", "response": { "clientDataJSON": "e30", "attestationObject": "oA" } } });
        let (s, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/passkey-enroll"), Some(forged)).await;
        assert_eq!((s, body["error_description"].as_str()), (401, Some("Invalid passkey enroll request")), "{body}");
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/passkey-enroll-decline"), Some(json!({ "remember": true }))).await;
        assert_eq!(body["success"], true, "{body}");

        let (_, body) = embedded(&app, "/embedded-auth/v1/initiate", Some(initiate)).await;
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let (s, option) = embedded(&app, &format!("/embedded-auth/v1/{session}/passkey-verify"), None).await;
        assert_eq!(s, 200, "{option}");
        let challenge = option["passkeyOption"]["challenge"].as_str().unwrap().to_owned();
        let forged = json!({ "challenge": challenge, "passkeyInfo": { "id": "nope", "response": {
            "clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA" } } });
        let (s, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/passkey-verify"), Some(forged.clone())).await;
        assert_eq!((s, body["error_description"].as_str()), (401, Some("Invalid passkey verify request")), "{body}");
        // The challenge was spent by the failed attempt.
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/passkey-verify"), Some(forged)).await;
        assert_eq!(s, 401);
        // Signing in with the password again: the declined enrollment is not offered.
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/sign-in"), Some(json!({ "email": email, "password": PASSWORD }))).await;
        assert_eq!(body["success"], true, "{body}");
    }
}
