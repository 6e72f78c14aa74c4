//! `POST /oauth2/v1/introspect` (RFC 7662) and the RFC 8414 metadata that advertises it, tried
//! the way an attacker would: without credentials, as a public app, with another app's token,
//! after revocation, disabling and rotation, with garbage and oversized bodies.

use serde_json::{json, Value};

use crate::client_credentials::raw_post;
use crate::flow::*;
use crate::harness::{backend_tests, basic, call, s2s_app, TestApp};

const WEB_CB: &str = "https://web.example/cb";
const SPA_CB: &str = "http://127.0.0.1:5173/cb";

/// Posts `form` to the introspection endpoint, authenticated as `client` (Basic) when given.
async fn introspect(
    app: &TestApp,
    client: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = app.client.post(app.url("/oauth2/v1/introspect")).form(form);
    if let Some((id, secret)) = client {
        request = request.header("Authorization", basic(id, secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    (status, response.json().await.unwrap_or(Value::Null))
}

fn inactive() -> Value {
    json!({"active": false})
}

/// A user of a confidential web app with its tokens: (auth id, client id, secret, tokens).
async fn web_user(app: &TestApp, email: &str) -> (String, String, String, Value) {
    let (_, web, secret) = create_app(app, "Web", "web", &[WEB_CB]).await;
    let secret = secret.unwrap();
    let browser = Browser::new(app);
    let redirect = sign_up(&browser, &authorize_url(&web, WEB_CB, &[]), email, WEB_CB).await;
    let code = query_param(&redirect, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB_CB),
        ("code_verifier", VERIFIER),
        ("client_id", web.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (status, tokens) = exchange(app, &form).await;
    assert_eq!(status, 200, "{tokens}");
    let auth_id = user_by_email(app, email).await["authId"]
        .as_str()
        .unwrap()
        .to_owned();
    (auth_id, web, secret, tokens)
}

/// Introspects `token` as `client` asking for the signed answer (RFC 9701); the answer's
/// claims, checked with an independent JWT library against the JWKS.
async fn signed_answer(app: &TestApp, (id, secret): (&str, &str), token: &str) -> Value {
    let response = app
        .client
        .post(app.url("/oauth2/v1/introspect"))
        .header("Authorization", basic(id, secret))
        .header("Accept", "application/token-introspection+jwt")
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/token-introspection+jwt"
    );
    let jwt = response.text().await.unwrap();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("token-introspection+jwt"));
    let jwks: jsonwebtoken::jwk::JwkSet = app.get_json("/.well-known/jwks.json").await;
    let key = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[app.base.as_str()]);
    validation.set_audience(&[id]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud"]);
    let key = jsonwebtoken::DecodingKey::from_jwk(key).unwrap();
    let claims = jsonwebtoken::decode::<Value>(&jwt, &key, &validation)
        .expect("a valid signed answer")
        .claims;
    assert!(claims["iat"].as_i64().is_some(), "{claims}");
    claims["token_introspection"].clone()
}

backend_tests! {
    async fn a_signed_answer_is_for_the_caller_alone(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let resource_server = s2s_app(&app, &root, &["read_user"]).await;
        let rs = (resource_server.client_id.as_str(), resource_server.secret.as_str());
        let other = s2s_app(&app, &root, &["read_user"]).await;
        let meta: Value = app.get_json("/.well-known/oauth-authorization-server").await;
        assert_eq!(meta["introspection_signing_alg_values_supported"], json!(["RS256"]));

        let answer = signed_answer(&app, rs, &other.token).await;
        assert_eq!((answer["active"].as_bool(), answer["client_id"].as_str()), (Some(true), Some(other.client_id.as_str())), "{answer}");
        assert_eq!(signed_answer(&app, rs, "not-a-token").await, inactive());
        // The answer names the caller as its audience, not the token's own app.
        let response = app.client.post(app.url("/oauth2/v1/introspect"))
            .header("Authorization", basic(rs.0, rs.1))
            .header("Accept", "application/token-introspection+jwt")
            .form(&[("token", other.token.as_str())]).send().await.unwrap();
        let jwt = response.text().await.unwrap();
        let claims = crate::harness::jwt_part(&jwt, 1);
        assert_eq!(claims["aud"], rs.0);
        assert_ne!(claims["aud"], other.client_id.as_str());
        // Without the media type the answer stays plain JSON.
        let (status, plain) = introspect(&app, Some(rs), &[("token", &other.token)]).await;
        assert_eq!((status, plain["active"].as_bool()), (200, Some(true)));
    }

    async fn the_metadata_documents_advertise_introspection(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let oauth: Value = app.get_json("/.well-known/oauth-authorization-server").await;
        let oidc: Value = app.get_json("/.well-known/openid-configuration").await;
        assert_eq!(oauth, oidc, "one document under both names");
        assert_eq!(oauth["issuer"], app.base);
        assert_eq!(oauth["introspection_endpoint"], app.url("/oauth2/v1/introspect"));
        assert_eq!(oauth["introspection_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]));
    }

    async fn only_apps_with_a_secret_may_introspect(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let caller = s2s_app(&app, &root, &["read_user"]).await;
        let token = caller.token.as_str();
        let (_, spa, _) = create_app(&app, "Spa", "spa", &[SPA_CB]).await;

        // No client at all, a public app, a wrong secret, an unknown app: 401 invalid_client.
        let (status, body) = introspect(&app, None, &[("token", token)]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
        let (status, body) = introspect(&app, None, &[("token", token), ("client_id", spa.as_str())]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("may introspect"), "{body}");
        let (status, _) = introspect(&app, Some((&caller.client_id, "wrong")), &[("token", token)]).await;
        assert_eq!(status, 401);
        let (status, _) = introspect(&app, Some(("nobody", "x")), &[("token", token)]).await;
        assert_eq!(status, 401);

        // A missing token is the caller's mistake; a GET is no introspection.
        let me = Some((caller.client_id.as_str(), caller.secret.as_str()));
        let (status, body) = introspect(&app, me, &[]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        let get = app.client.get(app.url("/oauth2/v1/introspect")).send().await.unwrap();
        assert_eq!(get.status(), 405);

        // Garbage, a forged signature and an oversized body tell nothing and break nothing.
        assert_eq!(introspect(&app, me, &[("token", "not-a-token")]).await, (200, inactive()));
        let mut forged = token.to_owned();
        forged.pop();
        forged.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(introspect(&app, me, &[("token", &forged)]).await, (200, inactive()));
        // The server answers before reading it all, so it goes over a raw connection.
        let huge = format!("token={}", "x".repeat(200 * 1024));
        let auth = basic(&caller.client_id, &caller.secret);
        let (status, body) = raw_post(&app, "/oauth2/v1/introspect", &auth, "application/x-www-form-urlencoded", &huge).await;
        assert_eq!((status, body["error"].as_str()), (413, Some("invalid_request")), "{body}");

        // Client secret in the form works as well as Basic.
        let (status, body) = introspect(&app, None, &[("token", token), ("client_id", &caller.client_id), ("client_secret", &caller.secret)]).await;
        assert_eq!((status, body["active"].as_bool()), (200, Some(true)), "{body}");
    }

    async fn s2s_tokens_are_active_until_revoked_or_their_app_is_disabled(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let resource_server = s2s_app(&app, &root, &["read_user"]).await;
        let rs = Some((resource_server.client_id.as_str(), resource_server.secret.as_str()));
        let other = s2s_app(&app, &root, &["read_user", "write_user"]).await;

        let (status, body) = introspect(&app, rs, &[("token", &other.token), ("token_type_hint", "access_token")]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], other.client_id.as_str());
        assert_eq!(body["scope"], "read_user write_user");
        assert_eq!(body["iss"], app.base);
        assert_eq!(body["token_type"], "Bearer");
        // A wrong hint still finds the token (RFC 7662 §2.1); an unknown one is ignored.
        assert_eq!(introspect(&app, rs, &[("token", &other.token), ("token_type_hint", "refresh_token")]).await.1["active"], true);
        assert_eq!(introspect(&app, rs, &[("token", &other.token), ("token_type_hint", "id_token")]).await.1["active"], true);

        // Revoked by its app: inactive for everybody.
        let revoke = app.client.post(app.url("/oauth2/v1/revoke")).header("Authorization", basic(&other.client_id, &other.secret)).form(&[("token", other.token.as_str())]).send().await.unwrap();
        assert_eq!(revoke.status(), 200);
        assert_eq!(introspect(&app, rs, &[("token", &other.token)]).await, (200, inactive()));

        // An app that is switched off takes its live tokens with it.
        let third = s2s_app(&app, &root, &["read_user"]).await;
        assert_eq!(introspect(&app, rs, &[("token", &third.token)]).await.1["active"], true);
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{}", third.id), &root, Some(json!({"isActive": false}))).await;
        assert_eq!(status, 200);
        assert_eq!(introspect(&app, rs, &[("token", &third.token)]).await, (200, inactive()));
        // A switched-off app may not introspect either.
        let (status, body) = introspect(&app, Some((&third.client_id, &third.secret)), &[("token", &resource_server.token)]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    }

    async fn an_expired_token_is_inactive(backend: Backend) {
        // Three seconds: long enough for the set-up's own tokens on a busy machine.
        let app = TestApp::spawn_with(backend, |c| c.s2s_access_token_expires_in = 3).await;
        let root = app.admin_token("root").await;
        let caller = s2s_app(&app, &root, &["read_user"]).await;
        let me = Some((caller.client_id.as_str(), caller.secret.as_str()));
        let root = app.admin_token("root").await;
        let fresh = s2s_app(&app, &root, &["read_user"]).await;
        tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
        assert_eq!(introspect(&app, me, &[("token", &fresh.token)]).await, (200, inactive()));
    }

    async fn user_tokens_are_shown_to_whom_they_concern_and_introspection_changes_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (auth_id, web, secret, tokens) = web_user(&app, "intro@example.com").await;
        let me = Some((web.as_str(), secret.as_str()));
        let resource_server = s2s_app(&app, &root, &["read_user"]).await;
        let rs = Some((resource_server.client_id.as_str(), resource_server.secret.as_str()));
        let access = tokens["access_token"].as_str().unwrap();
        let refresh = tokens["refresh_token"].as_str().unwrap();

        // The access token is meant for the server's APIs: a resource server of the server sees it.
        let (status, seen) = introspect(&app, rs, &[("token", access)]).await;
        assert_eq!(status, 200, "{seen}");
        assert_eq!((seen["active"].as_bool(), seen["sub"].as_str(), seen["client_id"].as_str()), (Some(true), Some(auth_id.as_str()), Some(web.as_str())));
        assert!(seen["scope"].as_str().unwrap().split(' ').any(|s| s == "offline_access"));
        assert!(seen["exp"].as_i64().unwrap() > seen["iat"].as_i64().unwrap());

        // The refresh token concerns its app alone.
        let (_, own) = introspect(&app, me, &[("token", refresh), ("token_type_hint", "refresh_token")]).await;
        assert_eq!((own["active"].as_bool(), own["sub"].as_str()), (Some(true), Some(auth_id.as_str())), "{own}");
        assert_eq!(introspect(&app, rs, &[("token", refresh), ("token_type_hint", "refresh_token")]).await, (200, inactive()));

        // After rotation the old refresh token is inactive; asking about it (twice) does not
        // count as a replay, so the family lives on.
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", web.as_str()), ("client_secret", secret.as_str())];
        let (status, rotated) = exchange(&app, &form).await;
        assert_eq!(status, 200, "{rotated}");
        let next = rotated["refresh_token"].as_str().unwrap();
        for _ in 0..2 {
            assert_eq!(introspect(&app, me, &[("token", refresh)]).await, (200, inactive()));
        }
        assert_eq!(introspect(&app, me, &[("token", next)]).await.1["active"], true);
        let form = [("grant_type", "refresh_token"), ("refresh_token", next), ("client_id", web.as_str()), ("client_secret", secret.as_str())];
        let (status, body) = exchange(&app, &form).await;
        assert_eq!(status, 200, "the family was revoked by introspection: {body}");
        let latest = body["refresh_token"].as_str().unwrap().to_owned();

        // A disabled user's tokens are inactive at once.
        let (status, _) = call(&app, "PUT", &format!("/api/v1/users/{auth_id}"), &root, Some(json!({"isActive": false}))).await;
        assert_eq!(status, 200);
        assert_eq!(introspect(&app, rs, &[("token", access)]).await, (200, inactive()));
        assert_eq!(introspect(&app, me, &[("token", &latest)]).await, (200, inactive()));
    }
}
