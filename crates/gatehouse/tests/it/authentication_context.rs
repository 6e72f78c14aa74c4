//! `acr` and `amr` (OIDC Core §2, RFC 8176): what an ID token says about how the user signed
//! in, and `acr_values` asking for two factors. The attacks: a request for two factors answered
//! silently by a browser session that passed only a password, and by a remembered device.

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, TestApp};
use crate::mfa::{shown_secret, totp, CB};

const TWO_FACTORS: &str = "urn:gatehouse:loa:2fa";

/// The claims of the ID token the code in `redirect` gives.
async fn id_claims(app: &TestApp, client_id: &str, redirect: &str) -> Value {
    id_token_claims(app, client_id, CB, redirect).await
}

backend_tests! {
    async fn id_tokens_say_how_the_user_signed_in_and_two_factors_can_be_asked(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_mfa_remember_device = true).await;
        let doc: Value = app.get_json("/.well-known/openid-configuration").await;
        assert_eq!(doc["acr_values_supported"], json!(["urn:gatehouse:loa:1fa", TWO_FACTORS]));
        let (_, client_id, _) = create_app(&app, "Bank", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let email = format!("acr.{backend:?}@example.com").to_lowercase();

        // A password sign-up: one factor.
        let redirect = sign_up(&browser, &authorize_url(&client_id, CB, &[]), &email, CB).await;
        let claims = id_claims(&app, &client_id, &redirect).await;
        assert_eq!((&claims["acr"], &claims["amr"]), (&json!("urn:gatehouse:loa:1fa"), &json!(["pwd"])), "{claims}");

        // Two factors asked: the password-only session is not enough, so the sign-in page
        // shows, and a user with no second factor enrolls in one.
        let asks = authorize_url(&client_id, CB, &[("acr_values", TWO_FACTORS)]);
        let page = browser.follow(browser.get(&asks).await, CB).await;
        assert!(page.html.contains("sign-in-form"), "the session answered silently: {:?} {}", page.location, page.html);
        let fields = form_fields(&page.html, &[("email", email.as_str()), ("password", PASSWORD)]);
        let enroll = browser.follow(browser.post("/identity/v1/view/authorize", &fields).await, CB).await;
        assert!(enroll.html.contains("name=\"type\""), "no enrollment choice: {}", enroll.html);
        let chosen = hidden_fields(&enroll.html, "step-form", &[("type", "otp")]);
        let setup = browser.follow(browser.post("/identity/v1/view/mfa-enroll", &chosen).await, CB).await;
        let secret = shown_secret(&setup.html);
        let code = totp(&secret, 0);
        let done = browser.post("/identity/v1/view/otp-setup", &hidden_fields(&setup.html, "step-form", &[("code", &code), ("remember", "1")])).await;
        let done = past_consent(&browser, browser.follow(done, CB).await, CB).await;
        let redirect = done.location.clone().unwrap_or_else(|| panic!("{}", done.html));
        let claims = id_claims(&app, &client_id, &redirect).await;
        assert_eq!((&claims["acr"], &claims["amr"]), (&json!(TWO_FACTORS), &json!(["pwd", "otp", "mfa"])), "{claims}");

        // That session passed two factors: the next request for them is answered at once, and
        // says what the session's sign-in passed.
        let again = browser.follow(browser.get(&asks).await, CB).await;
        let redirect = again.location.clone().unwrap_or_else(|| panic!("{}", again.html));
        let claims = id_claims(&app, &client_id, &redirect).await;
        assert_eq!((&claims["acr"], &claims["amr"]), (&json!(TWO_FACTORS), &json!(["pwd", "otp", "mfa"])), "{claims}");

        // This browser's device is remembered: a fresh sign-in skips the code, unless two
        // factors are asked.
        let fresh = |extra: &'static [(&'static str, &'static str)]| {
            let mut params = vec![("prompt", "login")];
            params.extend_from_slice(extra);
            authorize_url(&client_id, CB, &params)
        };
        let skipped = browser.follow(sign_in(&browser, &fresh(&[]), &email, PASSWORD, CB).await, CB).await;
        let skipped = past_consent(&browser, skipped, CB).await;
        assert!(skipped.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", skipped.html);
        let asked = fresh(&[("acr_values", TWO_FACTORS)]);
        let page = browser.follow(sign_in(&browser, &asked, &email, PASSWORD, CB).await, CB).await;
        assert!(page.html.contains("Enter your authenticator code"), "{}", page.html);
    }
}
