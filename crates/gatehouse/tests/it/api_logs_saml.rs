//! `/api/v1/logs/*` and `/api/v1/saml/idps` (root only).

use serde_json::{json, Value};

use crate::harness::{backend_tests, call, TestApp};

async fn non_root_token(app: &TestApp, root: &str) -> String {
    let (_, body) = call(app, "POST", "/api/v1/apps", root, Some(json!({
        "name": "almost", "type": "s2s", "scopes": ["read_user", "write_user", "read_app", "write_app"], "redirectUris": []
    }))).await;
    let response = app
        .client_credentials(
            body["app"]["clientId"].as_str().unwrap(),
            body["app"]["secret"].as_str().unwrap(),
            "read_user write_user read_app write_app",
        )
        .await;
    response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    async fn logs_are_paged_read_and_pruned_by_root_only(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        for (day, receiver) in [("2026-01-01", "a@example.com"), ("2026-01-02", "b@example.com"), ("2026-01-03", "c@example.com")] {
            app.isolation.execute(
                &format!("INSERT INTO email_logs (success, receiver, response, content, created_at, updated_at) VALUES ((1 = 1), $1, 'ok', 'Your code is ******', '{day} 10:00:00', '{day} 10:00:00')"),
                receiver,
            ).await;
        }
        app.isolation.execute(
            "INSERT INTO sms_logs (success, receiver, response, content) VALUES ((1 = 0), $1, 'refused', 'code ******')", "+15550100",
        ).await;
        app.isolation.execute("INSERT INTO users (auth_id, email) VALUES ($1, 'z@example.com')", "00000000-0000-4000-8000-00000000000z").await;
        app.isolation.execute(
            "INSERT INTO sign_in_logs (user_id, ip, detail) SELECT id, '2001:db8::1', '{\"country\":\"NZ\"}' FROM users WHERE auth_id = $1",
            "00000000-0000-4000-8000-00000000000z",
        ).await;

        let (status, body) = call(&app, "GET", "/api/v1/logs/email?page_size=2&page_number=1", &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], 3);
        assert_eq!(body["logs"][0]["receiver"], "c@example.com", "newest first");
        assert_eq!(body["logs"].as_array().unwrap().len(), 2);
        let id = body["logs"][0]["id"].as_i64().unwrap();
        let (status, body) = call(&app, "GET", &format!("/api/v1/logs/email/{id}"), &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["log"]["success"], true);
        assert_eq!(body["log"]["createdAt"], "2026-01-03 10:00:00");
        let (_, body) = call(&app, "GET", "/api/v1/logs/sms", &root, None).await;
        assert_eq!(body["logs"][0]["success"], false);
        let (_, body) = call(&app, "GET", "/api/v1/logs/sign-in", &root, None).await;
        assert_eq!(body["logs"][0]["ip"], "2001:db8::1");
        assert_eq!(body["logs"][0]["detail"], "{\"country\":\"NZ\"}");

        let other = non_root_token(&app, &root).await;
        let before = app.isolation.table_counts().await;
        for (method, path, token, status, message) in [
            ("GET", "/api/v1/logs/email", &other, 401, "Insufficient scope: this operation requires root"),
            ("DELETE", "/api/v1/logs/email?before=2026-01-03", &other, 401, "Insufficient scope: this operation requires root"),
            ("DELETE", "/api/v1/logs/email", &root, 400, "deleteBefore must be present and in utc format"),
            ("DELETE", "/api/v1/logs/email?before=yesterday", &root, 400, "deleteBefore must be present and in utc format"),
            ("GET", "/api/v1/logs/sms/999", &root, 404, "No log found"),
        ] {
            let (got, body) = call(&app, method, path, token, None).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, _) = call(&app, "DELETE", "/api/v1/logs/email?before=2026-01-03", &root, None).await;
        assert_eq!(status, 204);
        let (_, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        assert_eq!(body["count"], 1);
        assert_eq!(body["logs"][0]["receiver"], "c@example.com");
        assert_eq!(call(&app, "DELETE", "/api/v1/logs/email?before=2026-01-03T10:00:01Z", &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        assert_eq!(body["count"], 0);
    }

    async fn saml_identity_providers_are_managed_by_root(backend: Backend) {
        let off = TestApp::spawn(backend).await;
        let root = off.admin_token("root").await;
        let (status, body) = call(&off, "GET", "/api/v1/saml/idps", &root, None).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "SAML SP feature is not enabled");

        let app = TestApp::spawn_with(backend, |c| c.enable_saml_sso_as_sp = true).await;
        let root = app.admin_token("root").await;
        let metadata = "<EntityDescriptor entityID=\"https://idp.example\"/>";
        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "corp", "userIdAttribute": "uid", "emailAttribute": "mail", "firstNameAttribute": null,
            "lastNameAttribute": null, "metadata": metadata
        }))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["idp"]["isActive"], true);
        assert_eq!(body["idp"]["firstNameAttribute"], Value::Null);
        let id = body["idp"]["id"].as_i64().unwrap();

        let other = non_root_token(&app, &root).await;
        let before = app.isolation.table_counts().await;
        for (method, path, token, payload, status, message) in [
            ("GET", "/api/v1/saml/idps".to_string(), &other, None, 401, "Insufficient scope: this operation requires root"),
            ("POST", "/api/v1/saml/idps".to_string(), &root, Some(json!({"name": "corp", "userIdAttribute": "uid", "metadata": metadata})), 409, "A SAML IDP with this name already exists"),
            ("POST", "/api/v1/saml/idps".to_string(), &root, Some(json!({"name": "x", "userIdAttribute": "uid", "metadata": "not xml"})), 400, "metadata must be an XML document"),
            ("PUT", "/api/v1/saml/idps/999".to_string(), &root, Some(json!({"isActive": false})), 404, "No SAML IDP found"),
        ] {
            let (got, body) = call(&app, method, &path, token, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "PUT", &format!("/api/v1/saml/idps/{id}"), &root, Some(json!({"isActive": false, "emailAttribute": "email"}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["idp"]["isActive"], false);
        assert_eq!(body["idp"]["emailAttribute"], "email");
        assert_eq!(body["idp"]["userIdAttribute"], "uid");
        let (_, body) = call(&app, "GET", "/api/v1/saml/idps", &root, None).await;
        assert_eq!(body["idps"].as_array().unwrap().len(), 1);
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/saml/idps/{id}"), &root, None).await.0, 204);
        assert_eq!(call(&app, "GET", &format!("/api/v1/saml/idps/{id}"), &root, None).await.0, 404);
    }
}
