//! Attacks with a stolen browser session on the pages that change how an account proves itself:
//! a session older than `sensitive_action_max_auth_age` must prove the account again (current
//! password, or a new sign-in) before changing the password or resetting MFA, a post that skips
//! the proof is refused, and guessing the current password counts toward the sign-in lockout.

use crate::attack_signin::signed_up_declining_passkeys;
use crate::flow::*;
use crate::harness::{backend_tests, Backend, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";
const NEW_PASSWORD: &str = "N3w-passw0rd!";

/// Whether `password` signs `email` in from a new browser.
async fn password_works(app: &TestApp, client_id: &str, email: &str, password: &str) -> bool {
    let other = Browser::new(app);
    let signed = sign_in(
        &other,
        &authorize_url(client_id, CB, &[]),
        email,
        password,
        CB,
    )
    .await;
    let landed = other.follow(signed, CB).await;
    landed.location.is_some() || landed.html.contains("consent-form")
}

/// Sets the browser sessions' sign-in time ten minutes back, as a stolen old cookie would be.
async fn age_sessions(app: &TestApp, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "UPDATE browser_sessions SET auth_time = datetime(auth_time, '-10 minutes') WHERE ?1 = ?1"
        }
        Backend::PostgresRedis => {
            "UPDATE browser_sessions SET auth_time = auth_time - interval '10 minutes' WHERE $1 = $1"
        }
    };
    app.isolation.execute(sql, "x").await;
}

backend_tests! {
    async fn an_old_session_confirms_the_password_before_changing_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let email = format!("fresh.{backend:?}@example.com").to_lowercase();
        let browser = signed_up_declining_passkeys(&app, &email).await;

        // A session just made needs no proof (the default age is five minutes).
        let page = browser.follow(browser.get("/i/policy/reset_mfa").await, "http://never").await;
        assert!(page.html.contains("step-form") && !page.html.contains("confirm-identity-form"), "{}", page.html);

        // Ten minutes later the same cookie is not enough.
        age_sessions(&app, backend).await;
        let page = browser.follow(browser.get("/i/policy/change_password").await, "http://never").await;
        assert!(page.html.contains("confirm-identity-form"), "{}", page.html);
        assert!(page.html.contains("autocomplete=\"current-password\""), "{}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let csrf = input_value(&page.html, "csrf_token").unwrap();

        // The attacker skips the proof and posts the policy form itself: refused, unchanged.
        let skip = [("tx", tx.as_str()), ("csrf_token", csrf.as_str()), ("password", NEW_PASSWORD)]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let refused = browser.post("/identity/v1/view/change-password", &skip).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert!(refused.html.contains("This step does not belong to the current sign-in"), "{}", refused.html);
        assert!(browser.get(&format!("/identity/v1/view/change-password?tx={tx}")).await.status >= 400);

        // A wrong current password: the page again, with its own message.
        let wrong = hidden_fields(&page.html, "confirm-identity-form", &[("password", "not-the-password")]);
        let again = browser.post("/identity/v1/view/confirm-identity", &wrong).await;
        assert_eq!(again.status, 400, "{}", again.html);
        assert_eq!(error_text(&again.html), "The current password is not correct");
        assert!(again.html.contains("confirm-identity-form"));

        // The right one: on to the change, which now works.
        let right = hidden_fields(&page.html, "confirm-identity-form", &[("password", PASSWORD)]);
        let confirmed = browser.post("/identity/v1/view/confirm-identity", &right).await;
        assert_eq!(confirmed.status, 303, "{}", confirmed.html);
        assert!(confirmed.location.as_deref().is_some_and(|l| l.contains("/identity/v1/view/change-password?tx=")), "{:?}", confirmed.location);
        let policy = browser.follow(confirmed, "http://never").await;
        assert!(policy.html.contains("policy-form"), "{}", policy.html);
        // Confirming twice is refused: the step is behind.
        assert_eq!(browser.post("/identity/v1/view/confirm-identity", &right).await.status, 400);
        let fields = form_fields(&policy.html, &[("password", NEW_PASSWORD)]);
        let done = browser.post("/identity/v1/view/change-password", &fields).await;
        assert!(done.location.as_deref().is_some_and(|l| l.contains("/i?locale=")), "{:?} {}", done.location, done.html);
        assert!(password_works(&app, &client_id, &email, NEW_PASSWORD).await);
    }

    async fn guessing_the_current_password_locks_the_account_like_the_sign_in_page(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.sensitive_action_max_auth_age = 0;
            c.account_lockout_threshold = 3;
        })
        .await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let email = format!("guess.{backend:?}@example.com").to_lowercase();
        let browser = signed_up_declining_passkeys(&app, &email).await;

        let page = browser.follow(browser.get("/i/policy/reset_mfa").await, "http://never").await;
        assert!(page.html.contains("confirm-identity-form"), "0 asks every session: {}", page.html);
        for guess in ["guess-1", "guess-2", "guess-3"] {
            let fields = hidden_fields(&page.html, "confirm-identity-form", &[("password", guess)]);
            let refused = browser.post("/identity/v1/view/confirm-identity", &fields).await;
            assert_eq!(refused.status, 400, "{}", refused.html);
        }
        // Locked now: the right password is refused here and on the sign-in page (same IP).
        let right = hidden_fields(&page.html, "confirm-identity-form", &[("password", PASSWORD)]);
        let locked = browser.post("/identity/v1/view/confirm-identity", &right).await;
        assert_eq!(locked.status, 400, "{}", locked.html);
        assert!(error_text(&locked.html).contains("Account temporarily locked"), "{}", locked.html);
        assert!(!password_works(&app, &client_id, &email, PASSWORD).await, "the sign-in page is locked too");
    }

    async fn signing_in_again_replaces_the_old_session_proof(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.sensitive_action_max_auth_age = 0).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let email = format!("again.{backend:?}@example.com").to_lowercase();
        let browser = signed_up_declining_passkeys(&app, &email).await;

        // An app's own request for the policy meets the same rule.
        let url = authorize_url(&client_id, CB, &[("policy", "change_password")]);
        let page = past_consent(&browser, browser.follow(browser.get(&url).await, CB).await, CB).await;
        assert!(page.html.contains("confirm-identity-form"), "{}", page.html);
        let old_tx = input_value(&page.html, "tx").unwrap();

        // Another browser cannot use this browser's step, even with its form.
        let stranger = Browser::new(&app);
        let _ = stranger.get("/i").await;
        let theirs = hidden_fields(&page.html, "confirm-identity-form", &[("password", PASSWORD)]);
        assert_eq!(stranger.post("/identity/v1/view/confirm-identity", &theirs).await.status, 403);

        // "Sign in again": a new sign-in page for the same request; the old one is gone.
        let restart = hidden_fields(&page.html, "sign-in-again-form", &[]);
        let moved = browser.post("/identity/v1/view/confirm-identity", &restart).await;
        assert_eq!(moved.status, 303, "{}", moved.html);
        let sign_in_page = browser.follow(moved, CB).await;
        assert!(sign_in_page.html.contains("name=\"password\""), "{}", sign_in_page.html);
        let new_tx = input_value(&sign_in_page.html, "tx").unwrap();
        assert_ne!(new_tx, old_tx);
        assert_eq!(browser.get(&format!("/identity/v1/view/confirm-identity?tx={old_tx}")).await.status, 404);

        // A password typed now is a fresh proof: straight to the policy after consent.
        let fields = form_fields(&sign_in_page.html, &[("email", &email), ("password", PASSWORD)]);
        let signed = browser.post("/identity/v1/view/authorize", &fields).await;
        let next = past_consent(&browser, browser.follow(signed, CB).await, CB).await;
        assert!(next.html.contains("policy-form") && !next.html.contains("confirm-identity-form"), "{}", next.html);
    }

    async fn an_account_without_a_password_can_only_sign_in_again(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.sensitive_action_max_auth_age = 0).await;
        let email = format!("nopass.{backend:?}@example.com").to_lowercase();
        let browser = signed_up_declining_passkeys(&app, &email).await;
        // As an account made by an outside provider or a passwordless sign-in: no password.
        // One `$1` reads the same in both dialects.
        app.isolation.execute("UPDATE users SET password_hash = NULL WHERE email = $1", &email).await;

        let page = browser.follow(browser.get("/i/policy/reset_mfa").await, "http://never").await;
        assert!(page.html.contains("sign-in-again-form"), "{}", page.html);
        assert!(!page.html.contains("confirm-identity-form"), "no password to ask: {}", page.html);
        // A password posted anyway proves nothing.
        let mut fields = hidden_fields(&page.html, "sign-in-again-form", &[("password", PASSWORD)]);
        fields.retain(|(k, _)| k != "stage");
        let refused = browser.post("/identity/v1/view/confirm-identity", &fields).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert_eq!(error_text(&refused.html), "The current password is not correct");
        let restart = hidden_fields(&page.html, "sign-in-again-form", &[]);
        let moved = browser.post("/identity/v1/view/confirm-identity", &restart).await;
        assert!(moved.location.as_deref().is_some_and(|l| l.contains("/identity/v1/view/authorize?tx=")), "{:?}", moved.location);
    }
}
