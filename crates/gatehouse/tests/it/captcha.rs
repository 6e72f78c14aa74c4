//! Captcha on the sign-in, sign-up and password-reset forms, verified server-side against a
//! local server speaking the providers' `siteverify` API (form `secret`, `response`, `remoteip`;
//! JSON `success`, `score`).

use std::sync::{Arc, Mutex};

use gatehouse_server::config::{Config, Secret};
use serde_json::json;

use crate::flow::*;
use crate::harness::{Backend, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";

type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// `good` passes, `low` passes with score 0.3, `high` with 0.9, anything else fails.
async fn siteverify() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn verify(
        axum::extract::State(seen): axum::extract::State<Seen>,
        body: String,
    ) -> axum::Json<serde_json::Value> {
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
        let token = form
            .iter()
            .find(|(k, _)| k == "response")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        seen.lock().unwrap().push(form);
        axum::Json(match token.as_str() {
            "good" => json!({ "success": true }),
            "low" => json!({ "success": true, "score": 0.3 }),
            "high" => json!({ "success": true, "score": 0.9 }),
            _ => json!({ "success": false, "error-codes": ["invalid-input-response"] }),
        })
    }
    let router = axum::Router::new()
        .route("/siteverify", axum::routing::post(verify))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/siteverify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

/// A server (SQLite) with `provider` checked at `verify_url`, and `more` settings; the client id
/// of an SPA on it.
async fn captcha_app(
    (provider, site_key, secret): (&str, &str, &str),
    verify_url: String,
    more: impl FnOnce(&mut Config),
) -> (TestApp, String) {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.captcha_provider = provider.into();
        c.captcha_site_key = site_key.into();
        c.captcha_secret_key = Secret::new(secret);
        c.captcha_verify_url = verify_url;
        more(c);
    })
    .await;
    let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
    (app, client_id)
}

async fn sign_up_form(browser: &Browser, client_id: &str) -> Page {
    let page = browser
        .follow(browser.get(&authorize_url(client_id, CB, &[])).await, CB)
        .await;
    let tx = input_value(&page.html, "tx").unwrap();
    browser
        .get(&format!("/identity/v1/view/sign-up?tx={tx}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turnstile_guards_sign_up_sign_in_and_reset_and_fails_closed() {
    let (url, seen) = siteverify().await;
    let provider = ("turnstile", "site-key-1", "captcha-secret");
    let (app, client_id) = captcha_app(provider, url, |c| {
        c.smtp_connection_string = Secret::new("smtp://127.0.0.1:9?tls=none");
        c.smtp_sender_address = "id@example.com".into();
        c.enable_email_verification = false;
    })
    .await;
    let browser = Browser::new(&app);
    let form = sign_up_form(&browser, &client_id).await;
    assert!(
        form.html
            .contains(r#"class="cf-turnstile" id="captcha" data-sitekey="site-key-1""#),
        "{}",
        form.html
    );
    assert!(form
        .html
        .contains("https://challenges.cloudflare.com/turnstile/v0/api.js"));
    let response = browser
        .http
        .get(format!(
            "{}/identity/v1/view/sign-up?tx={}",
            app.base,
            input_value(&form.html, "tx").unwrap()
        ))
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-src https://challenges.cloudflare.com")
            && csp.contains("script-src 'nonce-"),
        "{csp}"
    );

    let fields = |extra: &[(&str, &str)]| {
        let mut f = form_fields(
            &form.html,
            &[("email", "captcha@example.com"), ("password", PASSWORD)],
        );
        f.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        f
    };
    let missing = browser
        .post("/identity/v1/view/sign-up", &fields(&[]))
        .await;
    assert_eq!(
        (missing.status, error_text(&missing.html).as_str()),
        (400, "Please complete the captcha and try again")
    );
    assert!(seen.lock().unwrap().is_empty(), "no token, no call");
    let bad = browser
        .post(
            "/identity/v1/view/sign-up",
            &fields(&[("cf-turnstile-response", "forged")]),
        )
        .await;
    assert_eq!(
        error_text(&bad.html),
        "Please complete the captcha and try again"
    );
    let good = browser
        .post(
            "/identity/v1/view/sign-up",
            &fields(&[("cf-turnstile-response", "good")]),
        )
        .await;
    let next = browser.follow(good, CB).await;
    assert!(next.html.contains("consent-form"), "{}", next.html);
    {
        let calls = seen.lock().unwrap();
        let last = calls.last().unwrap();
        let field = |k: &str| last.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (field("secret"), field("response"), field("remoteip")),
            (Some("captcha-secret"), Some("good"), Some("127.0.0.1"))
        );
    }

    // Sign-in and the reset request carry the widget and are refused without it.
    let signin_browser = Browser::new(&app);
    let page = signin_browser
        .follow(
            signin_browser
                .get(&authorize_url(&client_id, CB, &[]))
                .await,
            CB,
        )
        .await;
    assert!(page.html.contains("cf-turnstile"));
    let refused = signin_browser
        .post(
            "/identity/v1/view/authorize",
            &form_fields(
                &page.html,
                &[("email", "captcha@example.com"), ("password", PASSWORD)],
            ),
        )
        .await;
    assert_eq!(
        error_text(&refused.html),
        "Please complete the captcha and try again"
    );
    let tx = input_value(&page.html, "tx").unwrap();
    let reset = signin_browser
        .get(&format!("/identity/v1/view/reset-password?tx={tx}"))
        .await;
    assert!(reset.html.contains("cf-turnstile"), "{}", reset.html);
    let refused = signin_browser
        .post(
            "/identity/v1/view/reset-password",
            &form_fields(
                &reset.html,
                &[("stage", "request"), ("email", "captcha@example.com")],
            ),
        )
        .await;
    assert_eq!(
        error_text(&refused.html),
        "Please complete the captcha and try again"
    );
    let ok = signin_browser
        .post(
            "/identity/v1/view/authorize",
            &form_fields(
                &page.html,
                &[
                    ("email", "captcha@example.com"),
                    ("password", PASSWORD),
                    ("cf-turnstile-response", "good"),
                ],
            ),
        )
        .await;
    assert!(ok.location.is_some(), "{}", ok.html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recaptcha_v3_checks_the_score_and_an_unreachable_provider_refuses() {
    let (url, _seen) = siteverify().await;
    let provider = ("recaptcha_v3", "v3-key", "v3-secret");
    let (app, client_id) =
        captcha_app(provider, url, |c| c.captcha_pages = vec!["sign_up".into()]).await;
    let browser = Browser::new(&app);
    let form = sign_up_form(&browser, &client_id).await;
    assert!(
        form.html.contains("api.js?render=v3-key") && form.html.contains("g-recaptcha-response"),
        "{}",
        form.html
    );
    let with_token = |token: &str| {
        let mut f = form_fields(
            &form.html,
            &[("email", "v3@example.com"), ("password", PASSWORD)],
        );
        f.push(("g-recaptcha-response".into(), token.into()));
        f
    };
    let low = browser
        .post("/identity/v1/view/sign-up", &with_token("low"))
        .await;
    assert_eq!(
        error_text(&low.html),
        "Please complete the captcha and try again",
        "score 0.3 < 0.5"
    );
    let high = browser
        .post("/identity/v1/view/sign-up", &with_token("high"))
        .await;
    assert!(high.location.is_some(), "{}", high.html);
    // Only the listed pages ask: sign-in has no widget here.
    let page = Browser::new(&app)
        .follow(
            Browser::new(&app)
                .get(&authorize_url(&client_id, CB, &[]))
                .await,
            CB,
        )
        .await;
    assert!(!page.html.contains("g-recaptcha"));

    let unreachable = "http://127.0.0.1:9/siteverify".into();
    let (down, client_id) =
        captcha_app(("hcaptcha", "h-key", "h-secret"), unreachable, |_| {}).await;
    let browser = Browser::new(&down);
    let form = sign_up_form(&browser, &client_id).await;
    assert!(form.html.contains(r#"class="h-captcha""#));
    let mut f = form_fields(
        &form.html,
        &[("email", "down@example.com"), ("password", PASSWORD)],
    );
    f.push(("h-captcha-response".into(), "good".into()));
    let refused = browser.post("/identity/v1/view/sign-up", &f).await;
    assert_eq!(
        error_text(&refused.html),
        "Please complete the captcha and try again",
        "fails closed"
    );
}
