//! `/api/v1/scopes`, `/api/v1/roles`, `/api/v1/apps` through HTTP with S2S tokens.

use serde_json::{json, Value};

use crate::harness::{backend_tests, call, token_with, TestApp, BOOTSTRAP_ID, BOOTSTRAP_SECRET};

backend_tests! {
    async fn scopes_are_managed_and_built_ins_are_protected(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "GET", "/api/v1/scopes", &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["scopes"].as_array().unwrap().len(), 21);
        let openid = &body["scopes"][0];
        for field in ["id", "name", "type", "note", "createdAt", "updatedAt", "deletedAt"] {
            assert!(openid.get(field).is_some(), "{field} missing: {openid}");
        }

        let (status, body) = call(&app, "POST", "/api/v1/scopes", &root, Some(json!({
            "name": "Read_Reports", "type": "s2s", "note": "reports", "locales": [{"locale": "en", "value": "Read reports"}]
        }))).await;
        assert_eq!(status, 201, "{body}");
        let scope = &body["scope"];
        assert_eq!(scope["name"], "read_reports");
        assert_eq!(scope["locales"][0]["value"], "Read reports");
        assert_eq!(scope["locales"][0]["scopeId"], scope["id"]);
        let id = scope["id"].as_i64().unwrap();

        let (status, body) = call(&app, "PUT", &format!("/api/v1/scopes/{id}"), &root, Some(json!({
            "note": "changed", "locales": [{"locale": "fr", "value": "Lire"}]
        }))).await;
        assert_eq!(status, 200);
        assert_eq!(body["scope"]["note"], "changed");
        assert_eq!(body["scope"]["locales"].as_array().unwrap().len(), 1);
        assert_eq!(body["scope"]["locales"][0]["locale"], "fr");

        let before = app.isolation.table_counts().await;
        for (method, path, payload, status, message) in [
            ("POST", "/api/v1/scopes".to_string(), Some(json!({"name": "openid", "type": "spa"})), 400, "Built-in scopes cannot be created, deleted, or renamed"),
            ("POST", "/api/v1/scopes".to_string(), Some(json!({"name": "read_reports", "type": "s2s"})), 409, "A scope with this name already exists"),
            ("POST", "/api/v1/scopes".to_string(), Some(json!({"name": "", "type": "s2s"})), 400, "name must be between 1 and 50 characters"),
            ("POST", "/api/v1/scopes".to_string(), Some(json!({"name": "x", "type": "web"})), 400, "type must be one of spa, s2s"),
            ("PUT", format!("/api/v1/scopes/{id}"), Some(json!({"name": "root"})), 400, "Built-in scopes cannot be created, deleted, or renamed"),
            ("PUT", "/api/v1/scopes/1".to_string(), Some(json!({"name": "renamed"})), 400, "Built-in scopes cannot be created, deleted, or renamed"),
            ("DELETE", "/api/v1/scopes/4".to_string(), None, 400, "Built-in scopes cannot be created, deleted, or renamed"),
            ("GET", "/api/v1/scopes/9999".to_string(), None, 404, "No scope found"),
            ("GET", "/api/v1/scopes/abc".to_string(), None, 400, "id must be a positive integer"),
        ] {
            let (got, body) = call(&app, method, &path, &root, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        let (status, body) = call(&app, "POST", "/api/v1/scopes", &root, Some(json!({"name": 5}))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, _) = call(&app, "DELETE", &format!("/api/v1/scopes/{id}"), &root, None).await;
        assert_eq!(status, 204);
        let (status, _) = call(&app, "GET", &format!("/api/v1/scopes/{id}"), &root, None).await;
        assert_eq!(status, 404);
        // The name is free again once deleted.
        let (status, _) = call(&app, "POST", "/api/v1/scopes", &root, Some(json!({"name": "read_reports", "type": "s2s"}))).await;
        assert_eq!(status, 201);
    }

    async fn roles_are_managed_and_super_admin_is_protected(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "GET", "/api/v1/roles", &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["roles"][0]["name"], "super_admin");
        let (status, body) = call(&app, "POST", "/api/v1/roles", &root, Some(json!({"name": "editor", "note": "edits"}))).await;
        assert_eq!(status, 201);
        let id = body["role"]["id"].as_i64().unwrap();
        let (status, body) = call(&app, "PUT", &format!("/api/v1/roles/{id}"), &root, Some(json!({"name": "writer"}))).await;
        assert_eq!(status, 200);
        assert_eq!(body["role"]["name"], "writer");
        assert_eq!(body["role"]["note"], "edits");
        let (status, body) = call(&app, "GET", &format!("/api/v1/roles/{id}/users"), &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["users"], json!([]));

        let before = app.isolation.table_counts().await;
        for (method, path, payload, status, message) in [
            ("POST", "/api/v1/roles".to_string(), Some(json!({"name": "super_admin"})), 400, "Built-in roles cannot be created, deleted, or updated"),
            ("PUT", "/api/v1/roles/1".to_string(), Some(json!({"note": "x"})), 400, "Built-in roles cannot be created, deleted, or updated"),
            ("DELETE", "/api/v1/roles/1".to_string(), None, 400, "Built-in roles cannot be created, deleted, or updated"),
            ("PUT", format!("/api/v1/roles/{id}"), Some(json!({"name": "super_admin"})), 400, "Built-in roles cannot be created, deleted, or updated"),
            ("POST", "/api/v1/roles".to_string(), Some(json!({"name": "writer"})), 409, "A role with this name already exists"),
            ("GET", "/api/v1/roles/999".to_string(), None, 404, "Role not found"),
        ] {
            let (got, body) = call(&app, method, &path, &root, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);
        let (status, _) = call(&app, "DELETE", &format!("/api/v1/roles/{id}"), &root, None).await;
        assert_eq!(status, 204);
        let (status, _) = call(&app, "DELETE", &format!("/api/v1/roles/{id}"), &root, None).await;
        assert_eq!(status, 404);
    }

    async fn apps_are_managed_and_only_root_assigns_root(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "Shop", "type": "spa", "scopes": ["openid", "Profile", "nonsense"],
            "redirectUris": [" https://Shop.example/Callback "]
        }))).await;
        assert_eq!(status, 201, "{body}");
        let created = &body["app"];
        assert_eq!(created["scopes"], json!(["openid", "profile"]));
        assert_eq!(created["redirectUris"], json!(["https://Shop.example/Callback"]));
        assert_eq!(created["secret"].as_str().unwrap().len(), 43);
        assert_eq!(created["clientId"].as_str().unwrap().len(), 32);
        let id = created["id"].as_i64().unwrap();

        let (status, body) = call(&app, "GET", &format!("/api/v1/apps/{id}"), &root, None).await;
        assert_eq!(status, 200);
        assert!(body["app"].get("secret").is_none(), "the secret is shown only once");
        let (_, body) = call(&app, "GET", "/api/v1/apps", &root, None).await;
        assert_eq!(body["apps"].as_array().unwrap().len(), 3);
        // The seeded panel app keeps its refresh token (Melody's panel holds the first one); a
        // new app rotates unless it asks not to.
        let rotates = |name: &str| body["apps"].as_array().unwrap().iter().find(|a| a["name"] == name).map(|a| a["rotateRefreshTokens"].clone());
        assert_eq!(rotates("Admin Panel (SPA)"), Some(json!(false)));
        assert_eq!(rotates("Admin Panel (S2S)"), Some(json!(true)));
        assert_eq!(body["apps"].as_array().unwrap().iter().filter(|a| a["rotateRefreshTokens"] == true).count(), 2, "{body}");
        assert!(body["apps"].as_array().unwrap().iter().all(|a| a.get("secret").is_none()));

        // A write_app caller manages apps but cannot hand out root.
        let writer = token_with(&app, &root, &["write_app", "read_app"]).await;
        let before = app.isolation.table_counts().await;
        let (status, body) = call(&app, "POST", "/api/v1/apps", &writer, Some(json!({
            "name": "Escalate", "type": "s2s", "scopes": ["root"], "redirectUris": []
        }))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Only an app with the root scope can assign the root scope to an app");
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{id}"), &writer, Some(json!({"scopes": ["root"]}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Only an app with the root scope can assign the root scope to an app");
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{id}"), &writer, Some(json!({"scopes": ["nope"]}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Unknown scope");
        let (status, body) = call(&app, "POST", "/api/v1/apps", &writer, Some(json!({
            "name": "Bad", "type": "spa", "scopes": [], "redirectUris": ["https://x.example/#frag"]
        }))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{id}"), &writer, Some(json!({
            "name": "Shop 2", "isActive": false, "scopes": ["openid"], "rotateRefreshTokens": false
        }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["app"]["name"], "Shop 2");
        assert_eq!(body["app"]["isActive"], false);
        assert_eq!(body["app"]["rotateRefreshTokens"], false);
        assert_eq!(body["app"]["scopes"], json!(["openid"]));
        assert_eq!(body["app"]["redirectUris"], json!(["https://Shop.example/Callback"]));
        let (status, body) = call(&app, "POST", "/api/v1/apps", &writer, Some(json!({
            "name": "Keeps its token", "type": "spa", "scopes": ["openid"], "redirectUris": ["https://keep.example/cb"], "rotateRefreshTokens": false
        }))).await;
        assert_eq!((status, body["app"]["rotateRefreshTokens"].as_bool()), (201, Some(false)), "{body}");
        // Root may hand out root.
        let (status, body) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "Second root", "type": "s2s", "scopes": ["root"], "redirectUris": []
        }))).await;
        assert_eq!(status, 201);
        assert_eq!(body["app"]["scopes"], json!(["root"]));

        let (status, _) = call(&app, "DELETE", &format!("/api/v1/apps/{id}"), &writer, None).await;
        assert_eq!(status, 204);
        let (status, body) = call(&app, "GET", &format!("/api/v1/apps/{id}"), &root, None).await;
        assert_eq!(status, 404);
        assert_eq!(body["error_description"], "No app found");
    }

    async fn a_disabled_app_loses_its_tokens_and_its_api_access(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (_, body) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "Reader", "type": "s2s", "scopes": ["read_app"], "redirectUris": []
        }))).await;
        let (id, client_id, secret) = (
            body["app"]["id"].as_i64().unwrap(),
            body["app"]["clientId"].as_str().unwrap().to_owned(),
            body["app"]["secret"].as_str().unwrap().to_owned(),
        );
        let token = app.client_credentials(&client_id, &secret, "read_app").await.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(call(&app, "GET", "/api/v1/apps", &token, None).await.0, 200);
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{id}"), &root, Some(json!({"isActive": false}))).await;
        assert_eq!(status, 200);
        assert_eq!(call(&app, "GET", "/api/v1/apps", &token, None).await.0, 401);
        let refused = app.client_credentials(&client_id, &secret, "read_app").await;
        assert_eq!(refused.status(), 400);
    }

    async fn every_route_checks_its_scope(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        for (method, path, scope) in [
            ("GET", "/api/v1/scopes", "read_scope"),
            ("POST", "/api/v1/scopes", "write_scope"),
            ("GET", "/api/v1/scopes/1", "read_scope"),
            ("PUT", "/api/v1/scopes/1", "write_scope"),
            ("DELETE", "/api/v1/scopes/1", "write_scope"),
            ("GET", "/api/v1/roles", "read_role"),
            ("POST", "/api/v1/roles", "write_role"),
            ("GET", "/api/v1/roles/1", "read_role"),
            ("GET", "/api/v1/roles/1/users", "read_role"),
            ("PUT", "/api/v1/roles/1", "write_role"),
            ("DELETE", "/api/v1/roles/1", "write_role"),
            ("GET", "/api/v1/apps", "read_app"),
            ("POST", "/api/v1/apps", "write_app"),
            ("GET", "/api/v1/apps/1", "read_app"),
            ("PUT", "/api/v1/apps/1", "write_app"),
            ("DELETE", "/api/v1/apps/1", "write_app"),
        ] {
            let (status, body) = call(&app, method, path, &reader, Some(json!({}))).await;
            assert_eq!(status, 401, "{method} {path}");
            assert_eq!(body["error_description"], format!("Insufficient scope: this operation requires {scope}"), "{method} {path}");
            let (status, _) = app.client.request(method.parse().unwrap(), app.url(path)).send().await.map(|r| (r.status().as_u16(), ())).unwrap();
            assert_eq!(status, 401, "{method} {path} without a token");
        }
        // read_user alone does not open /roles/:id/users; read_user + read_role does.
        let both = token_with(&app, &root, &["read_user", "read_role"]).await;
        assert_eq!(call(&app, "GET", "/api/v1/roles/1/users", &both, None).await.0, 200);
        let _ = (BOOTSTRAP_ID, BOOTSTRAP_SECRET);
    }

    /// Where Melody's panel creates the apps (it cannot set `rotateRefreshTokens`), the operator
    /// chooses what an app created without the field does; asking still wins.
    async fn the_rotation_default_of_new_apps_is_the_operators(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.rotate_refresh_tokens_by_default = false).await;
        let root = app.admin_token("root").await;
        for (asked, rotates) in [(None, false), (Some(true), true), (Some(false), false)] {
            let mut body = json!({"name": "Panel-made app", "type": "spa", "scopes": ["openid"], "redirectUris": ["https://app.example/cb"]});
            if let Some(asked) = asked {
                body["rotateRefreshTokens"] = json!(asked);
            }
            let (status, created) = call(&app, "POST", "/api/v1/apps", &root, Some(body)).await;
            assert_eq!(status, 201, "{created}");
            assert_eq!(created["app"]["rotateRefreshTokens"], rotates, "asked {asked:?}");
        }
        let default = TestApp::spawn(backend).await;
        let root = default.admin_token("root").await;
        let (_, created) = call(&default, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "API-made app", "type": "spa", "scopes": ["openid"], "redirectUris": ["https://app.example/cb"]
        }))).await;
        assert_eq!(created["app"]["rotateRefreshTokens"], true, "{created}");
    }

    /// Melody's admin panel shows an error body as it is: the S2S apps listed in
    /// `api_text_error_clients` get the message alone, everyone else keeps the JSON.
    async fn listed_s2s_apps_get_their_refusals_as_plain_text(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.api_text_error_clients = vec![BOOTSTRAP_ID.to_owned()];
        })
        .await;
        let root = app.admin_token("root").await;
        let listed_reader = app.admin_token("read_user").await;
        let unlisted = token_with(&app, &root, &["root"]).await;

        let (status, kind, text) = raw(&app, "GET", "/api/v1/users/no-such-user", Some(&root), None).await;
        assert_eq!((status, kind.as_str(), text.as_str()), (404, "text/plain; charset=utf-8", "No user found"));
        let (status, kind, text) = raw(&app, "POST", "/api/v1/scopes", Some(&listed_reader), Some("{}")).await;
        assert_eq!((status, kind.as_str(), text.as_str()), (401, "text/plain; charset=utf-8", "Insufficient scope: this operation requires write_scope"));
        // A malformed body is refused as text too, and creates nothing.
        let (status, kind, text) = raw(&app, "POST", "/api/v1/scopes", Some(&root), Some("{\"name\": ")).await;
        assert_eq!((status, kind.as_str()), (400, "text/plain; charset=utf-8"), "{text}");
        assert!(!text.is_empty() && !text.starts_with('{'), "{text}");
        let (_, scopes) = call(&app, "GET", "/api/v1/scopes", &root, None).await;
        assert_eq!(scopes["scopes"].as_array().unwrap().len(), 21);
        // Answers that are not refusals keep their JSON.
        let (status, kind, _) = raw(&app, "GET", "/api/v1/scopes", Some(&root), None).await;
        assert_eq!((status, kind.as_str()), (200, "application/json"));

        // Another app, and a request whose caller is not known, keep the JSON refusal.
        let (status, body) = call(&app, "GET", "/api/v1/users/no-such-user", &unlisted, None).await;
        assert_eq!((status, body["error_description"].as_str()), (404, Some("No user found")));
        let (status, kind, text) = raw(&app, "GET", "/api/v1/users", None, None).await;
        assert_eq!((status, kind.as_str()), (401, "application/json"), "{text}");
        let forged = format!("{root}x");
        let (status, kind, _) = raw(&app, "GET", "/api/v1/users", Some(&forged), None).await;
        assert_eq!((status, kind.as_str()), (401, "application/json"));
    }
}

/// Status, content type and body text of a request with an optional bearer token and JSON body.
async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String, String) {
    let mut request = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_generated_and_swagger_ui_is_served() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let doc: Value = app.get_json("/api/v1/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete"].contains(&k.as_str()))
                .count()
        })
        .sum();
    assert_eq!(
        operations, 103,
        "Melody's 81 /api/v1 operations, 6 for connect apps, 5 for resource servers, \
         1 for registration tokens, 1 for the audit trail, 8 for webhooks, and /info"
    );
    let token = &doc["paths"]["/api/v1/registration-tokens"]["post"];
    assert_eq!(token["security"][0]["oauth2"][0], "root", "{token}");
    // The app bodies carry the key, PAR, DPoP and FAPI settings, and the logout channels.
    let schemas = &doc["components"]["schemas"];
    let text = |name: &str| serde_json::to_string(&schemas[name]).unwrap();
    let groups = [
        (
            "ClientSecurityInput",
            [
                "tokenEndpointAuthMethod",
                "jwksUri",
                "dpopBoundAccessTokens",
                "fapi2SecurityProfile",
            ],
        ),
        (
            "LogoutChannelsInput",
            [
                "backchannelLogoutUri",
                "backchannelLogoutSessionRequired",
                "frontchannelLogoutUri",
                "frontchannelLogoutSessionRequired",
            ],
        ),
    ];
    for (group, settings) in groups {
        for body in ["PostAppReq", "PutAppReq"] {
            let reference = format!("#/components/schemas/{group}");
            assert!(text(body).contains(&reference), "{body} {group}");
        }
        for setting in settings {
            assert!(
                text(group).contains(setting) && text("AppView").contains(setting),
                "{setting}"
            );
        }
    }
    let hooks = &doc["paths"]["/api/v1/webhooks/deliveries/{id}/resend"]["post"];
    assert_eq!(
        hooks["security"][0]["oauth2"][0], "write_webhooks",
        "{hooks}"
    );
    let rs = &doc["paths"]["/api/v1/resource-servers"]["post"];
    assert_eq!(rs["security"][0]["oauth2"][0], "write_app", "{rs}");
    assert!(
        doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"].is_object()
    );
    assert!(doc["paths"]["/api/v1/apps"]["post"]["security"][0]["oauth2"][0] == "write_app");
    let page = app
        .client
        .get(app.url("/api/v1/swagger/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_openapi_document_lists_exactly_the_embedded_routes() {
    const ORIGIN: &str = "http://127.0.0.1:5173";
    const CB: &str = "http://127.0.0.1:5173/cb";
    let app = TestApp::spawn_with(crate::harness::Backend::Sqlite, |c| {
        c.embedded_auth_origins = vec![ORIGIN.into()]
    })
    .await;
    let doc: Value = app.get_json("/api/v1/embedded-openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["info"]["title"], "Gatehouse Embedded Auth API");
    let methods = ["get", "post", "put", "patch", "delete"];
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/embedded-auth/v1/"), "{path}");
        for method in item.as_object().unwrap().keys() {
            if methods.contains(&method.as_str()) {
                operations.push((path.clone(), method.clone()));
            }
        }
    }
    assert_eq!(
        operations.len(),
        33,
        "Melody's 31 operations, plus reset-password and the recovery codes' confirmation: \
         {operations:?}"
    );
    for (path, method) in [
        ("/embedded-auth/v1/{sessionId}/user-orgs", "get"),
        ("/embedded-auth/v1/{sessionId}/user-orgs", "post"),
        ("/embedded-auth/v1/{sessionId}/app-banners", "get"),
    ] {
        assert!(
            operations.contains(&(path.to_owned(), method.to_owned())),
            "{method} {path}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for schema in ["AuthRes", "InitiateBody", "UserTokens", "ErrorBody"] {
        assert!(schemas[schema].is_object(), "{schema}");
    }

    // Every documented operation is routed, with a live session so no step is a 404 for want
    // of one; an empty body is refused by the handler (400), never by the router.
    let (_, client_id, _) = crate::flow::create_app(&app, "Embedded", "spa", &[CB]).await;
    let initiate = json!({
        "clientId": client_id, "redirectUri": CB, "codeChallenge": crate::flow::challenge(crate::flow::VERIFIER),
        "codeChallengeMethod": "S256", "scopes": ["openid"], "locale": "en",
    });
    let (status, body) =
        crate::harness::post_from_origin(&app, "/embedded-auth/v1/initiate", ORIGIN, initiate)
            .await;
    assert_eq!(status, 200, "{body}");
    let session = body["sessionId"].as_str().unwrap();
    let send = |method: &str, path: &str| {
        let url = app.url(&path.replace("{sessionId}", session));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let request = app
            .client
            .request(method.clone(), url)
            .header("Origin", ORIGIN);
        async move {
            let request = if method == reqwest::Method::GET {
                request
            } else {
                request.json(&json!({}))
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    for (path, method) in &operations {
        let (status, body) = send(method, path).await;
        assert!(
            ![404, 405].contains(&status),
            "{method} {path}: {status} {body}"
        );
    }
    // …and the server answers no other method on those paths, and nothing else under them.
    for path in doc["paths"].as_object().unwrap().keys() {
        for method in methods {
            if !operations.contains(&(path.clone(), method.to_owned())) {
                let (status, body) = send(method, path).await;
                assert_eq!(status, 405, "{method} {path}: {body}");
            }
        }
    }
    let (status, _) = send("get", "/embedded-auth/v1/{sessionId}/no-such-step").await;
    assert_eq!(status, 404, "the probe tells a missing route apart");

    // The guard covers the API, not its documentation.
    let (status, _) = crate::harness::post_from_origin(
        &app,
        "/embedded-auth/v1/initiate",
        "https://evil.example",
        json!({}),
    )
    .await;
    assert_eq!(status, 400);
    let foreign = app
        .client
        .get(app.url("/api/v1/embedded-openapi.json"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 200);

    // Both Swagger UIs: the bare path redirects to the slash, the page loads, and each page
    // is set up with its own document.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (ui, document) in [
        ("/api/v1/swagger", "/api/v1/openapi.json"),
        ("/api/v1/embedded-swagger", "/api/v1/embedded-openapi.json"),
    ] {
        let bare = no_redirects.get(app.url(ui)).send().await.unwrap();
        assert!(bare.status().is_redirection(), "{ui}: {}", bare.status());
        assert_eq!(bare.headers()["location"], format!("{ui}/").as_str());
        let page = app.client.get(app.url(ui)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{ui}");
        assert_eq!(page.url().path(), format!("{ui}/"));
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        let init = app
            .client
            .get(app.url(&format!("{ui}/swagger-initializer.js")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(init.contains(&format!("\"{document}\"")), "{ui}: {init}");
    }
}
