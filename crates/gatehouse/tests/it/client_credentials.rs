//! `POST /oauth2/v1/token` with `grant_type=client_credentials`.

use gatehouse_store::{AppStore, NewApp, Store};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::harness::{backend_tests, basic, jwt_part, TestApp, BOOTSTRAP_ID, BOOTSTRAP_SECRET};

/// Verifies a token against the server's JWKS with an independent JWT library.
pub async fn verify_with_jwks(app: &TestApp, token: &str) -> Result<Value, String> {
    let jwks: JwkSet = app.get_json("/.well-known/jwks.json").await;
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks.find(&kid).ok_or(format!("kid {kid} not in JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[app.base.as_str()]);
    validation.set_audience(&[app.base.as_str()]);
    decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

async fn store_of(app: &TestApp) -> Store {
    Store::connect(&app.isolation.database_url, 2)
        .await
        .unwrap()
}

async fn add_app(
    app: &TestApp,
    client_id: &str,
    app_type: &str,
    secret: Option<&str>,
    scopes: &[&str],
) {
    let store = store_of(app).await;
    store
        .insert_app(NewApp {
            name: format!("test {client_id}"),
            app_type: gatehouse_core::grant::AppType::parse(app_type).unwrap(),
            client_id: client_id.into(),
            secret_hash: secret.map(|s| gatehouse_server::crypto::sha256_hex(s.as_bytes())),
            redirect_uris: vec![],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            rotate_refresh_tokens: true,
            allow_device_flow: false,
            id_token_signed_response_alg: None,
            standard_claims: false,
            security: Default::default(),
            logout: Default::default(),
        })
        .await
        .unwrap();
    store.close().await;
}

async fn disable_app(app: &TestApp, client_id: &str) {
    // `is_active = (1 = 0)` is false in both dialects (an integer 0 in SQLite, FALSE in PostgreSQL).
    app.isolation
        .execute(
            "UPDATE apps SET is_active = (1 = 0) WHERE client_id = $1",
            client_id,
        )
        .await;
}

/// A POST over a plain TCP connection that tolerates the server closing early; returns the
/// status and the JSON body of the answer.
pub async fn raw_post(
    app: &TestApp,
    path: &str,
    authorization: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

backend_tests! {
    async fn bootstrap_token_verifies_with_the_jwks(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.client_credentials(BOOTSTRAP_ID, BOOTSTRAP_SECRET, "root").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        let mut fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["access_token", "expires_in", "expires_on", "scope", "token_type"]);
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "root");
        assert_eq!(body["expires_in"], 3600);
        let token = body["access_token"].as_str().unwrap();

        let claims = verify_with_jwks(&app, token).await.unwrap();
        assert_eq!(claims["sub"], BOOTSTRAP_ID);
        assert_eq!(claims["azp"], BOOTSTRAP_ID);
        assert_eq!(claims["iss"], app.base);
        assert_eq!(claims["scope"], "root");
        assert_eq!(claims["exp"], body["expires_on"]);
        assert!(claims["jti"].as_str().unwrap().len() >= 32);
        let header = jwt_part(token, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");

        // The kid is the hex SHA-256 of the key's SubjectPublicKeyInfo DER.
        let jwks: Value = app.get_json("/.well-known/jwks.json").await;
        let first = &jwks["keys"][0];
        assert_eq!(first["kid"], header["kid"]);
        assert_eq!(first["use"], "sig");
        assert_eq!(first["kty"], "RSA");
        let store = store_of(&app).await;
        let keys = gatehouse_store::SigningKeyStore::all_signing_keys(&store).await.unwrap();
        assert_eq!(gatehouse_server::crypto::sha256_hex(&keys[0].public_key), header["kid"].as_str().unwrap());
    }

    async fn scopes_are_narrowed_to_what_the_app_holds(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        add_app(&app, "reader", "s2s", Some("reader-secret-0123456789abcdef0123"), &["read_user", "read_app"]).await;
        let response = app.client_credentials("reader", "reader-secret-0123456789abcdef0123", "Read_User write_user root nonsense").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "read_user");
        // Nothing held: the token carries no scope (the request is narrowed, not refused).
        let response = app.client_credentials("reader", "reader-secret-0123456789abcdef0123", "write_app").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "");
    }

    async fn bad_requests_get_their_documented_errors_and_change_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        add_app(&app, "browser-app", "spa", None, &["openid"]).await;
        add_app(&app, "sleeper", "s2s", Some("sleeper-secret-0123456789abcdef012"), &["root"]).await;
        disable_app(&app, "sleeper").await;
        let before = app.isolation.table_counts().await;
        let token_url = app.url("/oauth2/v1/token");
        let form = |grant: &str, scope: &str| format!("grant_type={grant}&scope={scope}");

        struct Case {
            name: &'static str,
            authorization: Option<String>,
            content_type: &'static str,
            body: String,
            status: u16,
            error: &'static str,
            description: &'static str,
        }
        let good = basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET);
        let form_type = "application/x-www-form-urlencoded";
        let cases = [
            Case { name: "no credentials", authorization: None, content_type: form_type, body: form("client_credentials", "root"), status: 401, error: "invalid_client", description: "Client authentication is required: send the client id and secret with HTTP Basic" },
            Case { name: "malformed basic", authorization: Some("Basic !!!".into()), content_type: form_type, body: form("client_credentials", "root"), status: 400, error: "invalid_request", description: "Malformed Authorization header: expected Basic base64(client_id:client_secret)" },
            Case { name: "bearer instead of basic", authorization: Some("Bearer abc".into()), content_type: form_type, body: form("client_credentials", "root"), status: 400, error: "invalid_request", description: "Malformed Authorization header: expected Basic base64(client_id:client_secret)" },
            Case { name: "empty secret", authorization: Some(basic(BOOTSTRAP_ID, "")), content_type: form_type, body: form("client_credentials", "root"), status: 400, error: "invalid_request", description: "Malformed Authorization header: expected Basic base64(client_id:client_secret)" },
            Case { name: "missing scope", authorization: Some(good.clone()), content_type: form_type, body: "grant_type=client_credentials".into(), status: 400, error: "invalid_request", description: "The scope parameter is required" },
            Case { name: "blank scope", authorization: Some(good.clone()), content_type: form_type, body: form("client_credentials", "+++"), status: 400, error: "invalid_request", description: "The scope parameter is required" },
            Case { name: "unknown client", authorization: Some(basic("nobody", "whatever-secret")), content_type: form_type, body: form("client_credentials", "root"), status: 401, error: "invalid_client", description: "No S2S app found" },
            Case { name: "wrong secret", authorization: Some(basic(BOOTSTRAP_ID, "not-the-secret")), content_type: form_type, body: form("client_credentials", "root"), status: 401, error: "invalid_client", description: "Wrong S2S client secret provided" },
            Case { name: "spa app", authorization: Some(basic("browser-app", "anything")), content_type: form_type, body: form("client_credentials", "openid"), status: 400, error: "unauthorized_client", description: "A S2S request sent to a non-S2S app" },
            Case { name: "disabled app", authorization: Some(basic("sleeper", "sleeper-secret-0123456789abcdef012")), content_type: form_type, body: form("client_credentials", "root"), status: 400, error: "unauthorized_client", description: "A request to a S2S app was made but the app is disabled" },
            Case { name: "disabled app, wrong secret", authorization: Some(basic("sleeper", "guess")), content_type: form_type, body: form("client_credentials", "root"), status: 401, error: "invalid_client", description: "Wrong S2S client secret provided" },
            Case { name: "bad grant_type", authorization: Some(good.clone()), content_type: form_type, body: form("password", "root"), status: 400, error: "unsupported_grant_type", description: "Invalid grant_type provided" },
            Case { name: "missing grant_type", authorization: Some(good.clone()), content_type: form_type, body: "scope=root".into(), status: 400, error: "unsupported_grant_type", description: "Invalid grant_type provided" },
            Case { name: "json body", authorization: Some(good.clone()), content_type: "application/json", body: r#"{"grant_type":"client_credentials","scope":"root"}"#.into(), status: 400, error: "invalid_request", description: "The request body must be application/x-www-form-urlencoded" },
        ];
        for case in cases {
            let mut request = app.client.post(&token_url).header("content-type", case.content_type).body(case.body);
            if let Some(authorization) = case.authorization {
                request = request.header("authorization", authorization);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), case.status, "{}", case.name);
            if case.status == 401 {
                assert!(response.headers().contains_key("www-authenticate"), "{}", case.name);
            }
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], case.error, "{}", case.name);
            assert_eq!(body["error_description"], case.description, "{}", case.name);
        }
        // Too large: the server answers before reading the body, so the client's write may fail
        // half-way; send it raw and read the answer regardless.
        let body = format!("grant_type=client_credentials&scope=root&pad={}", "a".repeat(200 * 1024));
        let (status, answer) = raw_post(&app, "/oauth2/v1/token", &good, form_type, &body).await;
        assert_eq!(status, 413, "{answer}");
        assert_eq!(answer["error"], "invalid_request");
        assert_eq!(answer["error_description"], "The request body is too large");

        // Repeated parameters are refused (RFC 6749 §3.2).
        let response = app.client.post(&token_url).header("authorization", good).header("content-type", form_type)
            .body("grant_type=client_credentials&scope=root&scope=read_user").send().await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");

        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn grant_type_is_case_insensitive(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.client.post(app.url("/oauth2/v1/token"))
            .header("authorization", basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET))
            .form(&[("grant_type", "Client_Credentials"), ("scope", "root")])
            .send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
}
