//! Sign-in through a configured OpenID Connect provider, against a small local provider that
//! serves discovery, JWKS and a token endpoint and signs its ID tokens with keys the test makes.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use gatehouse_core::jwt::{compact, signing_input, JwtHeader};
use gatehouse_server::config::{Config, OidcProviderConfig, Secret};
use gatehouse_server::crypto::{Algorithm, SigningKey};
use serde_json::{json, Value};

use crate::flow::{
    authorize_url, challenge, create_app, error_text, exchange, finish_consent, hidden_fields,
    press_form, query_param, Browser, Page, VERIFIER,
};
use crate::harness::{backend_tests, basic, call, TestApp};

pub(crate) const PROVIDER: &str = "acme";
const CLIENT_ID: &str = "gatehouse-at-acme";
const CLIENT_SECRET: &str = "acme-client-secret";
pub(crate) const APP_CB: &str = "http://127.0.0.1:9/federation/cb";

/// One token request: its `Authorization` header and its form.
type TokenRequest = (Option<String>, Vec<(String, String)>);

/// What the local provider answers and what it was sent.
#[derive(Default)]
struct ProviderState {
    issuer: String,
    jwks: Value,
    next_id_token: Option<String>,
    token_requests: Vec<TokenRequest>,
}

type Shared = Arc<Mutex<ProviderState>>;

/// A running local OpenID Connect provider.
pub(crate) struct LocalProvider {
    pub(crate) base: String,
    state: Shared,
    pub(crate) keys: Vec<SigningKey>,
}

impl LocalProvider {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let keys: Vec<SigningKey> = [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa]
            .into_iter()
            .map(|a| SigningKey::generate(a).unwrap().0)
            .collect();
        let state = Arc::new(Mutex::new(ProviderState {
            issuer: base.clone(),
            jwks: json!({ "keys": keys.iter().map(|k| k.jwk().clone()).collect::<Vec<_>>() }),
            ..ProviderState::default()
        }));
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base, state, keys }
    }

    pub(crate) fn config(&self) -> OidcProviderConfig {
        OidcProviderConfig {
            name: PROVIDER.into(),
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
            discovery_url: format!("{}/.well-known/openid-configuration", self.base),
            button_text: "Continue with Acme".into(),
            ..OidcProviderConfig::default()
        }
    }

    pub(crate) fn configure(&self, config: &mut Config) {
        config.oidc_auth_providers = vec![self.config()];
    }

    /// Signs `claims` with `key` (the header names `kid`).
    pub(crate) fn sign(key: &SigningKey, kid: &str, claims: &Value) -> String {
        let header = JwtHeader {
            alg: key.algorithm().as_str().into(),
            typ: Some("JWT".into()),
            kid: Some(kid.into()),
        };
        let input = signing_input(&header, claims);
        let signature = key.sign(input.as_bytes());
        compact(input, &signature)
    }

    pub(crate) fn answer_with(&self, id_token: String) {
        self.state.lock().unwrap().next_id_token = Some(id_token);
    }

    pub(crate) fn claims(&self, sub: &str, nonce: &str) -> Value {
        let now = chrono_now();
        json!({
            "iss": self.base, "sub": sub, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "nonce": nonce, "email": format!("{sub}@acme.example"), "email_verified": true,
            "given_name": "Grace", "family_name": "Hopper",
        })
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn discovery(State(state): State<Shared>) -> Json<Value> {
    let issuer = state.lock().unwrap().issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
    }))
}

async fn jwks(State(state): State<Shared>) -> Json<Value> {
    Json(state.lock().unwrap().jwks.clone())
}

async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Json<Value> {
    let mut state = state.lock().unwrap();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    state.token_requests.push((auth, form));
    Json(json!({
        "access_token": "upstream-access", "token_type": "Bearer", "expires_in": 300,
        "id_token": state.next_id_token.clone(),
    }))
}

/// The sign-in page of a fresh authorization request, in a fresh browser.
pub(crate) async fn sign_in_page(app: &TestApp, client_id: &str) -> (Browser, Page) {
    let browser = Browser::new(app);
    let page = browser
        .follow(
            browser.get(&authorize_url(client_id, APP_CB, &[])).await,
            APP_CB,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    (browser, page)
}

/// Presses the provider's button; returns the provider's authorization URL.
pub(crate) async fn press_button(browser: &Browser, page: &Page) -> String {
    let form = format!("oidc-{PROVIDER}-form");
    let path = format!("/identity/v1/view/authorize-oidc/{PROVIDER}");
    press_form(browser, page, &form, &path).await
}

pub(crate) fn callback(state: &str) -> String {
    format!("/identity/v1/authorize-oidc/{PROVIDER}?code=upstream-code&state={state}")
}

pub(crate) async fn social_users(app: &TestApp) -> Vec<Value> {
    let token = app.admin_token("root").await;
    let (status, body) = call(app, "GET", "/api/v1/users", &token, None).await;
    assert_eq!(status, 200, "{body}");
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| !u["socialAccountType"].is_null())
        .cloned()
        .collect()
}

/// An app with Sign in with Apple pointed at `provider`.
async fn apple_app(backend: crate::harness::Backend, provider: &LocalProvider) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.apple_auth_client_id = CLIENT_ID.into();
        c.apple_auth_client_secret = Secret::new("apple-client-secret-jwt");
        c.apple_auth_url = provider.base.clone();
    })
    .await
}

backend_tests! {
    async fn a_provider_sign_in_creates_the_user_then_finds_it_again(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, |c| provider.configure(c)).await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;

        let (browser, page) = sign_in_page(&app, &client_id).await;
        assert!(page.html.contains("Continue with Acme"), "no provider button: {}", page.html);
        let upstream = press_button(&browser, &page).await;
        assert!(upstream.starts_with(&format!("{}/authorize?", provider.base)), "{upstream}");
        let state = query_param(&upstream, "state").unwrap();
        let nonce = query_param(&upstream, "nonce").unwrap();
        assert_eq!(query_param(&upstream, "client_id").unwrap(), CLIENT_ID);
        assert_eq!(query_param(&upstream, "scope").unwrap(), "openid profile email");
        assert_eq!(query_param(&upstream, "code_challenge_method").unwrap(), "S256");
        let redirect_uri = app.url(&format!("/identity/v1/authorize-oidc/{PROVIDER}"));
        assert_eq!(query_param(&upstream, "redirect_uri").unwrap(), redirect_uri);

        provider.answer_with(LocalProvider::sign(&provider.keys[0], provider.keys[0].kid(), &provider.claims("grace", &nonce)));
        let back = browser.get(&callback(&state)).await;
        assert_eq!(back.status, 303, "{}", back.html);
        assert!(back.location.as_deref().unwrap().contains("/identity/v1/view/consent"), "{:?}", back.location);

        // The provider was sent the code with our credentials and the PKCE verifier.
        let (auth, form) = provider.state.lock().unwrap().token_requests[0].clone();
        assert_eq!(auth.as_deref(), Some(basic(CLIENT_ID, CLIENT_SECRET).as_str()));
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(field("code"), "upstream-code");
        assert_eq!(field("redirect_uri"), redirect_uri);
        assert_eq!(challenge(&field("code_verifier")), query_param(&upstream, "code_challenge").unwrap());

        let done = finish_consent(&browser, back, APP_CB).await;
        let code = query_param(&done, "code").unwrap();
        let (status, tokens) = exchange(&app, &[
            ("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", APP_CB),
            ("code_verifier", VERIFIER), ("client_id", &client_id),
        ]).await;
        assert_eq!(status, 200, "{tokens}");
        let users = social_users(&app).await;
        assert_eq!(users.len(), 1, "{users:?}");
        assert_eq!(users[0]["socialAccountType"], PROVIDER);
        assert_eq!(users[0]["socialAccountId"], "grace");
        assert_eq!(users[0]["email"], "grace@acme.example");
        assert_eq!(users[0]["emailVerified"], true);
        assert_eq!(users[0]["firstName"], "Grace");
        assert_eq!(crate::harness::jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sub"], users[0]["authId"]);

        // The same state a second time is refused, and makes nothing.
        let replay = browser.get(&callback(&state)).await;
        assert_eq!(replay.status, 404, "{}", replay.html);

        // A second sign-in finds the same user; consent was given, so straight back to the app.
        let (browser, page) = sign_in_page(&app, &client_id).await;
        let upstream = press_button(&browser, &page).await;
        let nonce = query_param(&upstream, "nonce").unwrap();
        provider.answer_with(LocalProvider::sign(&provider.keys[1], provider.keys[1].kid(), &provider.claims("grace", &nonce)));
        let back = browser.get(&callback(&query_param(&upstream, "state").unwrap())).await;
        assert!(back.location.as_deref().unwrap().starts_with(APP_CB), "{:?} {}", back.location, back.html);
        assert_eq!(social_users(&app).await.len(), 1);

        // The `oidc_sso_<name>` policy skips the sign-in page; other names are refused.
        let browser = Browser::new(&app);
        let direct = browser.get(&authorize_url(&client_id, APP_CB, &[("policy", "oidc_sso_acme")])).await;
        let upstream = direct.location.clone().unwrap_or_default();
        assert!(direct.status == 303 && upstream.starts_with(&format!("{}/authorize?", provider.base)), "{} {upstream}", direct.status);
        let nonce = query_param(&upstream, "nonce").unwrap();
        provider.answer_with(LocalProvider::sign(&provider.keys[2], provider.keys[2].kid(), &provider.claims("grace", &nonce)));
        let back = browser.get(&callback(&query_param(&upstream, "state").unwrap())).await;
        assert!(back.location.as_deref().unwrap().starts_with(APP_CB), "{:?} {}", back.location, back.html);
        let refused = browser.get(&authorize_url(&client_id, APP_CB, &[("policy", "oidc_sso_other")])).await;
        let location = refused.location.unwrap_or_default();
        assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"), "{location}");
    }

    async fn forged_or_foreign_provider_answers_are_refused_and_change_nothing(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, |c| provider.configure(c)).await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        let stranger = SigningKey::generate(Algorithm::Rs256).unwrap().0;
        let before = app.isolation.table_counts().await;
        type Forge = Box<dyn Fn(&LocalProvider, &str) -> String>;
        let cases: Vec<(&str, Forge, &str)> = vec![
            ("wrong audience", Box::new(|p: &LocalProvider, nonce: &str| {
                let mut c = p.claims("mallory", nonce);
                c["aud"] = json!("another-client");
                LocalProvider::sign(&p.keys[0], p.keys[0].kid(), &c)
            }), "issued to another client"),
            ("wrong issuer", Box::new(|p: &LocalProvider, nonce: &str| {
                let mut c = p.claims("mallory", nonce);
                c["iss"] = json!("https://evil.example.com");
                LocalProvider::sign(&p.keys[0], p.keys[0].kid(), &c)
            }), "not by the configured issuer"),
            ("expired", Box::new(|p: &LocalProvider, nonce: &str| {
                let mut c = p.claims("mallory", nonce);
                c["exp"] = json!(chrono_now() - 3600);
                LocalProvider::sign(&p.keys[1], p.keys[1].kid(), &c)
            }), "has expired"),
            ("wrong key", Box::new(move |p: &LocalProvider, nonce: &str| {
                LocalProvider::sign(&stranger, p.keys[0].kid(), &p.claims("mallory", nonce))
            }), "signature does not verify"),
            ("unknown key", Box::new(|p: &LocalProvider, nonce: &str| {
                let other = SigningKey::generate(Algorithm::EdDsa).unwrap().0;
                LocalProvider::sign(&other, other.kid(), &p.claims("mallory", nonce))
            }), "does not publish"),
            ("another sign-in's nonce", Box::new(|p: &LocalProvider, _: &str| {
                LocalProvider::sign(&p.keys[2], p.keys[2].kid(), &p.claims("mallory", "some-other-nonce"))
            }), "nonce mismatch"),
            ("unsigned", Box::new(|p: &LocalProvider, nonce: &str| {
                let header = JwtHeader { alg: "none".into(), typ: None, kid: None };
                format!("{}.", signing_input(&header, &p.claims("mallory", nonce)))
            }), "only RS256, PS256, ES256 and EdDSA"),
        ];
        for (name, forge, words) in cases {
            let (browser, page) = sign_in_page(&app, &client_id).await;
            let upstream = press_button(&browser, &page).await;
            let nonce = query_param(&upstream, "nonce").unwrap();
            provider.answer_with(forge(&provider, &nonce));
            let back = browser.get(&callback(&query_param(&upstream, "state").unwrap())).await;
            assert_eq!(back.status, 400, "{name}: {}", back.html);
            let error = error_text(&back.html);
            assert!(error.starts_with(&format!("Sign-in with {PROVIDER} failed")) && error.contains(words), "{name}: {error}");
            // The sign-in page is shown again, still usable.
            assert!(back.html.contains("sign-in-form"), "{name}");
        }

        // A state this server never issued, one issued to another browser, and the provider's
        // own refusal.
        let (browser, _) = sign_in_page(&app, &client_id).await;
        assert_eq!(browser.get(&callback("made-up-state")).await.status, 404);
        let (owner, page) = sign_in_page(&app, &client_id).await;
        let upstream = press_button(&owner, &page).await;
        let stolen = browser.get(&callback(&query_param(&upstream, "state").unwrap())).await;
        assert_eq!(stolen.status, 404, "{}", stolen.html);
        let (browser, page) = sign_in_page(&app, &client_id).await;
        let upstream = press_button(&browser, &page).await;
        let denied = browser.get(&format!(
            "/identity/v1/authorize-oidc/{PROVIDER}?error=access_denied&state={}",
            query_param(&upstream, "state").unwrap()
        )).await;
        assert_eq!(denied.status, 400);
        assert!(error_text(&denied.html).contains("access_denied"), "{}", denied.html);
        let unknown = browser.post("/identity/v1/view/authorize-oidc/nope", &hidden_fields(&page.html, "sign-in-form", &[])).await;
        assert_eq!(unknown.status, 404);
        assert!(error_text(&unknown.html).contains("No sign-in provider is named `nope`"), "{}", unknown.html);

        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn google_code_flow_goes_through_googles_discovery_and_keys(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.google_auth_client_id = CLIENT_ID.into();
            c.google_auth_client_secret = Secret::new(CLIENT_SECRET);
            c.google_auth_url = provider.base.clone();
        })
        .await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        let (browser, page) = sign_in_page(&app, &client_id).await;
        assert!(page.html.contains("Sign in with Google"), "{}", page.html);
        let fields = hidden_fields(&page.html, "oidc-Google-form", &[]);
        let sent = browser.post("/identity/v1/view/authorize-oidc/Google", &fields).await;
        let upstream = sent.location.unwrap_or_default();
        assert!(upstream.starts_with(&format!("{}/authorize?", provider.base)), "{upstream}");
        let nonce = query_param(&upstream, "nonce").unwrap();
        let state = query_param(&upstream, "state").unwrap();
        // A token for another client first: refused, and the state is spent.
        let mut claims = provider.claims("g-123", &nonce);
        claims["aud"] = json!("someone-else.apps.googleusercontent.com");
        provider.answer_with(LocalProvider::sign(&provider.keys[0], provider.keys[0].kid(), &claims));
        let refused = browser.get(&format!("/identity/v1/authorize-oidc/Google?code=c&state={state}")).await;
        assert_eq!(refused.status, 400);
        assert!(error_text(&refused.html).starts_with("Sign-in with Google failed"), "{}", refused.html);

        let sent = browser.post("/identity/v1/view/authorize-oidc/Google", &fields).await;
        let upstream = sent.location.unwrap_or_default();
        let nonce = query_param(&upstream, "nonce").unwrap();
        provider.answer_with(LocalProvider::sign(&provider.keys[0], provider.keys[0].kid(), &provider.claims("g-123", &nonce)));
        let back = browser.get(&format!(
            "/identity/v1/authorize-oidc/Google?code=c&state={}",
            query_param(&upstream, "state").unwrap()
        )).await;
        finish_consent(&browser, back, APP_CB).await;
        let users = social_users(&app).await;
        assert_eq!(users.len(), 1, "{users:?}");
        assert_eq!(users[0]["socialAccountType"], "Google");
        assert_eq!(users[0]["socialAccountId"], "g-123");
    }

    async fn google_identity_credentials_must_answer_this_sign_in(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.google_auth_client_id = CLIENT_ID.into();
            c.google_auth_url = provider.base.clone();
        })
        .await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        let (browser, page) = sign_in_page(&app, &client_id).await;
        // Only the identity button: without a secret there is no code-flow button.
        assert!(page.html.contains("g_id_onload") && !page.html.contains("oidc-Google"), "{}", page.html);
        let tx = crate::flow::input_value(&page.html, "tx").unwrap();
        let csp = browser.http.get(app.url(&format!("/identity/v1/view/authorize?tx={tx}"))).send().await.unwrap()
            .headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'nonce-") && csp.contains("https://accounts.google.com/gsi/"), "{csp}");
        let page = browser.get(&format!("/identity/v1/view/authorize?tx={tx}")).await;
        let marker = "data-nonce=\"";
        let at = page.html.find(marker).unwrap() + marker.len();
        let nonce = page.html[at..at + page.html[at..].find('"').unwrap()].to_owned();
        let post = |credential: String| {
            let fields = hidden_fields(&page.html, "google-form", &[]);
            let mut fields: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k != "credential").collect();
            fields.push(("credential".into(), credential));
            let browser = &browser;
            async move { browser.post("/identity/v1/authorize-google", &fields).await }
        };
        let before = app.isolation.table_counts().await;
        let sign = |claims: &Value| LocalProvider::sign(&provider.keys[1], provider.keys[1].kid(), claims);
        let mut wrong_aud = provider.claims("gis-1", &nonce);
        wrong_aud["aud"] = json!("another.apps.googleusercontent.com");
        for (credential, words) in [
            (String::new(), "The Google credential is missing"),
            (sign(&provider.claims("gis-1", "another-sign-ins-nonce")), "nonce mismatch"),
            (sign(&wrong_aud), "issued to another client"),
        ] {
            let refused = post(credential).await;
            assert_eq!(refused.status, 400, "{}", refused.html);
            assert!(error_text(&refused.html).contains(words), "{words}: {}", refused.html);
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let credential = sign(&provider.claims("gis-1", &nonce));
        let accepted = post(credential.clone()).await;
        assert_eq!(accepted.status, 303, "{}", accepted.html);
        // The same credential again: this sign-in has its user already.
        assert_eq!(post(credential).await.status, 400);
        finish_consent(&browser, accepted, APP_CB).await;
        let users = social_users(&app).await;
        assert_eq!((users.len(), &users[0]["socialAccountType"], &users[0]["socialAccountId"]), (1, &json!("Google"), &json!("gis-1")));
    }

    async fn apple_answers_by_form_post_and_is_checked_like_any_provider(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = apple_app(backend, &provider).await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        let (browser, page) = sign_in_page(&app, &client_id).await;
        assert!(page.html.contains("Sign in with Apple"), "{}", page.html);
        let fields = hidden_fields(&page.html, "oidc-Apple-form", &[]);
        let start = |fields: Vec<(String, String)>| {
            let browser = &browser;
            async move { browser.post("/identity/v1/view/authorize-oidc/Apple", &fields).await.location.unwrap_or_default() }
        };
        let upstream = start(fields.clone()).await;
        assert!(upstream.starts_with(&format!("{}/authorize?", provider.base)), "{upstream}");
        assert_eq!(query_param(&upstream, "response_mode").as_deref(), Some("form_post"));
        assert_eq!(query_param(&upstream, "scope").as_deref(), Some("name email"));
        assert_eq!(query_param(&upstream, "redirect_uri").unwrap(), app.url("/identity/v1/authorize-apple"));

        // An expired token first.
        let nonce = query_param(&upstream, "nonce").unwrap();
        let mut claims = provider.claims("001234.apple", &nonce);
        claims["exp"] = json!(chrono_now() - 600);
        provider.answer_with(LocalProvider::sign(&provider.keys[1], provider.keys[1].kid(), &claims));
        let form = |state: String| vec![("code".to_owned(), "apple-code".to_owned()), ("state".to_owned(), state)];
        let posted = browser.post("/identity/v1/authorize-apple", &form(query_param(&upstream, "state").unwrap())).await;
        assert_eq!(posted.status, 303);
        let refused = browser.get(posted.location.as_deref().unwrap()).await;
        assert_eq!(refused.status, 400);
        assert!(error_text(&refused.html).contains("Sign-in with Apple failed: the ID token has expired"), "{}", refused.html);

        let upstream = start(fields).await;
        let nonce = query_param(&upstream, "nonce").unwrap();
        provider.answer_with(LocalProvider::sign(&provider.keys[1], provider.keys[1].kid(), &provider.claims("001234.apple", &nonce)));
        let posted = browser.post("/identity/v1/authorize-apple", &form(query_param(&upstream, "state").unwrap())).await;
        let back = browser.get(posted.location.as_deref().unwrap()).await;
        assert_eq!(back.status, 303, "{}", back.html);
        finish_consent(&browser, back, APP_CB).await;
        // Apple's token request carries the client secret in the form.
        let (auth, form) = provider.state.lock().unwrap().token_requests.last().cloned().unwrap();
        assert_eq!(auth, None);
        assert!(form.contains(&("client_secret".into(), "apple-client-secret-jwt".into())), "{form:?}");
        assert!(!form.iter().any(|(k, _)| k == "code_verifier"), "{form:?}");
        let users = social_users(&app).await;
        assert_eq!((users.len(), &users[0]["socialAccountType"]), (1, &json!("Apple")));
    }

    async fn apples_first_sign_in_names_the_user_and_a_malformed_user_field_is_ignored(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = apple_app(backend, &provider).await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        let long_last = "L".repeat(70);
        let named = format!(r#"{{"name":{{"firstName":"Grace","lastName":"{long_last}"}},"email":"someone-else@example.com"}}"#);
        for (sub, user) in [("001.named", named.as_str()), ("002.malformed", "{\"name\": {\"firstName\": ")] {
            let (browser, page) = sign_in_page(&app, &client_id).await;
            let fields = hidden_fields(&page.html, "oidc-Apple-form", &[]);
            let upstream = browser.post("/identity/v1/view/authorize-oidc/Apple", &fields).await.location.unwrap_or_default();
            let nonce = query_param(&upstream, "nonce").unwrap();
            // Apple's ID token carries no names; the email is the token's, not the `user` field's.
            let mut claims = provider.claims(sub, &nonce);
            claims.as_object_mut().unwrap().retain(|k, _| k != "given_name" && k != "family_name");
            provider.answer_with(LocalProvider::sign(&provider.keys[1], provider.keys[1].kid(), &claims));
            let form = vec![
                ("code".to_owned(), "apple-code".to_owned()),
                ("state".to_owned(), query_param(&upstream, "state").unwrap()),
                ("user".to_owned(), user.to_owned()),
            ];
            let posted = browser.post("/identity/v1/authorize-apple", &form).await;
            assert_eq!(posted.status, 303, "{sub}");
            let location = posted.location.unwrap();
            assert!(!location.contains("Grace") && !location.contains("user="), "the names stay out of the URL: {location}");
            let back = browser.get(&location).await;
            assert_eq!(back.status, 303, "{sub}: {}", back.html);
            finish_consent(&browser, back, APP_CB).await;
        }
        let users = social_users(&app).await;
        let user = |sub: &str| users.iter().find(|u| u["socialAccountId"] == sub).cloned().unwrap();
        let named = user("001.named");
        assert_eq!(named["firstName"], "Grace");
        assert_eq!(named["lastName"], "L".repeat(50));
        assert_eq!(named["email"], "001.named@acme.example");
        let malformed = user("002.malformed");
        assert_eq!((malformed["firstName"].as_str(), malformed["lastName"].as_str()), (Some(""), Some("")), "no names: {malformed}");
        assert_eq!(malformed["email"], "002.malformed@acme.example");
    }

    async fn the_oidc_configs_list_the_providers_public_facts_and_never_their_secret(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            provider.configure(c);
            let mut explicit = provider.config();
            explicit.name = "corp".into();
            explicit.discovery_url = String::new();
            explicit.issuer = "https://id.corp.example".into();
            explicit.authorization_endpoint = "https://id.corp.example/auth".into();
            explicit.token_endpoint = "https://id.corp.example/token".into();
            explicit.jwks_uri = "https://id.corp.example/keys".into();
            explicit.enable_sign_in_button = false;
            c.oidc_auth_providers.push(explicit);
            // Built-in providers are not Melody's `OIDC_AUTH_PROVIDERS`.
            c.apple_auth_client_id = "apple-id".into();
            c.apple_auth_client_secret = Secret::new("apple-client-secret-jwt");
            c.apple_auth_url = provider.base.clone();
        })
        .await;
        let response = reqwest::get(app.url("/identity/v1/authorize-oidc-configs")).await.unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(!text.contains(CLIENT_SECRET) && !text.contains("apple-client-secret-jwt"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body, json!({ "configs": [
            { "name": PROVIDER, "config": {
                "clientId": CLIENT_ID, "issuer": provider.base,
                "authorizeEndpoint": format!("{}/authorize", provider.base),
                "tokenEndpoint": format!("{}/token", provider.base),
                "jwksEndpoint": format!("{}/jwks", provider.base),
                "enableSignInButton": true, "enableSignInRedirect": true,
            }},
            { "name": "corp", "config": {
                "clientId": CLIENT_ID, "issuer": "https://id.corp.example",
                "authorizeEndpoint": "https://id.corp.example/auth",
                "tokenEndpoint": "https://id.corp.example/token",
                "jwksEndpoint": "https://id.corp.example/keys",
                "enableSignInButton": false, "enableSignInRedirect": true,
            }},
        ]}));

        // Without configured providers the route is off.
        let plain = TestApp::spawn(backend).await;
        let response = reqwest::get(plain.url("/identity/v1/authorize-oidc-configs")).await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error_description"], "OpenID Connect sign-in is not enabled on this server");
    }

    async fn the_oidc_configs_of_an_unreachable_provider_are_a_502(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            let provider = OidcProviderConfig {
                name: PROVIDER.into(),
                client_id: CLIENT_ID.into(),
                client_secret: Secret::new(CLIENT_SECRET),
                // Nothing listens on the discard port: the discovery document cannot be fetched.
                discovery_url: "http://127.0.0.1:9/.well-known/openid-configuration".into(),
                ..OidcProviderConfig::default()
            };
            c.oidc_auth_providers = vec![provider];
        })
        .await;
        let response = reqwest::get(app.url("/identity/v1/authorize-oidc-configs")).await.unwrap();
        // The provider's fault, not the request's: 502 as on the sign-in pages, where it was 400.
        assert_eq!(response.status(), 502);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "bad_gateway");
        assert_eq!(body["error_description"], format!("Sign-in with {PROVIDER} is unavailable right now (the provider could not be reached); try again later"));
    }

    async fn provider_users_still_pass_required_mfa(backend: Backend) {
        let provider = LocalProvider::start().await;
        for (bypass, after_consent) in [(false, "/identity/v1/view/otp-setup"), (true, APP_CB)] {
            let app = TestApp::spawn_with(backend, |c| {
                provider.configure(c);
                c.otp_mfa_is_required = true;
                c.external_sign_in_can_bypass_local_mfa = bypass;
            })
            .await;
            let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
            let (browser, page) = sign_in_page(&app, &client_id).await;
            let upstream = press_button(&browser, &page).await;
            let nonce = query_param(&upstream, "nonce").unwrap();
            provider.answer_with(LocalProvider::sign(&provider.keys[0], provider.keys[0].kid(), &provider.claims("ada", &nonce)));
            let back = browser.get(&callback(&query_param(&upstream, "state").unwrap())).await;
            assert_eq!(back.status, 303, "{}", back.html);
            let consent = browser.follow(back, APP_CB).await;
            assert!(consent.html.contains("consent-form"), "{}", consent.html);
            let fields = crate::flow::form_fields(&consent.html, &[("decision", "accept")]);
            let next = browser.post("/identity/v1/view/consent", &fields).await;
            let location = next.location.unwrap_or_default();
            assert!(location.contains(after_consent), "bypass {bypass}: {location}");
            if !bypass {
                // The code is not issued until the second factor is in place.
                assert!(!location.contains("code="), "{location}");
            }
            app.stop().await;
        }
    }
}
