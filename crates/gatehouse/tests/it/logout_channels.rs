//! OIDC Back-Channel and Front-Channel Logout 1.0 over HTTP: which apps hear that a session
//! ended (logout, an admin's action, a disabled user, expiry), exactly once across instances,
//! retried when an app fails and not when it refuses; and the rules for the URIs an app
//! registers, attacked with inside addresses, other origins and malformed values.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Form;
use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, jwt_part, Backend, TestApp};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// An app's back channel: keeps every logout token POSTed to it, answering each with the next
/// status of `answers` (200 once they run out).
#[derive(Clone, Default)]
struct Receiver {
    base: String,
    tokens: Arc<Mutex<Vec<String>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

#[derive(serde::Deserialize)]
struct LogoutForm {
    logout_token: String,
}

async fn take(State(r): State<Receiver>, Form(form): Form<LogoutForm>) -> StatusCode {
    r.tokens.lock().unwrap().push(form.logout_token);
    let status = r.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            base: format!("http://{}", listener.local_addr().unwrap()),
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
            ..Receiver::default()
        };
        let router = axum::Router::new()
            .route("/bc", post(take))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        receiver
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn count(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }

    /// The claims of the first `n` tokens, waiting up to `secs` for them; each checked to be a
    /// logout token.
    async fn wait_for(&self, n: usize, secs: u64) -> Vec<Value> {
        for _ in 0..secs * 10 {
            if self.count() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let tokens = self.tokens.lock().unwrap().clone();
        assert!(
            tokens.len() >= n,
            "{} of {n} logout tokens arrived",
            tokens.len()
        );
        tokens
            .iter()
            .map(|token| {
                assert_eq!(jwt_part(token, 0)["typ"], "logout+jwt", "{token}");
                let claims = jwt_part(token, 1);
                assert_eq!(claims["events"], json!({ EVENT: {} }), "{claims}");
                assert!(claims.get("nonce").is_none(), "{claims}");
                assert_eq!(
                    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
                    120
                );
                claims
            })
            .collect()
    }
}

/// A server whose sender runs every second and may call loopback apps.
async fn spawn(
    backend: Backend,
    adjust: impl FnOnce(&mut gatehouse_server::config::Config),
) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.outbound_allow_private_addresses = true;
        c.logout_notice_interval = 1;
        adjust(c);
    })
    .await
}

/// A server with one single-page app, "Shop", whose back-channel logout goes to a receiver:
/// the server, the receiver, its callback URL and the app's client id.
async fn shop_with_back_channel(backend: Backend) -> (TestApp, Receiver, String, String) {
    let app = spawn(backend, |_| {}).await;
    let r = Receiver::start(&[]).await;
    let cb = r.url("/cb");
    let (id, client_id, _) = create_app(&app, "Shop", "spa", &[&cb]).await;
    let (status, body) =
        set_channels(&app, id, json!({ "backchannelLogoutUri": r.url("/bc") })).await;
    assert_eq!(status, 200, "{body}");
    (app, r, cb, client_id)
}

async fn set_channels(app: &TestApp, id: i64, channels: Value) -> (u16, Value) {
    let root = app.admin_token("root").await;
    call(
        app,
        "PUT",
        &format!("/api/v1/apps/{id}"),
        &root,
        Some(channels),
    )
    .await
}

/// Signs a new user up through `client_id` in `browser` and exchanges the code: the ID token's
/// claims.
async fn signed_up(
    app: &TestApp,
    browser: &Browser,
    client_id: &str,
    cb: &str,
    email: &str,
) -> Value {
    let redirect = sign_up(browser, &authorize_url(client_id, cb, &[]), email, cb).await;
    id_token_claims(app, client_id, cb, &redirect).await
}

/// Signs the browser's session in to another app (consent, then single sign-on).
async fn signed_on(app: &TestApp, browser: &Browser, client_id: &str, cb: &str) -> Value {
    let page = browser.get(&authorize_url(client_id, cb, &[])).await;
    let redirect = finish_consent(browser, page, cb).await;
    id_token_claims(app, client_id, cb, &redirect).await
}

backend_tests! {
    async fn each_app_a_session_signed_in_to_hears_of_its_logout_once(backend: Backend) {
        let app = spawn(backend, |_| {}).await;
        let r = Receiver::start(&[]).await;
        let cb = r.url("/cb");
        let (a_id, a, _) = create_app(&app, "A", "spa", &[&cb]).await;
        let (b_id, b, _) = create_app(&app, "B", "spa", &[&cb]).await;
        let (c_id, _, _) = create_app(&app, "Never signed in to", "spa", &[&cb]).await;
        let (status, body) = set_channels(&app, a_id, json!({
            "backchannelLogoutUri": r.url("/bc"), "backchannelLogoutSessionRequired": true,
            "frontchannelLogoutUri": r.url("/fc"), "frontchannelLogoutSessionRequired": true,
        })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["app"]["backchannelLogoutUri"], r.url("/bc"));
        assert_eq!(body["app"]["frontchannelLogoutSessionRequired"], true);
        for (id, fc) in [(b_id, "/fc2"), (c_id, "/fc3")] {
            let (status, body) = set_channels(&app, id, json!({
                "backchannelLogoutUri": r.url("/bc"), "frontchannelLogoutUri": r.url(fc),
            })).await;
            assert_eq!(status, 200, "{body}");
        }
        // A second instance on the same storage, sending too: still one token per app.
        let issuer = app.base.clone();
        let second = TestApp::spawn_on(app.isolation.clone(), |c| {
            c.outbound_allow_private_addresses = true;
            c.logout_notice_interval = 1;
            c.issuer = issuer;
        })
        .await;

        let browser = Browser::new(&app);
        let first = signed_up(&app, &browser, &a, &cb, "logout@example.com").await;
        let sid = first["sid"].as_str().expect("an ID token with sid").to_owned();
        let other = signed_on(&app, &browser, &b, &cb).await;
        assert_eq!(other["sid"], sid.as_str(), "one browser session");

        let out = browser.get(&format!(
            "/oauth2/v1/logout?client_id={a}&post_logout_redirect_uri={}&state=s1",
            urlencode(&cb)
        )).await;
        assert_eq!(out.status, 200, "the front channels are told on a page: {}", out.html);
        let issuer_q = urlencode(&app.base);
        assert!(out.html.contains(&format!("src=\"{}?iss={issuer_q}&#38;sid={sid}\"", r.url("/fc"))), "{}", out.html);
        assert!(out.html.contains(&format!("src=\"{}\"", r.url("/fc2"))), "{}", out.html);
        assert!(!out.html.contains("/fc3"), "an app never signed in to is not framed");
        assert!(out.html.contains(&format!("href=\"{cb}?state=s1\"")), "{}", out.html);

        let claims = r.wait_for(2, 10).await;
        let mut auds: Vec<&str> = claims.iter().map(|c| c["aud"].as_str().unwrap()).collect();
        auds.sort_unstable();
        let mut expected = vec![a.as_str(), b.as_str()];
        expected.sort_unstable();
        assert_eq!(auds, expected);
        for c in &claims {
            assert_eq!(c["iss"], app.base.as_str());
            assert_eq!(c["sub"], first["sub"]);
            assert_eq!(c["sid"], sid.as_str());
        }
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(r.count(), 2, "told once per app, whichever instance sent it");

        // No session left: logging out again tells no one.
        let again = browser.get(&format!("/oauth2/v1/logout?client_id={a}")).await;
        assert!(again.status == 302 || again.status == 200, "{}", again.status);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(r.count(), 2);
        drop(second);
    }

    async fn openid_client_hears_of_logout_on_both_channels_and_checks_the_token_with_jose(backend: Backend) {
        let origin = crate::clients::app_origin();
        let app = spawn(backend, |c| c.cors_allowed_origins = vec![origin.clone()]).await;
        let redirect = format!("{origin}/cb");
        let (app_id, client_id, secret) = create_app(&app, "Logout app", "web", &[&redirect]).await;
        let root = app.admin_token("root").await;
        crate::clients::run_client("node", "logout.mjs", &[
            ("ISSUER", app.base.clone()),
            ("ADMIN_TOKEN", root),
            ("APP_ID", app_id.to_string()),
            ("CLIENT_ID", client_id),
            ("CLIENT_SECRET", secret.expect("a web app has a secret")),
            ("REDIRECT_URI", redirect),
            ("EMAIL", format!("logout.{backend:?}@example.com").to_lowercase()),
            ("PASSWORD", PASSWORD.into()),
        ]).await;
    }

    async fn a_logout_ends_only_the_browsers_own_session_whatever_hint_it_sends(backend: Backend) {
        let (app, r, cb, client_id) = shop_with_back_channel(backend).await;
        let victim = Browser::new(&app);
        let redirect = sign_up(&victim, &authorize_url(&client_id, &cb, &[]), "victim@example.com", &cb).await;
        let tokens = code_tokens(&app, &client_id, &cb, &redirect).await;
        let hint = tokens["id_token"].as_str().unwrap();

        // Another browser (no session, or its own) sends the victim's ID token as the hint.
        let attacker = Browser::new(&app);
        signed_up(&app, &attacker, &client_id, &cb, "attacker@example.com").await;
        let out = attacker.get(&format!("/oauth2/v1/logout?id_token_hint={hint}&post_logout_redirect_uri={}", urlencode(&cb))).await;
        assert_eq!(out.status, 302, "{}", out.html);
        let claims = r.wait_for(1, 10).await;
        assert_ne!(claims[0]["sub"], jwt_part(hint, 1)["sub"], "only the attacker's own session ended");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(r.count(), 1);
        let page = victim.get(&authorize_url(&client_id, &cb, &[("prompt", "none")])).await;
        assert!(query_param(page.location.as_deref().unwrap(), "code").is_some(), "the victim is still signed in");
    }

    async fn admin_actions_and_expiry_end_sessions_and_tell_the_apps(backend: Backend) {
        let (app, r, cb, client_id) = shop_with_back_channel(backend).await;
        let root = app.admin_token("root").await;

        // An admin ends the browser session through the S2S API.
        let browser = Browser::new(&app);
        let first = signed_up(&app, &browser, &client_id, &cb, "ended@example.com").await;
        let sub = first["sub"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/users/{sub}/active-sessions");
        let (_, listed) = call(&app, "GET", &path, &root, None).await;
        let session = listed["browserSessions"][0]["sessionId"].as_str().unwrap().to_owned();
        let (status, _) = call(&app, "DELETE", &format!("{path}/{session}"), &root, None).await;
        assert_eq!(status, 204);
        let claims = r.wait_for(1, 10).await;
        assert_eq!((&claims[0]["sub"], &claims[0]["sid"]), (&first["sub"], &first["sid"]));

        // Disabling the user signs them out everywhere: the app hears of the new session.
        let browser = Browser::new(&app);
        let page = sign_in(&browser, &authorize_url(&client_id, &cb, &[]), "ended@example.com", PASSWORD, &cb).await;
        let redirect = finish_consent(&browser, page, &cb).await;
        let second = id_token_claims(&app, &client_id, &cb, &redirect).await;
        assert_ne!(second["sid"], first["sid"]);
        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{sub}"), &root, Some(json!({ "isActive": false }))).await;
        assert_eq!(status, 200, "{body}");
        let claims = r.wait_for(2, 10).await;
        assert_eq!(claims[1]["sid"], second["sid"]);

        // A session that runs out idle is ended by the sender, and its app is told.
        let short = spawn(backend, |c| c.server_session_expires_in = 2).await;
        let r2 = Receiver::start(&[]).await;
        let cb2 = r2.url("/cb");
        let (id2, client2, _) = create_app(&short, "Short", "spa", &[&cb2]).await;
        let (status, body) = set_channels(&short, id2, json!({ "backchannelLogoutUri": r2.url("/bc") })).await;
        assert_eq!(status, 200, "{body}");
        let browser = Browser::new(&short);
        let signed = signed_up(&short, &browser, &client2, &cb2, "idle@example.com").await;
        let claims = r2.wait_for(1, 10).await;
        assert_eq!(claims[0]["sid"], signed["sid"]);
        let page = browser.get(&authorize_url(&client2, &cb2, &[("prompt", "none")])).await;
        assert_eq!(query_param(page.location.as_deref().unwrap(), "error").as_deref(), Some("login_required"));
    }

    async fn a_failing_app_hears_again_and_a_refusing_one_does_not(backend: Backend) {
        let app = spawn(backend, |_| {}).await;
        let failing = Receiver::start(&[503]).await;
        let refusing = Receiver::start(&[400]).await;
        let cb = failing.url("/cb");
        let (a_id, a, _) = create_app(&app, "Flaky", "spa", &[&cb]).await;
        let (b_id, b, _) = create_app(&app, "Strict", "spa", &[&cb]).await;
        set_channels(&app, a_id, json!({ "backchannelLogoutUri": failing.url("/bc") })).await;
        set_channels(&app, b_id, json!({ "backchannelLogoutUri": refusing.url("/bc") })).await;
        let browser = Browser::new(&app);
        signed_up(&app, &browser, &a, &cb, "retry@example.com").await;
        signed_on(&app, &browser, &b, &cb).await;
        browser.get(&format!("/oauth2/v1/logout?client_id={a}")).await;

        // The first attempt answers 503; the next one, ten seconds later, is taken.
        let claims = failing.wait_for(2, 20).await;
        assert_eq!(claims[0]["sid"], claims[1]["sid"]);
        assert_ne!(claims[0]["jti"], claims[1]["jti"], "each attempt is a fresh token");
        assert_eq!(refusing.count(), 1, "a 400 settles the notice: it is not sent again");
    }

    async fn logout_uris_are_checked_like_redirect_uris(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.client_registration = "open".into()).await;
        let (id, _, _) = create_app(&app, "Web", "web", &["https://app.example/cb"]).await;
        for (field, bad) in [
            ("backchannelLogoutUri", "https://127.0.0.1/bc"),
            ("backchannelLogoutUri", "https://169.254.169.254/latest/meta-data"),
            ("backchannelLogoutUri", "https://[::1]/bc"),
            ("backchannelLogoutUri", "http://app.example/bc"),
            ("backchannelLogoutUri", "https://app.example/bc#fragment"),
            ("backchannelLogoutUri", "javascript:alert(1)"),
            ("backchannelLogoutUri", "https://user:pw@app.example/bc"),
            ("frontchannelLogoutUri", "https://evil.example/fc"),
            ("frontchannelLogoutUri", "https://app.example:8443/fc"),
            ("frontchannelLogoutUri", "https://app.example/fc\"><script>"),
        ] {
            let (status, body) = set_channels(&app, id, json!({ field: bad })).await;
            assert_eq!(status, 400, "{field} {bad}: {body}");
            assert!(body["error_description"].as_str().unwrap().contains(field), "{body}");
        }
        let root = app.admin_token("root").await;
        let (_, unchanged) = call(&app, "GET", &format!("/api/v1/apps/{id}"), &root, None).await;
        assert!(unchanged["app"]["backchannelLogoutUri"].is_null() && unchanged["app"]["frontchannelLogoutUri"].is_null(), "{unchanged}");

        let (status, body) = set_channels(&app, id, json!({
            "backchannelLogoutUri": "https://app.example/bc", "frontchannelLogoutUri": "https://app.example/fc",
        })).await;
        assert_eq!(status, 200, "{body}");
        // Moving the redirect URIs away from the front channel's origin is refused.
        let (status, body) = set_channels(&app, id, json!({ "redirectUris": ["https://moved.example/cb"] })).await;
        assert_eq!(status, 400, "{body}");
        // An empty URI removes the channel.
        let (status, body) = set_channels(&app, id, json!({ "frontchannelLogoutUri": "" })).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["app"]["frontchannelLogoutUri"].is_null(), "{body}");

        let s2s = crate::harness::s2s_app(&app, &root, &["read_user"]).await;
        let (status, body) = set_channels(&app, s2s.id, json!({ "backchannelLogoutUri": "https://api.example/bc" })).await;
        assert_eq!(status, 400, "an S2S app signs no one in: {body}");

        // Self-registration follows the same rules (RFC 7591 names).
        let register = |metadata: Value| {
            let app = &app;
            async move {
                let answer = app.client.post(app.url("/oauth2/v1/register")).json(&metadata).send().await.unwrap();
                (answer.status().as_u16(), answer.json::<Value>().await.unwrap())
            }
        };
        let (status, body) = register(json!({
            "redirect_uris": ["https://rp.example/cb"], "backchannel_logout_uri": "https://10.0.0.1/bc",
        })).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client_metadata")), "{body}");
        let (status, body) = register(json!({
            "redirect_uris": ["https://rp.example/cb"], "backchannel_logout_uri": "https://rp.example/bc",
            "backchannel_logout_session_required": true, "frontchannel_logout_uri": "https://rp.example/fc",
        })).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["backchannel_logout_uri"], "https://rp.example/bc");
        assert_eq!(body["backchannel_logout_session_required"], true);
        assert_eq!(body["frontchannel_logout_uri"], "https://rp.example/fc");

        let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
        for flag in ["backchannel_logout_supported", "backchannel_logout_session_supported", "frontchannel_logout_supported", "frontchannel_logout_session_supported"] {
            assert_eq!(discovery[flag], true, "{flag}");
        }
        let without_sso = TestApp::spawn_with(backend, |c| c.server_session_expires_in = 0).await;
        let discovery: Value = without_sso.get_json("/.well-known/openid-configuration").await;
        assert_eq!(discovery["backchannel_logout_supported"], true);
        assert_eq!(discovery["frontchannel_logout_supported"], false, "no sessions, no front channel");
    }
}
