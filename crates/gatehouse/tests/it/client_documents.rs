//! Client ID metadata documents over HTTP: a client whose id is the URL of its own JSON
//! document signs a user in with no registration; and the documents an attacker would try: on
//! an inside address, on a host not allowed, too large, naming another client, holding a
//! secret, changed to another redirect URI.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, TestApp};

/// A client's web server: serves `/docs/{name}` from `documents`, counting every request.
#[derive(Clone, Default)]
struct ClientHost {
    base: String,
    documents: Arc<Mutex<HashMap<String, String>>>,
    requests: Arc<AtomicUsize>,
}

async fn serve(State(host): State<ClientHost>, Path(name): Path<String>) -> impl IntoResponse {
    host.requests.fetch_add(1, Ordering::SeqCst);
    match host.documents.lock().unwrap().get(&name) {
        Some(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl ClientHost {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = ClientHost {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..ClientHost::default()
        };
        let router = axum::Router::new()
            .route("/docs/{name}", get(serve))
            .with_state(host.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        host
    }

    /// Publishes `document` (its `client_id` filled in) at `/docs/{name}`; the client id.
    fn publish(&self, name: &str, mut document: Value) -> String {
        let id = format!("{}/docs/{name}", self.base);
        if document.get("client_id").is_none() {
            document["client_id"] = json!(id);
        }
        self.documents
            .lock()
            .unwrap()
            .insert(name.to_owned(), document.to_string());
        id
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// What `/authorize` answers a browser for `client_id` and `redirect_uri`: (status, where to).
async fn authorize(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
) -> (u16, Option<String>, String) {
    let page = Browser::new(app)
        .get(&authorize_url(client_id, redirect_uri, &[]))
        .await;
    (page.status, page.location, page.html)
}

backend_tests! {
    async fn a_client_named_by_its_document_url_signs_a_user_in(backend: Backend) {
        let host = ClientHost::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.client_id_metadata_document_hosts = vec!["127.0.0.1".into()];
            c.client_id_metadata_document_ttl = 1;
            c.client_cache_ttl = 1;
            c.outbound_allow_private_addresses = true;
        })
        .await;
        let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
        assert_eq!(discovery["client_id_metadata_document_supported"], true);
        let cb = format!("{}/cb", host.base);
        let client_id = host.publish("agent.json", json!({
            "client_name": "Agent", "redirect_uris": [cb], "scope": "openid profile root",
        }));
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, &cb, &[])).await, &cb).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let fields = sign_up_form(&browser, &tx, "agent-user@example.com", ADA_NAMES).await;
        let after = browser.post("/identity/v1/view/sign-up", &fields).await;
        let consent = browser.follow(after, &cb).await;
        assert!(consent.html.contains("Agent (127.0.0.1)"), "the consent page names the host: {}", consent.html);
        let redirect = finish_consent(&browser, consent, &cb).await;
        let claims = id_token_claims(&app, &client_id, &cb, &redirect).await;
        assert_eq!(claims["aud"], client_id.as_str());

        // Kept as an app the operator sees, with only the scopes self-made clients may hold.
        let root = app.admin_token("root").await;
        let (_, apps) = call(&app, "GET", "/api/v1/apps", &root, None).await;
        let kept = apps["apps"].as_array().unwrap().iter().find(|a| a["clientId"] == client_id.as_str()).expect("kept as an app").clone();
        assert_eq!(kept["type"], "spa");
        assert_eq!(kept["name"], "Agent (127.0.0.1)");
        let (_, detail) = call(&app, "GET", &format!("/api/v1/apps/{}", kept["id"]), &root, None).await;
        assert_eq!(detail["app"]["scopes"], json!(["openid", "profile"]), "root is never granted");

        // The document changes its redirect URI: once it is read again, the old one is refused.
        let moved = format!("{}/moved", host.base);
        host.publish("agent.json", json!({ "client_name": "Agent", "redirect_uris": [moved] }));
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let (status, location, html) = authorize(&app, &client_id, &cb).await;
        assert!(status == 401 && location.is_none(), "the old redirect URI after the document moved: {status} {html}");
        assert!(html.contains("redirect_uri"), "{html}");
        let (status, location, _) = authorize(&app, &client_id, &moved).await;
        assert!(status == 302 || status == 303 || status == 200, "{status} {location:?}");

        // With the setting off, a kept document client is no longer used.
        let off = TestApp::spawn_on(app.isolation.clone(), |_| {}).await;
        let (status, _, html) = authorize(&off, &client_id, &moved).await;
        assert_eq!(status, 404, "documents turned off: {html}");

        // An operator's disabling holds through the refreshes.
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{}", kept["id"]), &root, Some(json!({ "isActive": false }))).await;
        assert_eq!(status, 200);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, _, html) = authorize(&app, &client_id, &moved).await;
        assert_eq!(status, 400, "a disabled document client stays disabled: {html}");
        assert!(html.contains("disabled"), "{html}");
    }

    async fn documents_an_attacker_would_publish_are_refused(backend: Backend) {
        let host = ClientHost::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            c.client_id_metadata_document_hosts = vec!["127.0.0.1".into()];
            c.outbound_allow_private_addresses = true;
        })
        .await;
        let cb = format!("{}/cb", host.base);
        let big = host.publish("big.json", json!({ "redirect_uris": [cb], "client_name": "x".repeat(6 * 1024) }));
        let other = host.publish("other.json", json!({ "client_id": "https://trusted.example/client.json", "redirect_uris": [cb] }));
        let secret = host.publish("secret.json", json!({ "redirect_uris": [cb], "token_endpoint_auth_method": "client_secret_basic", "client_secret": "s" }));
        let bad_uri = host.publish("bad-uri.json", json!({ "redirect_uris": ["javascript:alert(1)"] }));
        let missing = format!("{}/docs/missing.json", host.base);
        for client_id in [&big, &other, &secret, &bad_uri, &missing] {
            let (status, _, html) = authorize(&app, client_id, &cb).await;
            assert_eq!(status, 404, "{client_id}: {html}");
        }
        let fetched = host.requests();
        assert_eq!(fetched, 5);
        // A refused document is not read again at once, whatever the traffic.
        for _ in 0..3 {
            authorize(&app, &big, &cb).await;
        }
        assert_eq!(host.requests(), fetched, "refusals are remembered");

        // A host not on the list is never read.
        let elsewhere = format!("{}/docs/other.json", host.base.replace("127.0.0.1", "localhost"));
        let (status, _, _) = authorize(&app, &elsewhere, &cb).await;
        assert_eq!(status, 404);
        assert_eq!(host.requests(), fetched, "a host not allowed is not fetched");
        let root = app.admin_token("root").await;
        let (_, apps) = call(&app, "GET", "/api/v1/apps", &root, None).await;
        assert!(!apps.to_string().contains("/docs/"), "nothing was kept: {apps}");

        // With inside addresses refused (the default), a document on one is never fetched,
        // whether the URL names the address or a name that resolves to it.
        let strict = TestApp::spawn_with(backend, |c| c.client_id_metadata_document_hosts = vec!["*".into()]).await;
        let port = host.base.rsplit(':').next().unwrap().to_owned();
        for client_id in [
            format!("https://127.0.0.1:{port}/docs/agent.json"),
            format!("https://localhost:{port}/docs/agent.json"),
            format!("http://127.0.0.1:{port}/docs/agent.json"),
            "https://169.254.169.254/latest/meta-data".to_owned(),
        ] {
            let (status, _, _) = authorize(&strict, &client_id, &cb).await;
            assert_eq!(status, 404, "{client_id}");
        }
        assert_eq!(host.requests(), fetched, "no request reached the inside address");
        let off = TestApp::spawn(backend).await;
        let discovery: Value = off.get_json("/.well-known/openid-configuration").await;
        assert_eq!(discovery["client_id_metadata_document_supported"], false);
    }
}
