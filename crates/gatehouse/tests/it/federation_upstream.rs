//! The acceptance path of federated sign-in: a second Gatehouse is the upstream OpenID Connect
//! provider, and a person goes through both in headless Chromium.

use std::path::PathBuf;

use gatehouse_server::config::{OidcProviderConfig, Secret};
use serde_json::json;

use crate::clients::{app_origin, run_client};
use crate::flow::{create_app, PASSWORD};
use crate::harness::{backend_tests, call, TestApp};

const PROVIDER: &str = "Partner";

backend_tests! {
    async fn chromium_signs_in_through_a_second_gatehouse_as_provider(backend: Backend) {
        let upstream = TestApp::spawn(backend).await;
        let root = upstream.admin_token("root").await;
        let (status, body) = call(&upstream, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "Downstream Gatehouse", "type": "web", "scopes": ["openid", "profile", "email"],
            "redirectUris": ["http://127.0.0.1:9/not-yet-known"],
        }))).await;
        assert_eq!(status, 201, "{body}");
        let app_id = body["app"]["id"].as_i64().unwrap();
        let client_id = body["app"]["clientId"].as_str().unwrap().to_owned();
        let secret = body["app"]["secret"].as_str().unwrap().to_owned();

        let discovery_url = format!("{}/.well-known/openid-configuration", upstream.base);
        let downstream = TestApp::spawn_with(backend, |c| {
            c.oidc_auth_providers = vec![OidcProviderConfig {
                name: PROVIDER.into(),
                client_id,
                client_secret: Secret::new(secret),
                discovery_url,
                ..OidcProviderConfig::default()
            }];
        })
        .await;
        // The downstream's callback is known only now that it listens.
        let callback = downstream.url(&format!("/identity/v1/authorize-oidc/{PROVIDER}"));
        let (status, body) = call(&upstream, "PUT", &format!("/api/v1/apps/{app_id}"), &root,
            Some(json!({ "redirectUris": [callback] }))).await;
        assert_eq!(status, 200, "{body}");

        let origin = app_origin();
        let redirect = format!("{origin}/cb");
        let (_, spa_client, _) = create_app(&downstream, "Downstream app", "spa", &[&redirect]).await;
        let email = format!("katherine.{backend:?}@partner.example").to_lowercase();
        run_client("node", "federation-flow.mjs", &[
            ("ISSUER", downstream.base.clone()),
            ("UPSTREAM", upstream.base.clone()),
            ("PROVIDER", PROVIDER.into()),
            ("CLIENT_ID", spa_client),
            ("REDIRECT_URI", redirect),
            ("EMAIL", email.clone()),
            ("PASSWORD", PASSWORD.into()),
        ]).await;

        // The downstream's user is the upstream's identity, under the provider's name.
        let upstream_users = call(&upstream, "GET", "/api/v1/users", &root, None).await.1;
        let upstream_user = upstream_users["users"].as_array().unwrap().iter()
            .find(|u| u["email"] == email.as_str()).expect("the upstream user").clone();
        let token = downstream.admin_token("root").await;
        let (status, users) = call(&downstream, "GET", "/api/v1/users", &token, None).await;
        assert_eq!(status, 200, "{users}");
        let user = users["users"].as_array().unwrap().iter()
            .find(|u| u["email"] == email.as_str()).unwrap_or_else(|| panic!("no downstream user: {users}"));
        assert_eq!(user["socialAccountType"], PROVIDER);
        assert_eq!(user["socialAccountId"], upstream_user["authId"]);
        assert_eq!(user["firstName"], "Katherine");

        let shots = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-artifacts"));
        for name in ["federation-provider-button", "federation-sign-in", "federation-sign-up", "federation-consent"] {
            let size = std::fs::metadata(shots.join(format!("{name}.png"))).map(|m| m.len()).unwrap_or(0);
            assert!(size > 5_000, "screenshot {name} missing or blank");
        }
    }
}
