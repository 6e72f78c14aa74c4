//! High-assurance clients: pushed authorization requests (RFC 9126), `private_key_jwt`
//! (RFC 7523) and DPoP-bound tokens (RFC 9449), driven end to end by openid-client with the
//! sign-in in headless Chromium, and their settings' rules through the S2S API.

use serde_json::json;

use crate::clients::{app_origin, run_client};
use crate::flow::{create_app, PASSWORD};
use crate::harness::{backend_tests, call, s2s_app, TestApp};

async fn form_post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

backend_tests! {
    async fn a_code_bound_to_a_dpop_key_at_authorize_needs_a_proof_with_it(backend: Backend) {
        use crate::flow::{authorize_url, exchange, query_param, sign_up, Browser, VERIFIER};
        let app = TestApp::spawn(backend).await;
        let cb = "https://app.example/cb";
        let (_, client_id, _) = create_app(&app, "Bound app", "spa", &[cb]).await;
        let browser = Browser::new(&app);
        let page = browser.get(&authorize_url(&client_id, cb, &[("dpop_jkt", "not-a-thumbprint")])).await;
        let refused = page.location.unwrap_or_default();
        assert_eq!(query_param(&refused, "error").as_deref(), Some("invalid_request"), "{refused}");
        assert!(query_param(&refused, "error_description").unwrap_or_default().contains("dpop_jkt"), "{refused}");

        let jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let redirect = sign_up(&browser, &authorize_url(&client_id, cb, &[("dpop_jkt", jkt)]), "bound@example.com", cb).await;
        let code = query_param(&redirect, "code").unwrap();
        let (status, body) = exchange(&app, &[
            ("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", cb),
            ("code_verifier", VERIFIER), ("client_id", &client_id),
        ]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        assert!(body["error_description"].as_str().unwrap().contains("dpop_jkt"), "{body}");
    }

    async fn openid_client_pushes_signs_assertions_and_binds_tokens_to_dpop_keys(backend: Backend) {
        let origin = app_origin();
        // The app's keys are served by the client script on loopback.
        let app = TestApp::spawn_with(backend, |c| {
            c.cors_allowed_origins = vec![origin.clone()];
            c.outbound_allow_private_addresses = true;
        })
        .await;
        let redirect = format!("{origin}/cb");
        let (app_id, client_id, _) = create_app(&app, "High-assurance app", "web", &[&redirect]).await;
        let root = app.admin_token("root").await;
        let s2s = s2s_app(&app, &root, &["root"]).await;
        run_client("node", "high-assurance.mjs", &[
            ("ISSUER", app.base.clone()),
            ("ADMIN_TOKEN", root),
            ("APP_ID", app_id.to_string()),
            ("CLIENT_ID", client_id),
            ("REDIRECT_URI", redirect),
            ("EMAIL", format!("high-assurance.{backend:?}@example.com").to_lowercase()),
            ("PASSWORD", PASSWORD.into()),
            ("S2S_APP_ID", s2s.id.to_string()),
            ("S2S_CLIENT_ID", s2s.client_id),
        ]).await;
    }

    async fn authlib_authenticates_with_private_key_jwt(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let s2s = s2s_app(&app, &root, &["root"]).await;
        run_client("python3", "authlib_private_key_jwt.py", &[
            ("ISSUER", app.base.clone()),
            ("ADMIN_TOKEN", root),
            ("APP_ID", s2s.id.to_string()),
            ("CLIENT_ID", s2s.client_id),
            ("CLIENT_SECRET", s2s.secret),
        ]).await;
    }

    async fn openid_client_and_authlib_register_themselves(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.client_registration = "token".into()).await;
        let root = app.admin_token("root").await;
        let redirect = "https://registered.example/cb".to_owned();
        run_client("node", "registration.mjs", &[
            ("ISSUER", app.base.clone()),
            ("ADMIN_TOKEN", root.clone()),
            ("REDIRECT_URI", redirect.clone()),
        ]).await;
        // Only a root caller makes initial tokens; an app manager does not.
        let manager = s2s_app(&app, &root, &["read_app", "write_app"]).await;
        let (status, _) = call(&app, "POST", "/api/v1/registration-tokens", &manager.token, None).await;
        assert_eq!(status, 401);
        let (status, body) = call(&app, "POST", "/api/v1/registration-tokens", &root, None).await;
        assert_eq!(status, 201, "{body}");
        run_client("python3", "authlib_registration.py", &[
            ("ISSUER", app.base.clone()),
            ("INITIAL_TOKEN", body["initialAccessToken"].as_str().unwrap().to_owned()),
            ("REDIRECT_URI", redirect),
        ]).await;
        // The registered apps are ordinary apps: listed and editable through the API.
        let (_, apps) = call(&app, "GET", "/api/v1/apps", &root, None).await;
        assert!(apps["apps"].as_array().unwrap().iter().any(|a| a["name"] == "Authlib registered"), "{apps}");
    }

    async fn registration_is_off_until_the_operator_allows_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let answer = app.client.post(app.url("/oauth2/v1/register"))
            .json(&json!({"redirect_uris": ["https://x.example/cb"]})).send().await.unwrap();
        assert_eq!(answer.status(), 404);
        let discovery: serde_json::Value = app.get_json("/.well-known/openid-configuration").await;
        assert!(discovery.get("registration_endpoint").is_none(), "{discovery}");
        let (status, _) = call(&app, "POST", "/api/v1/registration-tokens", &root, None).await;
        assert_eq!(status, 400);
        let open = TestApp::spawn_with(backend, |c| c.client_registration = "open".into()).await;
        let answer = open.client.post(open.url("/oauth2/v1/register"))
            .json(&json!({"redirect_uris": ["https://x.example/cb"], "token_endpoint_auth_method": "none"}))
            .send().await.unwrap();
        assert_eq!(answer.status(), 201);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert!(body["client_secret"].is_null() && body["token_endpoint_auth_method"] == "none", "{body}");
        let token = open.admin_token("root").await;
        let (status, _) = call(&open, "POST", "/api/v1/registration-tokens", &token, None).await;
        assert_eq!(status, 400, "no initial token in open mode");
        let malformed = open.client.post(open.url("/oauth2/v1/register")).body("{not json").send().await.unwrap();
        assert_eq!(malformed.status(), 400);
    }

    async fn key_settings_are_checked_as_a_whole(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (web_id, _, _) = create_app(&app, "Keyed app", "web", &["https://app.example/cb"]).await;
        let (spa_id, _, _) = create_app(&app, "Browser app", "spa", &["https://app.example/cb"]).await;
        let put = |id: i64, body: serde_json::Value| {
            let root = root.clone();
            let app = &app;
            async move { call(app, "PUT", &format!("/api/v1/apps/{id}"), &root, Some(body)).await }
        };
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let mut private = jwk.clone();
        private["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
        for (id, body, expected) in [
            (web_id, json!({"tokenEndpointAuthMethod": "private_key_jwt"}), "jwksUri"),
            (spa_id, json!({"tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]}}), "web and s2s"),
            (web_id, json!({"jwks": {"keys": [private]}}), "private key is refused"),
            (web_id, json!({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}), "jwks must be"),
            (web_id, json!({"jwks": {"keys": [jwk]}, "jwksUri": "https://keys.example/jwks.json"}), "not both"),
            (web_id, json!({"jwksUri": "http://keys.example/jwks.json"}), "not an https URL"),
            (web_id, json!({"jwksUri": "https://127.0.0.1/jwks.json"}), "loopback, private"),
            (web_id, json!({"jwksUri": "https://169.254.169.254/latest/meta-data"}), "loopback, private"),
            (web_id, json!({"tokenEndpointAuthMethod": "tls_client_auth"}), "tokenEndpointAuthMethod must be"),
            // Only an app created with it has a secret the server can read for an HMAC.
            (web_id, json!({"tokenEndpointAuthMethod": "client_secret_jwt"}), "create the app with it"),
            (spa_id, json!({"tokenEndpointAuthMethod": "client_secret_jwt"}), "web and s2s"),
        ] {
            let (status, answer) = put(id, body.clone()).await;
            assert_eq!(status, 400, "{body} -> {answer}");
            let description = answer["error_description"].as_str().unwrap_or_default();
            assert!(description.contains(expected), "{body} -> {description}");
        }
        // Refused changes changed nothing.
        let (_, shown) = call(&app, "GET", &format!("/api/v1/apps/{web_id}"), &root, None).await;
        assert_eq!(shown["app"]["tokenEndpointAuthMethod"], "client_secret_basic", "{shown}");
        assert_eq!(shown["app"]["jwks"], serde_json::Value::Null, "{shown}");
        let (status, body) = put(web_id, json!({
            "tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]},
            "requirePushedAuthorizationRequests": true, "dpopBoundAccessTokens": true,
        })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["app"]["tokenEndpointAuthMethod"], "private_key_jwt");
        assert_eq!(body["app"]["jwks"]["keys"][0]["x"], jwk["x"]);
        assert_eq!(body["app"]["requirePushedAuthorizationRequests"], true);
        assert_eq!(body["app"]["dpopBoundAccessTokens"], true);
        // Keys cannot be taken away while the app authenticates with them.
        let (status, body) = put(web_id, json!({"jwks": {"keys": []}})).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = put(web_id, json!({"tokenEndpointAuthMethod": "client_secret_basic", "jwks": {"keys": []}})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["app"]["jwks"], serde_json::Value::Null);
    }

    async fn the_fapi_profile_is_for_keyed_confidential_apps_and_holds_them_to_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (web_id, web_client, _) = create_app(&app, "Bank app", "web", &["https://bank.example/cb"]).await;
        let (spa_id, _, _) = create_app(&app, "Bank spa", "spa", &["https://bank.example/cb"]).await;
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        for (id, body, expected) in [
            (spa_id, json!({"fapi2SecurityProfile": true}), "a spa app cannot"),
            (web_id, json!({"fapi2SecurityProfile": true}), "private_key_jwt"),
            (web_id, json!({"fapi2SecurityProfile": true, "tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]}}), "ES256 or EdDSA"),
        ] {
            let (status, answer) = call(&app, "PUT", &format!("/api/v1/apps/{id}"), &root, Some(body.clone())).await;
            assert_eq!(status, 400, "{body} -> {answer}");
            let description = answer["error_description"].as_str().unwrap_or_default();
            assert!(description.contains(expected), "{body} -> {description}");
        }
        let (status, answer) = call(&app, "PUT", &format!("/api/v1/apps/{web_id}"), &root, Some(json!({
            "fapi2SecurityProfile": true, "tokenEndpointAuthMethod": "private_key_jwt",
            "jwks": {"keys": [jwk]}, "idTokenSignedResponseAlg": "EdDSA",
        }))).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["app"]["fapi2SecurityProfile"], true);
        // Its ID tokens cannot go back to RS256 while it is held to the profile.
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{web_id}"), &root, Some(json!({"idTokenSignedResponseAlg": "RS256"}))).await;
        assert_eq!(status, 400);
        // A request that is not pushed is sent back refused; a secret is no way in.
        let query = serde_urlencoded::to_string([
            ("client_id", web_client.as_str()), ("redirect_uri", "https://bank.example/cb"),
            ("response_type", "code"), ("scope", "openid"), ("state", "s"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256"),
        ]).unwrap();
        let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let refused = plain.get(app.url(&format!("/oauth2/v1/authorize?{query}"))).send().await.unwrap();
        let location = refused.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("https://bank.example/cb?") && location.contains("error=invalid_request"), "{location}");
        let with_secret = form_post(&app, "/oauth2/v1/par", &[("client_id", &web_client), ("client_secret", "guess")]).await;
        assert_eq!(with_secret.status(), 401);
        let answer: serde_json::Value = with_secret.json().await.unwrap();
        assert!(answer["error_description"].as_str().unwrap().contains("FAPI 2.0 requires client authentication with private_key_jwt"), "{answer}");
    }

    async fn a_jwks_uri_resolving_inside_is_not_fetched(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let s2s = s2s_app(&app, &root, &["read_user"]).await;
        // A host name passes registration; where it resolves is checked at each fetch.
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{}", s2s.id), &root, Some(json!({
            "tokenEndpointAuthMethod": "private_key_jwt", "jwksUri": "https://localhost:9/jwks.json",
        }))).await;
        assert_eq!(status, 200, "{body}");
        let assertion = unsigned_assertion(&s2s.client_id, &app.base);
        let response = form_post(&app, "/oauth2/v1/token", &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", &assertion),
        ]).await;
        assert_eq!(response.status(), 401);
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["error"], "invalid_client", "{answer}");
        assert!(answer["error_description"].as_str().unwrap().contains("jwks_uri could not be read"), "{answer}");
        // Its secret is no longer accepted either.
        let response = app.client_credentials(&s2s.client_id, &s2s.secret, "read_user").await;
        assert_eq!(response.status(), 401);
    }

    async fn pushed_requests_are_checked_when_pushed_and_used_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, client_id, _) = create_app(&app, "Pushing app", "spa", &["https://app.example/cb"]).await;
        let push = |extra: Vec<(&'static str, String)>| {
            let mut params: Vec<(&str, String)> = vec![
                ("client_id", client_id.clone()),
                ("redirect_uri", "https://app.example/cb".into()),
                ("response_type", "code".into()),
                ("scope", "openid".into()),
                ("state", "s".into()),
                ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
                ("code_challenge_method", "S256".into()),
            ];
            for (name, value) in extra {
                params.retain(|(n, _)| *n != name);
                params.push((name, value));
            }
            let app = &app;
            async move {
                let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let response = form_post(app, "/oauth2/v1/par", &params).await;
                let status = response.status().as_u16();
                (status, response.json::<serde_json::Value>().await.unwrap())
            }
        };
        let (status, body) = push(vec![]).await;
        assert_eq!(status, 201, "{body}");
        assert!(body["request_uri"].as_str().unwrap().starts_with("urn:ietf:params:oauth:request_uri:"));
        assert_eq!(body["expires_in"], 60);
        // Checked as the authorization request itself would be.
        for (extra, error) in [
            (vec![("redirect_uri", "https://attacker.example/cb".to_owned())], "invalid_request"),
            (vec![("code_challenge_method", "plain".to_owned())], "invalid_request"),
            (vec![("request_uri", "urn:ietf:params:oauth:request_uri:abc".to_owned())], "invalid_request"),
            (vec![("client_id", "no-such-app".to_owned())], "invalid_client"),
        ] {
            let (status, body) = push(extra.clone()).await;
            assert!(status == 400 || status == 401, "{extra:?} -> {status} {body}");
            assert_eq!(body["error"], error, "{extra:?} -> {body}");
        }
        // Used once: the second authorize with the same request_uri is refused.
        let (_, body) = push(vec![]).await;
        let request_uri = body["request_uri"].as_str().unwrap();
        let query = serde_urlencoded::to_string([("client_id", client_id.as_str()), ("request_uri", request_uri)]).unwrap();
        let first = app.client.get(app.url(&format!("/oauth2/v1/authorize?{query}"))).send().await.unwrap();
        // The browser goes on to the sign-in (this client follows the redirect without cookies).
        let status = first.status();
        let page = first.text().await.unwrap();
        assert!(status != 400 && !page.contains("request_uri"), "{status} {page}");
        let second = app.client.get(app.url(&format!("/oauth2/v1/authorize?{query}"))).send().await.unwrap();
        assert_eq!(second.status(), 400);
        assert!(second.text().await.unwrap().contains("request_uri is unknown, expired or already used"));
        // Another client cannot use it.
        let (_, body) = push(vec![]).await;
        let request_uri = body["request_uri"].as_str().unwrap();
        let query = serde_urlencoded::to_string([("client_id", "someone-else"), ("request_uri", request_uri)]).unwrap();
        let other = app.client.get(app.url(&format!("/oauth2/v1/authorize?{query}"))).send().await.unwrap();
        assert_eq!(other.status(), 400);
    }
}

/// A well-formed assertion whose signature cannot verify: enough to reach the key fetch.
fn unsigned_assertion(client_id: &str, audience: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let now = chrono::Utc::now().timestamp();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1"}"#);
    let claims =
        json!({"iss": client_id, "sub": client_id, "aud": audience, "exp": now + 60, "jti": "j1"});
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]))
}

mod protected_resources {
    use serde_json::{json, Value};

    use crate::harness::{backend_tests, call, s2s_app, TestApp};

    /// The `resource_metadata` URL of a `WWW-Authenticate` challenge.
    fn metadata_url(challenge: &str) -> Option<String> {
        let (_, rest) = challenge.split_once("resource_metadata=\"")?;
        rest.split_once('"').map(|(url, _)| url.to_owned())
    }

    backend_tests! {
        async fn an_agent_finds_the_server_from_a_refusal_alone(backend: Backend) {
            let app = TestApp::spawn(backend).await;
            let root = app.admin_token("root").await;
            let s2s = s2s_app(&app, &root, &["read_user"]).await;
            // Refused without a token, the agent reads where the resource's metadata is.
            let refused = app.client.get(app.url("/api/v1/users")).send().await.unwrap();
            assert_eq!(refused.status(), 401);
            let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_owned();
            let metadata_at = metadata_url(&challenge).unwrap_or_else(|| panic!("{challenge}"));
            assert_eq!(metadata_at, app.url("/.well-known/oauth-protected-resource"));
            let metadata: Value = app.client.get(&metadata_at).send().await.unwrap().json().await.unwrap();
            assert_eq!(metadata["resource"], app.base, "{metadata}");
            // From there the authorization server, its token endpoint, a token, and the API.
            let server = metadata["authorization_servers"][0].as_str().unwrap();
            let server_metadata: Value = app.client
                .get(format!("{server}/.well-known/oauth-authorization-server"))
                .send().await.unwrap().json().await.unwrap();
            assert_eq!(server_metadata["issuer"], server);
            let token: Value = app.client
                .post(server_metadata["token_endpoint"].as_str().unwrap())
                .basic_auth(&s2s.client_id, Some(&s2s.secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "read_user")])
                .send().await.unwrap().json().await.unwrap();
            let access = token["access_token"].as_str().unwrap();
            let served = app.client.get(app.url("/api/v1/users")).bearer_auth(access).send().await.unwrap();
            assert_eq!(served.status(), 200);
            // userinfo and /info point the same way; the token endpoint (client credentials) does not.
            for path in ["/oauth2/v1/userinfo", "/info"] {
                let refused = app.client.get(app.url(path)).bearer_auth("not-a-token").send().await.unwrap();
                assert_eq!(refused.status(), 401, "{path}");
                let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
                assert!(metadata_url(challenge).is_some(), "{path}: {challenge}");
            }
            let token_refused = app.client.post(app.url("/oauth2/v1/token"))
                .basic_auth("nobody", Some("nothing")).form(&[("grant_type", "client_credentials"), ("scope", "read_user")])
                .send().await.unwrap();
            assert_eq!(token_refused.status(), 401);
            let challenge = token_refused.headers()["www-authenticate"].to_str().unwrap();
            assert!(metadata_url(challenge).is_none(), "{challenge}");
        }

        async fn a_registered_api_has_its_metadata_by_name_only(backend: Backend) {
            let app = TestApp::spawn(backend).await;
            let root = app.admin_token("root").await;
            let identifier = "https://orders.example.com/api";
            let (status, body) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
                "identifier": identifier, "name": "Orders", "scopes": ["orders:read"], "signingAlgorithm": "ES256",
            }))).await;
            assert_eq!(status, 201, "{body}");
            let id = body["resourceServer"]["id"].as_i64().unwrap_or_else(|| panic!("{body}"));
            let query = serde_urlencoded::to_string([("resource", identifier)]).unwrap();
            let url = app.url(&format!("/oauth2/v1/protected-resource?{query}"));
            let metadata: Value = app.client.get(&url).send().await.unwrap().json().await.unwrap();
            assert_eq!(metadata["resource"], identifier);
            assert_eq!(metadata["resource_name"], "Orders");
            assert_eq!(metadata["authorization_servers"], json!([app.base]));
            assert_eq!(metadata["scopes_supported"], json!(["orders:read"]));
            assert_eq!(metadata["resource_signing_alg_values_supported"], json!(["ES256"]));
            // No listing, no unknown identifiers, nothing for a switched-off API.
            for path in ["/oauth2/v1/protected-resource", "/oauth2/v1/protected-resource?resource=https%3A%2F%2Fother.example"] {
                let answer = app.client.get(app.url(path)).send().await.unwrap();
                assert_eq!(answer.status(), 404, "{path}");
            }
            let (status, body) = call(&app, "PUT", &format!("/api/v1/resource-servers/{id}"), &root, Some(json!({"isActive": false}))).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);
            // The server's own identifier as a resource means its own tokens.
            let s2s = s2s_app(&app, &root, &["read_user"]).await;
            let token = app.client.post(app.url("/oauth2/v1/token"))
                .basic_auth(&s2s.client_id, Some(&s2s.secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "read_user"), ("resource", app.base.as_str())])
                .send().await.unwrap();
            assert_eq!(token.status(), 200);
        }
    }
}
