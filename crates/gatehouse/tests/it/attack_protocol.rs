//! Attacks on the protocol edges, through the real HTTP interface: account enumeration through
//! sign-in answers and lockouts, locking a victim out from one IP, a code exchanged without the
//! redirect URI it was sent to, a body `client_id` that contradicts HTTP Basic, `Origin: null`
//! form posts, cookies without the `__Host-` prefix on https, and an open `/metrics`.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::admin::{panel_browser, set_up_admin, ADMIN_EMAIL};
use crate::flow::*;
use crate::harness::{backend_tests, basic, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";
const ORIGIN: &str = "http://127.0.0.1:5173";
const VICTIM: &str = "victim@example.com";
/// As long as [`VICTIM`], so the pages' bodies can be compared byte for byte.
const NOBODY: &str = "nobody@example.com";
const WRONG: &str = "Wrong-passw0rd!x";
const ATTACKER_IP: &str = "203.0.113.7";
const VICTIM_IP: &str = "198.51.100.9";

/// A server behind a trusted proxy (the loopback peer), so `X-Forwarded-For` names the client.
async fn spawn_behind_proxy(backend: crate::harness::Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.account_lockout_threshold = 3;
        c.trusted_proxies = vec![std::net::Ipv4Addr::LOCALHOST.into()];
        c.embedded_auth_origins = vec![ORIGIN.into()];
        c.simple_oauth_enabled = true;
    })
    .await
}

/// A browser whose requests come through the proxy from `ip`.
fn browser_from(app: &TestApp, ip: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(ip).unwrap());
    Browser::with_headers(app, headers)
}

/// Posts the sign-in form of a fresh sign-in page; returns the status and the page with the
/// email and the transaction id blanked out.
async fn sign_in_page_answer(
    browser: &Browser,
    client_id: &str,
    email: &str,
    password: &str,
) -> (u16, String) {
    let page = browser
        .follow(browser.get(&authorize_url(client_id, CB, &[])).await, CB)
        .await;
    let tx = input_value(&page.html, "tx").expect("a sign-in page");
    let fields = form_fields(&page.html, &[("email", email), ("password", password)]);
    let answer = browser.post("/identity/v1/view/authorize", &fields).await;
    (
        answer.status,
        answer.html.replace(email, "EMAIL").replace(&tx, "TX"),
    )
}

/// Starts an embedded session from `ip`; returns its id.
async fn embedded_session(app: &TestApp, client_id: &str, ip: &str) -> String {
    let (s, body) = embedded_post(
        app,
        "/embedded-auth/v1/initiate",
        ip,
        json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "en",
        }),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["sessionId"].as_str().unwrap().to_owned()
}

/// An embedded API call from `ip`; returns the status and the raw body.
async fn embedded_post(app: &TestApp, path: &str, ip: &str, body: Value) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("Origin", ORIGIN)
        .header("X-Forwarded-For", ip)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn embedded_sign_in(
    app: &TestApp,
    client_id: &str,
    ip: &str,
    email: &str,
    password: &str,
) -> (u16, String) {
    let session = embedded_session(app, client_id, ip).await;
    embedded_post(
        app,
        &format!("/embedded-auth/v1/{session}/sign-in"),
        ip,
        json!({"email": email, "password": password}),
    )
    .await
}

/// `/token/get` from `ip`; returns the body.
async fn simple_token(app: &TestApp, ip: &str, id: &str, password: &str) -> Value {
    let r = app
        .client
        .post(app.url("/token/get"))
        .header("X-Forwarded-For", ip)
        .form(&[("id", id), ("password", password)])
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

/// A signed-up user with [`PASSWORD`]; returns the user's numeric id.
async fn sign_up_victim(app: &TestApp, client_id: &str) -> i64 {
    sign_up(
        &Browser::new(app),
        &authorize_url(client_id, CB, &[]),
        VICTIM,
        CB,
    )
    .await;
    user_by_email(app, VICTIM).await["id"].as_i64().unwrap()
}

/// A code for `client_id` at `redirect_uri`, from a browser already signed in.
async fn fresh_code(browser: &Browser, client_id: &str, redirect_uri: &str) -> String {
    let page = browser
        .get(&authorize_url(client_id, redirect_uri, &[]))
        .await;
    let redirect = finish_consent(browser, page, redirect_uri).await;
    query_param(&redirect, "code").unwrap_or_else(|| panic!("no code: {redirect}"))
}

/// The `Set-Cookie` headers of a response, as `name → attributes` (attributes lower-cased).
fn set_cookies(response: &reqwest::Response) -> BTreeMap<String, (String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            (
                name.to_owned(),
                (value.to_owned(), attributes.to_ascii_lowercase()),
            )
        })
        .collect()
}

/// Checks a cookie can only be a host cookie of a secure origin.
fn assert_host_cookie(name: &str, attributes: &str) {
    assert!(name.starts_with("__Host-"), "{name} has no __Host- prefix");
    let attributes: Vec<&str> = attributes.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"secure"), "{name}: {attributes:?}");
    assert!(attributes.contains(&"path=/"), "{name}: {attributes:?}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain=")),
        "{name}: {attributes:?}"
    );
}

/// A browser at an https issuer served over plain HTTP (a TLS proxy in front): it keeps the
/// cookies by hand, as a browser does for the https origin, and checks each is a host cookie.
struct HttpsBrowser {
    http: reqwest::Client,
    base: String,
    https_base: String,
    jar: std::sync::Mutex<BTreeMap<String, String>>,
}

impl HttpsBrowser {
    fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            https_base: app.base.replace("http://", "https://"),
            jar: Default::default(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.jar.lock().unwrap().contains_key(name)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches(&self.https_base))
    }

    fn keep(&self, response: &reqwest::Response) {
        for (name, (value, attributes)) in set_cookies(response) {
            assert_host_cookie(&name, &attributes);
            self.jar.lock().unwrap().insert(name, value);
        }
    }

    fn cookies(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let r = self
            .http
            .get(self.url(path))
            .header("Cookie", self.cookies())
            .send()
            .await
            .unwrap();
        self.keep(&r);
        r
    }

    /// GETs `path` and follows redirects on this server; returns the final page.
    async fn follow(&self, path: &str) -> String {
        let mut r = self.get(path).await;
        while let Some(next) = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
        {
            assert!(
                next.starts_with('/') || next.starts_with(&self.https_base),
                "{next}"
            );
            r = self.get(&next).await;
        }
        r.text().await.unwrap()
    }

    /// POSTs a form and follows the redirects on this server; returns the final page.
    async fn post(&self, path: &str, form: &[(String, String)]) -> String {
        let r = self
            .http
            .post(self.url(path))
            .header("Cookie", self.cookies())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&r);
        match r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
        {
            Some(next) if next.starts_with('/') || next.starts_with(&self.https_base) => {
                self.follow(&next).await
            }
            _ => r.text().await.unwrap(),
        }
    }
}

backend_tests! {
    async fn cookies_take_the_host_prefix_on_an_https_issuer_and_are_read_back(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.issuer = c.issuer.replace("http://", "https://")).await;
        let (_, client_id, _) = create_app(&app, "Spa", "spa", &[CB]).await;
        let browser = HttpsBrowser::new(&app);
        let page = browser.follow(&authorize_url(&client_id, CB, &[])).await;
        assert!(browser.has("__Host-gh_csrf"));
        let tx = input_value(&page, "tx").expect("the sign-in page");
        let sign_up = browser.follow(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        let fields = form_fields(&sign_up, &[("email", VICTIM), ("password", PASSWORD), ("first_name", "Ada")]);
        // The unprefixed name is not the CSRF cookie on https: the post is refused.
        let plain = format!("gh_csrf={}", browser.jar.lock().unwrap()["__Host-gh_csrf"]);
        let refused = browser.http.post(app.url("/identity/v1/view/sign-up")).header("Cookie", plain).form(&fields).send().await.unwrap();
        assert_eq!(refused.status(), 403);
        let consent = browser.post("/identity/v1/view/sign-up", &fields).await;
        assert!(consent.contains("consent-form"), "{consent}");
        browser.post("/identity/v1/view/consent", &form_fields(&consent, &[("decision", "accept")])).await;
        assert!(browser.has("__Host-gh_session"));
        // The session cookie is read back: a silent authorize answers with a code.
        let silent = browser.get(&authorize_url(&client_id, CB, &[("prompt", "none")])).await;
        let location = silent.headers()["location"].to_str().unwrap().to_owned();
        assert!(query_param(&location, "code").is_some(), "{location}");

        // The admin panel's cookies too.
        for path in ["/admin/sign-in", "/admin/locale/fr"] {
            browser.get(path).await;
        }
        assert!(browser.has("__Host-gh_admin_login") && browser.has("__Host-gh_admin_locale"));
    }

    async fn origin_null_form_posts_are_refused_and_pages_send_their_origin(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (_, client_id, _) = create_app(&app, "Spa", "spa", &[CB]).await;

        // The sign-in page: a post from a sandboxed frame or a data: URL (Origin: null) is refused.
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        // A policy under which the browser names the pages' own origin on their form posts.
        let mut shown = browser.http.get(app.url(&authorize_url(&client_id, CB, &[]))).send().await.unwrap();
        while let Some(next) = shown.headers().get("location").map(|l| l.to_str().unwrap().to_owned()) {
            shown = browser.http.get(if next.starts_with('/') { app.url(&next) } else { next }).send().await.unwrap();
        }
        assert_eq!(shown.headers()["referrer-policy"], "same-origin");
        assert!(!page.html.contains("no-referrer"), "{}", page.html);
        let fields = form_fields(&page.html, &[("email", ADMIN_EMAIL), ("password", PASSWORD)]);
        let null = browser.http.post(app.url("/identity/v1/view/authorize")).header("Origin", "null").form(&fields).send().await.unwrap();
        assert_eq!(null.status(), 403);
        let same = browser.http.post(app.url("/identity/v1/view/authorize")).header("Origin", app.base.as_str()).form(&fields).send().await.unwrap();
        assert!(same.status().is_redirection(), "{}", same.text().await.unwrap());

        // The admin panel's forms.
        let (panel, dashboard) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        assert!(!dashboard.html.contains("no-referrer"), "{}", dashboard.html);
        let users = panel.get("/admin/users").await;
        let token = input_value(&users.html, "csrf_token").unwrap();
        let before = app.isolation.table_counts().await;
        let new_user = [("csrf_token", token.as_str()), ("email", "made@example.com"), ("password", PASSWORD)];
        let null = panel.http.post(app.url("/admin/users")).header("Origin", "null").form(&new_user).send().await.unwrap();
        assert_eq!(null.status(), 403);
        assert_eq!(app.isolation.table_counts().await, before);
        let same = panel.http.post(app.url("/admin/users")).header("Origin", app.base.as_str()).form(&new_user).send().await.unwrap();
        assert_eq!(same.status(), 303);
    }

    async fn metrics_can_need_a_bearer_token_or_live_on_their_own_address(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.metrics_token = gatehouse_server::config::Secret::new("metrics-token-0123456789")).await;
        let metrics = |auth: Option<&'static str>| {
            let mut request = app.client.get(app.url("/metrics"));
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            async move { request.send().await.unwrap() }
        };
        for auth in [None, Some("Bearer wrong"), Some("Bearer metrics-token-012345678"), Some("Basic bWV0cmljczp4")] {
            let r = metrics(auth).await;
            assert_eq!(r.status(), 401, "{auth:?}");
            assert!(r.headers().contains_key("www-authenticate"));
            assert!(!r.text().await.unwrap().contains("gatehouse_"));
        }
        let r = metrics(Some("Bearer metrics-token-0123456789")).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("gatehouse_http_requests_total"));

        // On its own address: gone from the public listener.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = probe.local_addr().unwrap().to_string();
        drop(probe);
        let listen = address.clone();
        let app = TestApp::spawn_with(backend, move |c| c.metrics_listen = listen).await;
        assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 404);
        let r = app.client.get(format!("http://{address}/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("gatehouse_"));
    }

    async fn unknown_emails_and_wrong_passwords_answer_and_lock_alike_on_every_surface(backend: Backend) {
        let app = spawn_behind_proxy(backend).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let id = sign_up_victim(&app, &client_id).await;

        // The pages: the same status and the same bytes for a wrong password and an unknown email.
        let attacker = browser_from(&app, ATTACKER_IP);
        let wrong = sign_in_page_answer(&attacker, &client_id, VICTIM, WRONG).await;
        let unknown = sign_in_page_answer(&attacker, &client_id, NOBODY, WRONG).await;
        assert_eq!(wrong.0, 404);
        assert_eq!(wrong, unknown);
        // Two more failures each reach the threshold of 3: both are locked now, and say so alike,
        // even with the right password.
        for _ in 0..2 {
            sign_in_page_answer(&attacker, &client_id, VICTIM, WRONG).await;
            sign_in_page_answer(&attacker, &client_id, NOBODY, WRONG).await;
        }
        let locked = sign_in_page_answer(&attacker, &client_id, VICTIM, PASSWORD).await;
        let locked_unknown = sign_in_page_answer(&attacker, &client_id, NOBODY, PASSWORD).await;
        assert_eq!(locked.0, 400, "{}", locked.1);
        assert!(locked.1.contains("Account temporarily locked"), "{}", locked.1);
        assert_eq!(locked, locked_unknown);
        // The attacker's IP is locked out, not the victim: from another IP the right password works.
        let victim = browser_from(&app, VICTIM_IP);
        let ok = sign_in(&victim, &authorize_url(&client_id, CB, &[]), VICTIM, PASSWORD, CB).await;
        assert!(ok.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{} {}", ok.status, ok.html);

        // The embedded API, from a third IP: alike, then locked alike.
        let ip = "192.0.2.33";
        let wrong = embedded_sign_in(&app, &client_id, ip, VICTIM, WRONG).await;
        let unknown = embedded_sign_in(&app, &client_id, ip, NOBODY, WRONG).await;
        assert_eq!(wrong.0, 404, "{}", wrong.1);
        assert_eq!(wrong, unknown);
        for _ in 0..2 {
            embedded_sign_in(&app, &client_id, ip, VICTIM, WRONG).await;
            embedded_sign_in(&app, &client_id, ip, NOBODY, WRONG).await;
        }
        let locked = embedded_sign_in(&app, &client_id, ip, VICTIM, PASSWORD).await;
        assert_eq!(locked.0, 400, "{}", locked.1);
        assert_eq!(locked, embedded_sign_in(&app, &client_id, ip, NOBODY, PASSWORD).await);
        let (s, body) = embedded_sign_in(&app, &client_id, "192.0.2.34", VICTIM, PASSWORD).await;
        assert_eq!(s, 200, "another IP signs in: {body}");

        // Simple-OAuth `/token/get`: an unknown id locks after as many failures as a real one.
        let ip = "192.0.2.50";
        let id = id.to_string();
        assert_eq!(simple_token(&app, ip, &id, WRONG).await, json!({"status": 301, "errmsg": "PFALSE"}));
        assert_eq!(simple_token(&app, ip, "999999", WRONG).await, json!({"status": 301, "errmsg": "PFALSE"}));
        for _ in 0..2 {
            simple_token(&app, ip, &id, WRONG).await;
            simple_token(&app, ip, "999999", WRONG).await;
        }
        let locked = simple_token(&app, ip, &id, PASSWORD).await;
        assert_eq!(locked["status"], 401, "{locked}");
        assert_eq!(locked, simple_token(&app, ip, "999999", PASSWORD).await);
        assert_eq!(simple_token(&app, "192.0.2.51", &id, PASSWORD).await["status"], 200);
    }

    async fn a_code_is_exchanged_only_with_its_redirect_uri_and_one_client_identity(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, spa, _) = create_app(&app, "Spa", "spa", &[CB]).await;
        let (_, web, secret) = create_app(&app, "Web", "web", &[CB]).await;
        let secret = secret.unwrap();
        let browser = Browser::new(&app);
        sign_up(&browser, &authorize_url(&spa, CB, &[]), VICTIM, CB).await;

        // RFC 6749 §4.1.3: the authorization request had a redirect_uri, so the exchange needs it.
        let code = fresh_code(&browser, &spa, CB).await;
        let (s, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER)]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        let code = fresh_code(&browser, &spa, CB).await;
        let (s, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", "")]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        let code = fresh_code(&browser, &spa, CB).await;
        let (s, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", CB)]).await;
        assert_eq!(s, 200, "{body}");

        // RFC 6749 §2.3.1: a body client_id naming another client than HTTP Basic is refused.
        let token = |form: Vec<(&'static str, String)>| {
            let app = &app;
            let (web, secret) = (web.clone(), secret.clone());
            async move {
                let r = app.client.post(app.url("/oauth2/v1/token")).header("Authorization", basic(&web, &secret)).form(&form).send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            }
        };
        let code = fresh_code(&browser, &web, CB).await;
        let form = |code: &str, client_id: &str| vec![
            ("grant_type", "authorization_code".to_owned()), ("code", code.to_owned()), ("code_verifier", VERIFIER.to_owned()),
            ("redirect_uri", CB.to_owned()), ("client_id", client_id.to_owned()),
        ];
        let (s, body) = token(form(&code, &spa)).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        let (s, body) = token(vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", "x".to_owned()), ("client_id", spa.clone())]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        let (s, body) = token(vec![("grant_type", "client_credentials".to_owned()), ("client_id", spa.clone())]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        // The same client in both places is fine.
        let code = fresh_code(&browser, &web, CB).await;
        let (s, body) = token(form(&code, &web)).await;
        assert_eq!(s, 200, "{body}");
    }
}
