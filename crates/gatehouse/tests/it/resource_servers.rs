//! Resource servers (APIs) and the tokens issued for them: RFC 8707 resource indicators and the
//! RFC 9068 JWT access-token profile. The attacks: an unknown, malformed or switched-off API
//! asked for; a code or refresh token redeemed for another API than its grant's; an API's token
//! presented at userinfo and the management API; introspection by a stranger; registrations
//! with a fragment, a duplicate identifier, a lifetime out of range, a non-S2S introspection
//! app, or a caller without `write_app`.

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, basic, call, jwt_part, s2s_app, TestApp};

const API: &str = "https://orders.example.com/api";
const CB: &str = "http://127.0.0.1:5173/cb";

async fn introspect(app: &TestApp, (id, secret): (&str, &str), token: &str) -> Value {
    let response = app
        .client
        .post(app.url("/oauth2/v1/introspect"))
        .header("Authorization", basic(id, secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

fn code_of(redirect: &str) -> String {
    query_param(redirect, "code").unwrap_or_else(|| panic!("no code: {redirect}"))
}

fn code_form<'a>(client_id: &'a str, code: &'a str, resource: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ];
    if !resource.is_empty() {
        form.push(("resource", resource));
    }
    form
}

backend_tests! {
    async fn resource_servers_are_managed_through_the_api(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let writer = s2s_app(&app, &root, &["write_app", "read_app"]).await;
        let reader = s2s_app(&app, &root, &["read_app"]).await;
        let spa = create_app(&app, "Orders SPA", "spa", &[CB]).await;
        let body = json!({
            "identifier": API, "name": "Orders", "scopes": ["orders:read", "orders:write", "orders:read"],
            "accessTokenExpiresIn": 600, "introspectionClientId": writer.client_id,
        });
        let (status, refused) = call(&app, "POST", "/api/v1/resource-servers", &reader.token, Some(body.clone())).await;
        assert!(status == 401 || status == 403, "{status} {refused}");
        let (status, created) = call(&app, "POST", "/api/v1/resource-servers", &writer.token, Some(body.clone())).await;
        assert_eq!(status, 201, "{created}");
        let rs = &created["resourceServer"];
        assert_eq!(rs["identifier"], API);
        assert_eq!(rs["scopes"], json!(["orders:read", "orders:write"]));
        assert_eq!(rs["accessTokenExpiresIn"], 600);
        assert_eq!(rs["isActive"], true);
        let id = rs["id"].as_i64().unwrap();
        let (status, dup) = call(&app, "POST", "/api/v1/resource-servers", &writer.token, Some(body)).await;
        assert_eq!(status, 409, "{dup}");
        for bad in [
            json!({"name": "No identifier"}),
            json!({"identifier": "https://x.example/#frag", "name": "Fragment"}),
            json!({"identifier": "not a uri", "name": "Relative"}),
            json!({"identifier": "https://y.example", "name": ""}),
            json!({"identifier": "https://y.example", "name": "Short", "accessTokenExpiresIn": 10}),
            json!({"identifier": "https://y.example", "name": "Spaces", "scopes": ["a b"]}),
            json!({"identifier": "https://y.example", "name": "SPA", "introspectionClientId": spa.1}),
            json!({"identifier": "https://y.example", "name": "Extra", "unknown": true}),
        ] {
            let (status, answer) = call(&app, "POST", "/api/v1/resource-servers", &writer.token, Some(bad.clone())).await;
            assert_eq!(status, 400, "{bad}: {answer}");
        }
        let (_, listed) = call(&app, "GET", "/api/v1/resource-servers", &reader.token, None).await;
        assert_eq!(listed["resourceServers"].as_array().unwrap().len(), 1, "{listed}");
        let path = format!("/api/v1/resource-servers/{id}");
        let (status, updated) = call(&app, "PUT", &path, &writer.token,
            Some(json!({"scopes": ["orders:read"], "accessTokenExpiresIn": 0, "introspectionClientId": ""}))).await;
        assert_eq!(status, 200, "{updated}");
        let rs = &updated["resourceServer"];
        assert_eq!((&rs["scopes"], &rs["accessTokenExpiresIn"], &rs["introspectionClientId"]),
            (&json!(["orders:read"]), &Value::Null, &Value::Null), "{updated}");
        assert_eq!(rs["name"], "Orders", "{updated}");
        let (status, _) = call(&app, "DELETE", &path, &writer.token, None).await;
        assert_eq!(status, 204);
        let (status, _) = call(&app, "GET", &path, &reader.token, None).await;
        assert_eq!(status, 404);
        // The identifier is free again.
        let (status, again) = call(&app, "POST", "/api/v1/resource-servers", &writer.token,
            Some(json!({"identifier": API, "name": "Orders again"}))).await;
        assert_eq!(status, 201, "{again}");
    }

    async fn a_token_for_an_api_is_good_for_that_api_only(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let api_app = s2s_app(&app, &root, &["read_user"]).await;
        let stranger = s2s_app(&app, &root, &["read_user"]).await;
        let (status, created) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
            "identifier": API, "name": "Orders", "scopes": ["orders:read"],
            "accessTokenExpiresIn": 600, "introspectionClientId": api_app.client_id,
        }))).await;
        assert_eq!(status, 201, "{created}");
        let rs_id = created["resourceServer"]["id"].as_i64().unwrap();
        let (_, client_id, _) = create_app(&app, "Orders SPA", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let scope = "openid offline_access orders:read";

        // An API that is not registered is refused back to the client.
        let unknown = authorize_url(&client_id, CB, &[("resource", "https://unknown.example"), ("scope", scope)]);
        let page = browser.get(&unknown).await;
        let location = page.location.unwrap_or_default();
        assert!(location.starts_with(CB) && location.contains("error=invalid_target"), "{location}");

        let asks = authorize_url(&client_id, CB, &[("resource", API), ("scope", scope)]);
        let email = format!("orders.{backend:?}@example.com").to_lowercase();
        let redirect = sign_up(&browser, &asks, &email, CB).await;
        // A code redeemed for another API than its authorization's: refused (and spent).
        let code = code_of(&redirect);
        let (status, answer) = exchange(&app, &code_form(&client_id, &code, "https://other.example")).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_target")), "{answer}");
        // Signed in already: the next authorization answers at once.
        let again = browser.follow(browser.get(&asks).await, CB).await;
        let code = code_of(&again.location.unwrap());
        let (status, tokens) = exchange(&app, &code_form(&client_id, &code, API)).await;
        assert_eq!(status, 200, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        let header = jwt_part(access, 0);
        let claims = jwt_part(access, 1);
        assert_eq!(header["typ"], "at+jwt", "{header}");
        assert_eq!(claims["aud"], API, "{claims}");
        assert_eq!(claims["client_id"], client_id.as_str(), "{claims}");
        assert_eq!(claims["iss"], app.base.as_str(), "{claims}");
        assert!(claims["scope"].as_str().unwrap().split(' ').any(|s| s == "orders:read"), "{claims}");
        assert!(claims["auth_time"].is_i64() && claims["jti"].is_string(), "{claims}");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);
        assert_eq!(tokens["expires_in"], 600, "{tokens}");
        // Not this server's own: userinfo and the management API refuse it.
        let info = app.client.get(app.url("/oauth2/v1/userinfo")).bearer_auth(access).send().await.unwrap();
        assert_eq!(info.status().as_u16(), 401);
        let (status, _) = call(&app, "GET", "/api/v1/users", access, None).await;
        assert_eq!(status, 401);
        // The API's own app sees it; a stranger does not.
        let seen = introspect(&app, (&api_app.client_id, &api_app.secret), access).await;
        assert_eq!((seen["active"].as_bool(), seen["aud"].as_str()), (Some(true), Some(API)), "{seen}");
        let hidden = introspect(&app, (&stranger.client_id, &stranger.secret), access).await;
        assert_eq!(hidden, json!({"active": false}));

        // A refresh stays with the grant's API.
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let form = |resource: &'static str| {
            let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client_id.as_str())];
            if !resource.is_empty() {
                form.push(("resource", resource));
            }
            form
        };
        let (status, answer) = exchange(&app, &form("https://other.example")).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_target")), "{answer}");
        let (status, refreshed) = exchange(&app, &form("")).await;
        assert_eq!(status, 200, "{refreshed}");
        let next = refreshed["access_token"].as_str().unwrap();
        assert_eq!(jwt_part(next, 1)["aud"], API);
        let refresh = refreshed["refresh_token"].as_str().unwrap_or(refresh).to_owned();

        // Switched off: its tokens are inactive and its grants give no more.
        let (status, _) = call(&app, "PUT", &format!("/api/v1/resource-servers/{rs_id}"), &root,
            Some(json!({"isActive": false}))).await;
        assert_eq!(status, 200);
        let seen = introspect(&app, (&api_app.client_id, &api_app.secret), next).await;
        assert_eq!(seen, json!({"active": false}));
        let (status, answer) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)]).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_target")), "{answer}");
        let page = browser.get(&asks).await;
        assert!(page.location.unwrap_or_default().contains("error=invalid_target"));
    }
}

backend_tests! {
    async fn the_admin_panel_registers_edits_and_deletes_an_api(backend: Backend) {
        use crate::admin::{panel_browser, set_up_admin, ADMIN_EMAIL};
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (browser, _) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        let page = browser.get("/admin/resource-servers").await;
        assert_eq!(page.status, 200, "{}", page.html);
        let fields = hidden_fields(&page.html, "create-resource-server-form", &[
            ("identifier", API), ("name", "Orders"), ("scopes", "orders:read\n orders:write \n"),
            ("access_token_expires_in", "900"), ("introspection_client_id", ""),
        ]);
        let created = browser.post("/admin/resource-servers", &fields).await;
        assert_eq!(created.status, 303, "{}", created.html);
        let root = app.admin_token("root").await;
        let (_, listed) = call(&app, "GET", "/api/v1/resource-servers", &root, None).await;
        let rs = &listed["resourceServers"][0];
        assert_eq!((&rs["identifier"], &rs["scopes"], &rs["accessTokenExpiresIn"]),
            (&json!(API), &json!(["orders:read", "orders:write"]), &json!(900)), "{listed}");
        let id = rs["id"].as_i64().unwrap();
        // A bad lifetime is refused and changes nothing; the edit form switches it off.
        let page = browser.get("/admin/resource-servers").await;
        let form_id = format!("resource-server-{id}");
        let bad = hidden_fields(&page.html, &form_id, &[
            ("identifier", API), ("name", "Orders"), ("access_token_expires_in", "soon"),
        ]);
        let refused = browser.post(&format!("/admin/resource-servers/{id}"), &bad).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        let off = hidden_fields(&page.html, &form_id, &[
            ("identifier", API), ("name", "Orders v2"), ("scopes", "orders:read"), ("access_token_expires_in", ""),
        ]);
        let saved = browser.post(&format!("/admin/resource-servers/{id}"), &off).await;
        assert_eq!(saved.status, 303, "{}", saved.html);
        let (_, got) = call(&app, "GET", &format!("/api/v1/resource-servers/{id}"), &root, None).await;
        let rs = &got["resourceServer"];
        assert_eq!((&rs["name"], &rs["isActive"], &rs["accessTokenExpiresIn"]),
            (&json!("Orders v2"), &json!(false), &Value::Null), "{got}");
        // A post without the panel's CSRF token changes nothing.
        let forged = browser.post(&format!("/admin/resource-servers/{id}/delete"), &[("csrf_token".into(), "x".into())]).await;
        assert_eq!(forged.status, 403, "{}", forged.html);
        let page = browser.get("/admin/resource-servers").await;
        let delete = hidden_fields(&page.html, &form_id, &[]);
        let csrf: Vec<(String, String)> = delete.into_iter().filter(|(k, _)| k == "csrf_token").collect();
        let gone = browser.post(&format!("/admin/resource-servers/{id}/delete"), &csrf).await;
        assert_eq!(gone.status, 303, "{}", gone.html);
        let (status, _) = call(&app, "GET", &format!("/api/v1/resource-servers/{id}"), &root, None).await;
        assert_eq!(status, 404);
    }
}
