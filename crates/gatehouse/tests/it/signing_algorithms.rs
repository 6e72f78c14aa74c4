//! An app's ID tokens and an API's access tokens signed with the algorithm each asks for
//! (`RS256`, `ES256`, `EdDSA`), checked with an independent JWT library against the JWKS; keys
//! made on demand, published beside the server's, rotated together.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";
const API: &str = "https://ledger.example.com";

/// Verifies `token` against the JWKS with the algorithm its header names; the claims.
async fn verified(app: &TestApp, token: &str, audience: &str) -> (Algorithm, Value) {
    let jwks: JwkSet = app.get_json("/.well-known/jwks.json").await;
    let header = decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[app.base.as_str()]);
    validation.set_audience(&[audience]);
    let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap_or_else(|e| panic!("{:?} token does not verify: {e}", header.alg))
        .claims;
    (header.alg, claims)
}

fn algorithms(jwks: &Value) -> Vec<String> {
    let mut algs: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap_or_default().to_owned())
        .collect();
    algs.sort();
    algs
}

backend_tests! {
    async fn apps_and_apis_get_tokens_signed_as_they_ask(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let doc: Value = app.get_json("/.well-known/openid-configuration").await;
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256", "ES256", "EdDSA"]));
        let (id, client_id, _) = create_app(&app, "Ledger app", "spa", &[CB]).await;
        let path = format!("/api/v1/apps/{id}");
        for bad in ["HS256", "none", "es256"] {
            let (status, body) = call(&app, "PUT", &path, &root, Some(json!({"idTokenSignedResponseAlg": bad}))).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        let (status, body) = call(&app, "PUT", &path, &root, Some(json!({"idTokenSignedResponseAlg": "ES256"}))).await;
        assert_eq!((status, &body["app"]["idTokenSignedResponseAlg"]), (200, &json!("ES256")), "{body}");
        let (status, body) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
            "identifier": API, "name": "Ledger", "scopes": ["ledger:read"], "signingAlgorithm": "EdDSA",
        }))).await;
        assert_eq!((status, &body["resourceServer"]["signingAlgorithm"]), (201, &json!("EdDSA")), "{body}");
        let (status, body) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
            "identifier": "https://other.example.com", "name": "Other", "signingAlgorithm": "HS256",
        }))).await;
        assert_eq!(status, 400, "{body}");
        // Keys for both were made at once and are published beside the server's.
        let jwks: Value = app.get_json("/.well-known/jwks.json").await;
        assert_eq!(algorithms(&jwks), ["ES256", "EdDSA", "RS256"]);

        let browser = Browser::new(&app);
        let url = authorize_url(&client_id, CB, &[("resource", API), ("scope", "openid ledger:read")]);
        let redirect = sign_up(&browser, &url, &format!("alg.{backend:?}@example.com").to_lowercase(), CB).await;
        let code = query_param(&redirect, "code").unwrap();
        let (status, tokens) = exchange(&app, &[
            ("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB),
            ("code_verifier", VERIFIER), ("client_id", &client_id),
        ]).await;
        assert_eq!(status, 200, "{tokens}");
        let (alg, claims) = verified(&app, tokens["id_token"].as_str().unwrap(), &client_id).await;
        assert_eq!((alg, &claims["aud"]), (Algorithm::ES256, &json!(client_id)));
        let (alg, claims) = verified(&app, tokens["access_token"].as_str().unwrap(), API).await;
        assert_eq!((alg, &claims["aud"]), (Algorithm::EdDSA, &json!(API)));

        // Rotation makes a new key of every algorithm in use; the old ones stay published.
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["keys", "rotate"]).envs(app.isolation.env()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let mut rotated = algorithms(&app.get_json::<Value>("/.well-known/jwks.json").await);
        for _ in 0..100 {
            if rotated.len() == 6 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            rotated = algorithms(&app.get_json::<Value>("/.well-known/jwks.json").await);
        }
        assert_eq!(rotated, ["ES256", "ES256", "EdDSA", "EdDSA", "RS256", "RS256"]);
        // Back to the server's algorithm.
        let (status, body) = call(&app, "PUT", &path, &root, Some(json!({"idTokenSignedResponseAlg": ""}))).await;
        assert_eq!((status, &body["app"]["idTokenSignedResponseAlg"]), (200, &Value::Null), "{body}");
    }
}
