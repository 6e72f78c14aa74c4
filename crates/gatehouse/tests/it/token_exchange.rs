//! Token exchange (RFC 8693) through the token endpoint. The attacks: a public app, an app the
//! target API does not allow, a subject token the caller may not use (another app's, for an
//! API it does not stand for), an S2S token as subject, a revoked or expired subject token, a
//! disabled user, more scopes than the subject token has, an ID or refresh token type, an
//! actor token, two different targets, an unknown API.

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, basic, call, jwt_part, s2s_app, S2sApp, TestApp};

const ORDERS: &str = "https://orders.example.com/api";
const HISTORY: &str = "https://history.example.com/api";
const CB: &str = "http://127.0.0.1:5173/cb";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn register(app: &TestApp, root: &str, body: Value) {
    let (status, created) = call(app, "POST", "/api/v1/resource-servers", root, Some(body)).await;
    assert_eq!(status, 201, "{created}");
}

/// Posts an exchange as `caller` with `subject` and `extra` fields.
async fn exchange_as(
    app: &TestApp,
    caller: &S2sApp,
    subject: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
    ];
    form.extend_from_slice(extra);
    let response = app
        .client
        .post(app.url("/oauth2/v1/token"))
        .header("Authorization", basic(&caller.client_id, &caller.secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn refused(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
}

/// A user's token for the orders API, with `orders:read orders:write`; (client id, token).
async fn user_token_for_orders(app: &TestApp, email: &str) -> (String, String) {
    let (_, client_id, _) = create_app(app, "Shop", "spa", &[CB]).await;
    let browser = Browser::new(app);
    let scope = "openid orders:read orders:write";
    let url = authorize_url(&client_id, CB, &[("resource", ORDERS), ("scope", scope)]);
    let redirect = sign_up(&browser, &url, email, CB).await;
    let code = query_param(&redirect, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
        ("client_id", client_id.as_str()),
    ];
    let (status, tokens) = exchange(app, &form).await;
    assert_eq!(status, 200, "{tokens}");
    (
        client_id,
        tokens["access_token"].as_str().unwrap().to_owned(),
    )
}

backend_tests! {
    async fn an_api_acts_for_the_user_at_another_api_it_is_allowed_to(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let orders_app = s2s_app(&app, &root, &["read_user"]).await;
        let stranger = s2s_app(&app, &root, &["read_user"]).await;
        register(&app, &root, json!({
            "identifier": ORDERS, "name": "Orders", "scopes": ["orders:read", "orders:write"],
            "introspectionClientId": orders_app.client_id,
            "tokenExchangeClientIds": [orders_app.client_id],
        })).await;
        register(&app, &root, json!({
            "identifier": HISTORY, "name": "Order history", "scopes": ["orders:read"],
            "tokenExchangeClientIds": [orders_app.client_id],
        })).await;
        let email = format!("exchange.{backend:?}@example.com").to_lowercase();
        let (spa, subject) = user_token_for_orders(&app, &email).await;

        // The orders API's app trades the user's token for one to the history API.
        let (status, issued) = exchange_as(&app, &orders_app, &subject, &[("audience", HISTORY)]).await;
        assert_eq!(status, 200, "{issued}");
        assert_eq!(issued["issued_token_type"], ACCESS);
        assert_eq!(issued["token_type"], "Bearer");
        assert_eq!(issued["scope"], "orders:read");
        assert!(issued.get("refresh_token").is_none());
        let token = issued["access_token"].as_str().unwrap();
        assert_eq!(jwt_part(token, 0)["typ"], "at+jwt");
        let claims = jwt_part(token, 1);
        let original = jwt_part(&subject, 1);
        assert_eq!(claims["aud"], HISTORY);
        assert_eq!(claims["sub"], original["sub"]);
        assert_eq!(claims["client_id"], orders_app.client_id.as_str());
        assert_eq!(claims["act"], json!({"sub": orders_app.client_id}));
        assert!(claims["exp"].as_i64() <= original["exp"].as_i64(), "{claims}");
        // Down-scoping at the same API; more than the subject has is refused.
        let (status, narrow) = exchange_as(&app, &orders_app, &subject, &[("scope", "orders:read")]).await;
        assert_eq!((status, narrow["scope"].as_str()), (200, Some("orders:read")), "{narrow}");
        refused(&exchange_as(&app, &orders_app, &subject, &[("scope", "orders:read orders:admin")]).await, 400, "invalid_scope");
        // A second hop nests the actors.
        let (status, again) = exchange_as(&app, &orders_app, token, &[("resource", HISTORY)]).await;
        assert_eq!(status, 200, "{again}");
        let nested = jwt_part(again["access_token"].as_str().unwrap(), 1);
        assert_eq!(nested["act"], json!({"sub": orders_app.client_id, "act": {"sub": orders_app.client_id}}));

        // Not allowed, not usable, not a user's token, malformed requests.
        refused(&exchange_as(&app, &stranger, &subject, &[("audience", HISTORY)]).await, 400, "invalid_grant");
        refused(&exchange_as(&app, &orders_app, &stranger.token, &[("audience", HISTORY)]).await, 400, "invalid_grant");
        refused(&exchange_as(&app, &orders_app, "not-a-token", &[("audience", HISTORY)]).await, 400, "invalid_grant");
        refused(&exchange_as(&app, &orders_app, &subject, &[("audience", "https://unknown.example")]).await, 400, "invalid_target");
        refused(&exchange_as(&app, &orders_app, &subject, &[("audience", HISTORY), ("resource", ORDERS)]).await, 400, "invalid_request");
        refused(&exchange_as(&app, &orders_app, &subject, &[("requested_token_type", "urn:ietf:params:oauth:token-type:id_token")]).await, 400, "invalid_request");
        refused(&exchange_as(&app, &orders_app, &subject, &[("actor_token", "x"), ("actor_token_type", ACCESS)]).await, 400, "invalid_request");
        let wrong_type = [("grant_type", GRANT), ("subject_token", subject.as_str()), ("subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token")];
        let response = app.client.post(app.url("/oauth2/v1/token"))
            .header("Authorization", basic(&orders_app.client_id, &orders_app.secret))
            .form(&wrong_type).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        // A public app may not exchange.
        let public = [("grant_type", GRANT), ("subject_token", subject.as_str()), ("subject_token_type", ACCESS), ("client_id", spa.as_str())];
        let (status, answer) = exchange(&app, &public).await;
        refused(&(status, answer), 400, "unauthorized_client");

        // The target API must list the caller.
        let history = call(&app, "GET", "/api/v1/resource-servers", &root, None).await.1["resourceServers"]
            .as_array().unwrap().iter().find(|r| r["identifier"] == HISTORY).unwrap()["id"].as_i64().unwrap();
        let (status, _) = call(&app, "PUT", &format!("/api/v1/resource-servers/{history}"), &root,
            Some(json!({"tokenExchangeClientIds": []}))).await;
        assert_eq!(status, 200);
        refused(&exchange_as(&app, &orders_app, &subject, &[("audience", HISTORY)]).await, 400, "invalid_target");

        // A revoked subject token, or a disabled user, ends it.
        let revoke = app.client.post(app.url("/oauth2/v1/revoke"))
            .form(&[("token", subject.as_str()), ("client_id", spa.as_str())]).send().await.unwrap();
        assert_eq!(revoke.status().as_u16(), 200);
        refused(&exchange_as(&app, &orders_app, &subject, &[]).await, 400, "invalid_grant");
        let (_, fresh) = user_token_for_orders(&app, &format!("exchange2.{backend:?}@example.com").to_lowercase()).await;
        let user = user_by_email(&app, &format!("exchange2.{backend:?}@example.com").to_lowercase()).await;
        let (status, _) = call(&app, "PUT", &format!("/api/v1/users/{}", user["authId"].as_str().unwrap()), &root,
            Some(json!({"isActive": false}))).await;
        assert_eq!(status, 200);
        refused(&exchange_as(&app, &orders_app, &fresh, &[]).await, 400, "invalid_grant");
    }

    async fn only_apps_with_a_secret_are_listed_for_exchange(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (_, spa, _) = create_app(&app, "SPA", "spa", &[CB]).await;
        let (status, answer) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
            "identifier": ORDERS, "name": "Orders", "tokenExchangeClientIds": [spa],
        }))).await;
        assert_eq!(status, 400, "{answer}");
        let (status, answer) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
            "identifier": ORDERS, "name": "Orders", "tokenExchangeClientIds": ["no-such-app"],
        }))).await;
        assert_eq!(status, 400, "{answer}");
    }
}
