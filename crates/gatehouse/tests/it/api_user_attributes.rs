//! `/api/v1/user-attributes`.

use serde_json::{json, Value};

use crate::harness::{backend_tests, call, TestApp};

backend_tests! {
    async fn user_attributes_are_read_with_read_user_and_changed_only_by_root(backend: Backend) {
        let off = TestApp::spawn(backend).await;
        let root = off.admin_token("root").await;
        let (status, body) = call(&off, "POST", "/api/v1/user-attributes", &root, Some(json!({"name": "x"}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "User attribute is not enabled");

        let app = TestApp::spawn_with(backend, |c| c.enable_user_attribute = true).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/user-attributes", &root, Some(json!({
            "name": "Department", "locales": [{"locale": "en", "value": "Department"}, {"locale": "fr", "value": "Service"}],
            "includeInSignUpForm": true, "requiredInSignUpForm": false, "includeInIdTokenBody": true,
            "includeInUserInfo": false, "unique": false, "validationRegex": "^[A-Z]{2,10}$",
            "validationLocales": [{"locale": "en", "value": "Two to ten capitals"}]
        }))).await;
        assert_eq!(status, 201, "{body}");
        let attribute = &body["userAttribute"];
        assert_eq!(attribute["name"], "Department");
        assert_eq!(attribute["locales"], json!([{"locale": "en", "value": "Department"}, {"locale": "fr", "value": "Service"}]));
        assert_eq!(attribute["includeInIdTokenBody"], true);
        assert_eq!(attribute["unique"], false);
        assert_eq!(attribute["validationRegex"], "^[A-Z]{2,10}$");
        let id = attribute["id"].as_i64().unwrap();

        // read_user reads; it does not write.
        let (_, created) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "reader", "type": "s2s", "scopes": ["read_user", "write_user"], "redirectUris": []
        }))).await;
        let token = app.client_credentials(
            created["app"]["clientId"].as_str().unwrap(), created["app"]["secret"].as_str().unwrap(), "read_user write_user",
        ).await.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        let (status, body) = call(&app, "GET", "/api/v1/user-attributes", &token, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["userAttributes"].as_array().unwrap().len(), 1);
        let before = app.isolation.table_counts().await;
        let (status, body) = call(&app, "PUT", &format!("/api/v1/user-attributes/{id}"), &token, Some(json!({"name": "Team"}))).await;
        assert_eq!(status, 401);
        assert_eq!(body["error_description"], "Insufficient scope: this operation requires root");
        for (method, path, payload, status, message) in [
            ("POST", "/api/v1/user-attributes".to_string(), Some(json!({"name": "Department"})), 409, "A user attribute with this name already exists"),
            ("POST", "/api/v1/user-attributes".to_string(), Some(json!({"validationRegex": "("})), 400, "name must be between 1 and 50 characters"),
            ("POST", "/api/v1/user-attributes".to_string(), Some(json!({"name": "Bad", "validationRegex": "("})), 400, "validationRegex is not a valid regular expression"),
            ("GET", "/api/v1/user-attributes/999".to_string(), None, 404, "No user attribute found"),
        ] {
            let (got, body) = call(&app, method, &path, &root, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "PUT", &format!("/api/v1/user-attributes/{id}"), &root, Some(json!({
            "name": "Team", "unique": true, "locales": [{"locale": "en", "value": "Team"}]
        }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["userAttribute"]["name"], "Team");
        assert_eq!(body["userAttribute"]["unique"], true);
        assert_eq!(body["userAttribute"]["includeInIdTokenBody"], true);
        assert_eq!(body["userAttribute"]["locales"], json!([{"locale": "en", "value": "Team"}]));
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/user-attributes/{id}"), &root, None).await.0, 204);
        assert_eq!(call(&app, "GET", &format!("/api/v1/user-attributes/{id}"), &root, None).await.0, 404);
    }
}
