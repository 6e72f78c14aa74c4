//! Attacks on the sign-in steps: another account's first factor posted into a transaction that
//! already passed its MFA and consent (through the pages and the embedded API), and a policy
//! page posted before the second factor it comes after.

use serde_json::json;

use crate::flow::*;
use crate::harness::{backend_tests, TestApp};
use crate::mfa::{embedded, shown_secret, sign_up_to_mfa, totp, CB};

const ORIGIN: &str = "http://127.0.0.1:5173";

/// Signs an account up through the pages and sets up its TOTP; returns the TOTP secret.
async fn account_with_totp(app: &TestApp, client_id: &str, email: &str) -> Vec<u8> {
    let browser = Browser::new(app);
    let setup = sign_up_to_mfa(&browser, client_id, email).await;
    let secret = shown_secret(&setup.html);
    let fields = hidden_fields(&setup.html, "step-form", &[("code", &totp(&secret, 0))]);
    let mut done = browser.post("/identity/v1/view/otp-setup", &fields).await;
    let page = browser.follow(done, CB).await;
    done = if page.html.contains("recovery-code-enroll") {
        let fields = hidden_fields(&page.html, "step-form", &[]);
        browser
            .post("/identity/v1/view/recovery-code-enroll", &fields)
            .await
    } else {
        page
    };
    assert!(
        done.location.as_deref().is_some_and(|l| l.starts_with(CB)),
        "{}",
        done.html
    );
    secret
}

backend_tests! {
    async fn a_second_accounts_password_cannot_take_over_a_sign_in_past_its_mfa(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.otp_mfa_is_required = true).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let victim = format!("victim.{backend:?}@example.com").to_lowercase();
        let attacker = format!("attacker.{backend:?}@example.com").to_lowercase();
        account_with_totp(&app, &client_id, &victim).await;
        let secret = account_with_totp(&app, &client_id, &attacker).await;

        // The attacker's own sign-in, held open at the update_info page after its own TOTP.
        let browser = Browser::new(&app);
        let url = authorize_url(&client_id, CB, &[("policy", "update_info")]);
        let signed = sign_in(&browser, &url, &attacker, PASSWORD, CB).await;
        let otp = browser.follow(signed, CB).await;
        assert!(otp.html.contains("Enter your authenticator code"), "{}", otp.html);
        let fields = hidden_fields(&otp.html, "step-form", &[("code", &totp(&secret, 1))]);
        let passed = browser.post("/identity/v1/view/otp-mfa", &fields).await;
        let policy = browser.follow(passed, CB).await;
        assert!(policy.html.contains("policy-form"), "{}", policy.html);

        // Now the victim's password into the same transaction: refused, nothing changes.
        let tx = input_value(&policy.html, "tx").unwrap();
        let csrf = input_value(&policy.html, "csrf_token").unwrap();
        let swap = [("tx", tx.as_str()), ("csrf_token", csrf.as_str()), ("email", victim.as_str()), ("password", PASSWORD)]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let refused = browser.post("/identity/v1/view/authorize", &swap).await;
        assert_eq!(refused.status, 400, "{:?} {}", refused.location, refused.html);
        assert!(refused.location.is_none());
        assert!(error_text(&refused.html).contains("already belongs to an account"), "{}", refused.html);
        // A passkey, recovery code or sign-up post into it is refused the same way.
        let sign_up = [("tx", tx.as_str()), ("csrf_token", csrf.as_str()), ("email", "new.account@example.com"), ("password", PASSWORD)]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let refused = browser.post("/identity/v1/view/sign-up", &sign_up).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert_eq!(user_by_email(&app, "new.account@example.com").await, serde_json::Value::Null, "no account was made");

        // Finishing the held sign-in gives the attacker's own code, never the victim's.
        let fields = form_fields(&policy.html, &[("first_name", "Eve")]);
        let done = browser.post("/identity/v1/view/update-info", &fields).await;
        let redirect = done.location.unwrap_or_else(|| panic!("{}", done.html));
        let sub = id_token_subject(&app, &client_id, CB, &redirect).await;
        assert_eq!(sub, user_by_email(&app, &attacker).await["authId"].as_str().unwrap());
    }

    async fn a_policy_page_posted_before_the_second_factor_changes_nothing(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.otp_mfa_is_required = true).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let email = format!("policy.early.{backend:?}@example.com").to_lowercase();
        account_with_totp(&app, &client_id, &email).await;

        // Password only (a stolen password): the sign-in waits at TOTP.
        let browser = Browser::new(&app);
        let url = authorize_url(&client_id, CB, &[("policy", "change_password")]);
        let signed = sign_in(&browser, &url, &email, PASSWORD, CB).await;
        let otp = browser.follow(signed, CB).await;
        assert!(otp.html.contains("Enter your authenticator code"), "{}", otp.html);
        let tx = input_value(&otp.html, "tx").unwrap();
        let csrf = input_value(&otp.html, "csrf_token").unwrap();
        let early = [("tx", tx.as_str()), ("csrf_token", csrf.as_str()), ("password", "Takeover-passw0rd!")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let refused = browser.post("/identity/v1/view/change-password", &early).await;
        assert_eq!(refused.status, 400, "{:?} {}", refused.location, refused.html);
        // Nor is the page shown before the second factor.
        let page = browser.get(&format!("/identity/v1/view/change-password?tx={tx}")).await;
        assert_eq!(page.status, 400, "{}", page.html);
        // The old password still works and the new one does not.
        let other = Browser::new(&app);
        let page = sign_in(&other, &authorize_url(&client_id, CB, &[]), &email, "Takeover-passw0rd!", CB).await;
        assert!(page.location.is_none() && page.status >= 400, "{}", page.html);
        let page = sign_in(&other, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        assert!(other.follow(page, CB).await.html.contains("Enter your authenticator code"));
    }

    async fn the_embedded_api_refuses_a_second_sign_in_into_a_finished_session(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.otp_mfa_is_required = true;
            c.enable_recovery_code = true;
            c.embedded_auth_origins = vec![ORIGIN.into()];
        }).await;
        let (_, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;
        let victim = format!("victim.embedded.{backend:?}@example.com").to_lowercase();
        account_with_totp(&app, &client_id, &victim).await;

        // A throwaway account: sign-up, consent, its own TOTP.
        let initiate = json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "en",
        });
        let initiate_again = initiate.clone();
        let (_, body) = embedded(&app, "/embedded-auth/v1/initiate", Some(initiate)).await;
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let throwaway = format!("throwaway.{backend:?}@example.com").to_lowercase();
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/sign-up"), Some(json!({ "email": throwaway, "password": PASSWORD }))).await;
        assert_eq!(body["nextStep"], "consent", "{body}");
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/app-consent"), Some(json!({}))).await;
        assert_eq!(body["nextStep"], "otp_setup", "{body}");
        let (_, setup) = embedded(&app, &format!("/embedded-auth/v1/{session}/otp-mfa-setup"), None).await;
        let secret = gatehouse_core::mfa::base32_decode(setup["otpSecret"].as_str().unwrap()).unwrap();
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/otp-mfa"), Some(json!({ "mfaCode": totp(&secret, 0) }))).await;
        assert_eq!(body["nextStep"], "recovery_code_enroll", "{body}");

        // Past MFA and consent, the victim's password into the session, and the steps again:
        // all refused.
        let (s, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/sign-in"), Some(json!({ "email": victim, "password": PASSWORD }))).await;
        assert_eq!(s, 400, "{body}");
        let (s, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/sign-up"), Some(json!({ "email": "second@example.com", "password": PASSWORD }))).await;
        assert_eq!(s, 400, "{body}");
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/app-consent"), Some(json!({}))).await;
        assert_eq!(s, 400, "consent is not owed twice");
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/otp-mfa"), Some(json!({ "mfaCode": totp(&secret, 1) }))).await;
        assert_eq!(s, 400, "TOTP is not owed twice");
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/recovery-code-enroll"), None).await;
        assert_eq!(s, 200);
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/recovery-code-enroll"), Some(json!({}))).await;
        assert_eq!(body["success"], true, "{body}");
        let (s, tokens) = embedded(&app, "/embedded-auth/v1/token-exchange", Some(json!({ "sessionId": session, "codeVerifier": VERIFIER }))).await;
        assert_eq!(s, 200, "{tokens}");
        let claims = crate::harness::jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(claims["sub"], user_by_email(&app, &throwaway).await["authId"], "the throwaway's own tokens");

        // An email code cannot stand in for TOTP where the app offers no email backup.
        let (_, body) = embedded(&app, "/embedded-auth/v1/initiate", Some(initiate_again)).await;
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let (_, body) = embedded(&app, &format!("/embedded-auth/v1/{session}/sign-in"), Some(json!({ "email": throwaway, "password": PASSWORD }))).await;
        assert_eq!(body["nextStep"], "otp_mfa", "{body}");
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/email-mfa-code"), Some(json!({}))).await;
        assert_eq!(s, 400, "no email backup to send");
        let (s, _) = embedded(&app, &format!("/embedded-auth/v1/{session}/email-mfa"), Some(json!({ "mfaCode": "000000" }))).await;
        assert_eq!(s, 400, "no email backup to verify");
    }

    async fn step_pages_refuse_other_origins_before_reading_the_body_and_unknown_sign_ins(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let http = reqwest::Client::new();
        for path in STEP_PAGES {
            let url = app.url(&format!("/identity/v1/view/{path}"));
            // From another site, with a body that is not even a form: refused as cross-origin.
            let foreign = http.post(&url).header("Origin", "https://evil.example")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("%%%not=a&form%").send().await.unwrap();
            assert_eq!(foreign.status().as_u16(), 403, "{path}");
            assert!(foreign.text().await.unwrap().contains("not sent by this browser"), "{path}");
            // From this site but for no sign-in: the expired page, not a step.
            let unknown = http.post(&url).form(&[("tx", "nope"), ("csrf_token", "x")]).send().await.unwrap();
            assert_eq!(unknown.status().as_u16(), 403, "{path}: no CSRF cookie");
            let page = http.get(format!("{url}?tx=nope")).send().await.unwrap();
            assert_eq!(page.status().as_u16(), 404, "{path}");
        }
    }

    async fn a_passkey_page_cannot_remove_another_accounts_passkey(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.allow_passkey_enrollment = true).await;
        let victim = format!("pk.victim.{backend:?}@example.com").to_lowercase();
        let attacker = format!("pk.attacker.{backend:?}@example.com").to_lowercase();
        signed_up_declining_passkeys(&app, &victim).await;
        let browser = signed_up_declining_passkeys(&app, &attacker).await;
        // The victim's passkey, as enrollment would have stored it.
        let insert = "INSERT INTO user_passkeys (user_id, credential_id, public_key) SELECT id, 'victim-cred', 'key' FROM users WHERE email = $1";
        app.isolation.execute(insert, &victim).await;

        let page = browser.follow(browser.get("/i/policy/manage_passkey").await, "http://never").await;
        assert!(page.html.contains("step-form"), "{}", page.html);
        // Passkey ids are small integers: the attacker tries them all.
        for id in 1..=5 {
            let id = id.to_string();
            let fields = hidden_fields(&page.html, "step-form", &[("passkey_id", &id)]);
            let fields: Vec<_> = fields.into_iter().map(|(k, v)| if k == "stage" { (k, "delete".to_owned()) } else { (k, v) }).collect();
            let refused = browser.post("/identity/v1/view/manage-passkey", &fields).await;
            assert_eq!(refused.status, 404, "{}", refused.html);
            assert_eq!(error_text(&refused.html), "No such passkey");
        }
        let mut fields = hidden_fields(&page.html, "step-form", &[]);
        fields.iter_mut().filter(|(k, _)| k == "stage").for_each(|(_, v)| *v = "delete".into());
        let missing = browser.post("/identity/v1/view/manage-passkey", &fields).await;
        assert_eq!(missing.status, 400, "{}", missing.html);
        assert_eq!(error_text(&missing.html), "Choose the passkey to remove");
    }
}

/// A browser with a session of a new account made through `/i` (declining the passkey offer,
/// when there is one).
pub async fn signed_up_declining_passkeys(app: &TestApp, email: &str) -> Browser {
    let browser = Browser::new(app);
    let page = browser
        .follow(browser.get("/i").await, "http://never")
        .await;
    let tx = input_value(&page.html, "tx").unwrap();
    let form = browser
        .get(&format!("/identity/v1/view/sign-up?tx={tx}"))
        .await;
    let fields = form_fields(&form.html, &[("email", email), ("password", PASSWORD)]);
    let next = browser
        .follow(
            browser.post("/identity/v1/view/sign-up", &fields).await,
            "http://never",
        )
        .await;
    if next.html.contains("passkey-form") {
        let decline = hidden_fields(&next.html, "step-form", &[]);
        let done = browser
            .post("/identity/v1/view/passkey-enroll", &decline)
            .await;
        assert_eq!(done.status, 303, "{}", done.html);
    } else {
        assert!(
            next.html.contains("/i/sign-out"),
            "the account page: {}",
            next.html
        );
    }
    browser
}

/// Every page a sign-in step serves.
const STEP_PAGES: &[&str] = &[
    "confirm-identity",
    "change-password",
    "update-info",
    "change-org",
    "mfa-enroll",
    "otp-setup",
    "otp-mfa",
    "sms-mfa",
    "reset-mfa",
    "change-email",
    "recovery-code-enroll",
    "manage-recovery-code",
    "passkey-enroll",
    "manage-passkey",
];
