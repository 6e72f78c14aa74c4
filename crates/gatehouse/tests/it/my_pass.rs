//! The user's own account page, `/i`: sign-in first when needed, names, the self-service
//! policies, sessions and consented apps to revoke, sign-out.

use crate::flow::*;
use crate::harness::{backend_tests, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";

fn csrf(html: &str) -> String {
    input_value(html, "csrf_token").unwrap()
}

backend_tests! {
    async fn my_pass_page_through_sign_in_policies_sessions_and_apps(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let email = format!("mypass.{backend:?}@example.com").to_lowercase();

        // No session: sign-in (here, sign-up) first, then back to /i.
        let first = browser.get("/i").await;
        assert_eq!(first.status, 303);
        let page = browser.follow(first, "http://never").await;
        assert!(page.html.contains("Your account"), "the sign-in page names the account page: {}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let form = browser.get(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        let fields = form_fields(&form.html, &[("email", &email), ("password", PASSWORD), ("first_name", "Ada")]);
        let back = browser.post("/identity/v1/view/sign-up", &fields).await;
        assert!(back.location.as_deref().is_some_and(|l| l.ends_with("/i?locale=en")), "{:?} {}", back.location, back.html);
        let me = browser.get("/i").await;
        assert_eq!(me.status, 200, "{}", me.html);
        assert!(me.html.contains(&email) && me.html.contains("policy-change_password"), "{}", me.html);

        // Names: saved, and a post without the page's CSRF token is refused.
        let saved = browser.post("/i/names", &[("csrf_token".into(), csrf(&me.html)), ("first_name".into(), "Augusta".into()), ("last_name".into(), "King".into())]).await;
        assert_eq!(saved.location.as_deref().map(|l| l.ends_with("/i?saved=1")), Some(true), "{}", saved.html);
        let me = browser.get("/i?saved=1").await;
        assert!(me.html.contains("Augusta") && me.html.contains("Your details were saved"), "{}", me.html);
        let forged = browser.post("/i/names", &[("csrf_token".into(), "forged".into()), ("first_name".into(), "X".into())]).await;
        assert_eq!(forged.status, 403);

        // A policy from the page: change the password, then back to /i.
        let started = browser.get("/i/policy/change_password").await;
        let policy = browser.follow(started, "http://never").await;
        assert!(policy.html.contains("policy-form"), "{}", policy.html);
        let fields = form_fields(&policy.html, &[("password", "N3w-passw0rd!")]);
        let done = browser.post("/identity/v1/view/change-password", &fields).await;
        assert!(done.location.as_deref().is_some_and(|l| l.contains("/i?locale=")), "{:?} {}", done.location, done.html);
        let unknown = browser.get("/i/policy/change_org").await;
        assert_eq!(unknown.status, 404);

        // Signing in to an app with the same browser: consent, then the app is listed and revocable.
        let signed = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        finish_consent(&browser, signed, CB).await;
        let me = browser.get("/i").await;
        assert!(me.html.contains("Shop") && me.html.contains("id=\"revoke-"), "{}", me.html);
        let at = me.html.find("action=\"/i/apps/").unwrap() + "action=\"".len();
        let action = me.html[at..at + me.html[at..].find('"').unwrap()].to_owned();
        let revoked = browser.post(&action, &[("csrf_token".into(), csrf(&me.html))]).await;
        assert_eq!(revoked.status, 303, "{}", revoked.html);
        let me = browser.get("/i").await;
        assert!(me.html.contains("No app has access"), "{}", me.html);

        // The new password signs in elsewhere; ending this browser's session sends /i back to sign-in.
        let other = Browser::new(&app);
        let signed = sign_in(&other, &authorize_url(&client_id, CB, &[]), &email, "N3w-passw0rd!", CB).await;
        let landed = finish_consent(&other, signed, CB).await;
        assert!(landed.contains("code="), "{landed}");
        let at = me.html.find("action=\"/i/sessions/").unwrap() + "action=\"".len();
        let action = me.html[at..at + me.html[at..].find('"').unwrap()].to_owned();
        let ended = browser.post(&action, &[("csrf_token".into(), csrf(&me.html))]).await;
        assert_eq!(ended.status, 303, "{}", ended.html);
        assert_eq!(browser.get("/i").await.status, 303, "the session is over");

        // Sign-out from the page.
        let other_me = other.get("/i").await;
        assert_eq!(other_me.status, 200);
        let out = other.post("/i/sign-out", &[("csrf_token".into(), csrf(&other_me.html))]).await;
        assert_eq!(out.status, 200, "{}", out.html);
        assert_eq!(other.get("/i").await.status, 303);
    }
}
