//! Discovery, JWKS and key rotation.

use std::time::Duration;

use serde_json::Value;

use crate::client_credentials::verify_with_jwks;
use crate::harness::{backend_tests, json_body, jwt_part, TestApp};

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks = json_body(app.client.get(app.url("/.well-known/jwks.json"))).await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

backend_tests! {
    async fn discovery_document_names_this_server(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let response = app.client.get(app.url("/.well-known/openid-configuration")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["issuer"], app.base);
        assert_eq!(doc["token_endpoint"], app.url("/oauth2/v1/token"));
        assert_eq!(doc["jwks_uri"], app.url("/.well-known/jwks.json"));
        assert_eq!(doc["id_token_signing_alg_values_supported"], serde_json::json!(["RS256", "ES256", "EdDSA"]));
        assert_eq!(doc["scopes_supported"].as_array().unwrap().len(), 21);
        assert!(doc["grant_types_supported"].as_array().unwrap().contains(&"client_credentials".into()));
        assert!(doc["grant_types_supported"].as_array().unwrap()
            .contains(&"urn:ietf:params:oauth:grant-type:device_code".into()));
        assert_eq!(doc["device_authorization_endpoint"], app.url("/oauth2/v1/device_authorization"));
        // RFC 8414's name serves the same document.
        let metadata: Value = app.get_json("/.well-known/oauth-authorization-server").await;
        assert_eq!(metadata, doc);
    }

    async fn key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let old_token = app.admin_token("root").await;
        let old_kid = jwt_part(&old_token, 0)["kid"].as_str().unwrap().to_owned();
        assert_eq!(jwks_kids(&app).await, vec![old_kid.clone()]);

        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["keys", "rotate"])
            .envs(app.isolation.env())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

        // The server picks the rotation up on its next reload (1 s in tests).
        let mut kids = jwks_kids(&app).await;
        for _ in 0..100 {
            if kids.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            kids = jwks_kids(&app).await;
        }
        assert_eq!(kids.len(), 2, "the rotated key was not published");
        assert_ne!(kids[0], old_kid, "the new key must be listed first");
        assert_eq!(kids[1], old_kid);

        let new_token = app.admin_token("root").await;
        assert_eq!(jwt_part(&new_token, 0)["kid"], kids[0]);
        verify_with_jwks(&app, &old_token).await.unwrap();
        verify_with_jwks(&app, &new_token).await.unwrap();
        for token in [&old_token, &new_token] {
            let response = app.client.get(app.url("/info")).bearer_auth(token).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }

        let listing = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["keys", "list"])
            .envs(app.isolation.env())
            .output()
            .unwrap();
        let listing = String::from_utf8(listing.stdout).unwrap();
        assert!(listing.contains(&format!("{}  RS256", kids[0])), "{listing}");
        assert!(listing.contains("signing") && listing.contains("retiring"), "{listing}");
    }

    async fn other_algorithms_sign_and_publish(backend: Backend) {
        for (algorithm, kty) in [("ES256", "EC"), ("EdDSA", "OKP")] {
            let app = TestApp::spawn_with(backend, |c| c.signing_algorithm = algorithm.into()).await;
            let token = app.admin_token("root").await;
            assert_eq!(jwt_part(&token, 0)["alg"], algorithm);
            let jwks: Value = app.get_json("/.well-known/jwks.json").await;
            assert_eq!(jwks["keys"][0]["kty"], kty);
            assert_eq!(jwks["keys"][0]["alg"], algorithm);
            let response = app.client.get(app.url("/info")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            app.stop().await;
        }
    }

    async fn keys_survive_a_restart(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let token = app.admin_token("root").await;
        let kids = jwks_kids(&app).await;
        let isolation = app.stop().await;
        let again = TestApp::spawn_on(isolation, |_| {}).await;
        assert_eq!(jwks_kids(&again).await, kids);
        // The issuer changed with the port, so only the signature can be checked here.
        let jwks: jsonwebtoken::jwk::JwkSet = again.get_json("/.well-known/jwks.json").await;
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    }
}
