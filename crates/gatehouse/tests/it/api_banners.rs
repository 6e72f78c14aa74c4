//! `/api/v1/app-banners`.

use serde_json::json;

use crate::harness::{backend_tests, call, TestApp};

backend_tests! {
    async fn app_banners_are_managed_and_linked_to_apps(backend: Backend) {
        let off = TestApp::spawn(backend).await;
        let root = off.admin_token("root").await;
        let (status, body) = call(&off, "GET", "/api/v1/app-banners", &root, None).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "App banner is not enabled");

        let app = TestApp::spawn_with(backend, |c| c.enable_app_banner = true).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/app-banners", &root, Some(json!({
            "type": "warning", "text": "Maintenance tonight", "locales": [{"locale": "fr", "value": "Maintenance ce soir"}]
        }))).await;
        assert_eq!(status, 201, "{body}");
        let banner = &body["appBanner"];
        assert_eq!(banner["type"], "warning");
        assert_eq!(banner["isActive"], true);
        assert_eq!(banner["appIds"], json!([]));
        assert_eq!(banner["locales"], json!([{"locale": "fr", "value": "Maintenance ce soir"}]));
        let id = banner["id"].as_i64().unwrap();

        let (_, apps) = call(&app, "GET", "/api/v1/apps", &root, None).await;
        let app_ids: Vec<i64> = apps["apps"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
        let (status, body) = call(&app, "PUT", &format!("/api/v1/app-banners/{id}"), &root, Some(json!({
            "appIds": [app_ids[1], app_ids[0], app_ids[0]], "isActive": false
        }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["appBanner"]["appIds"], json!([app_ids[0], app_ids[1]]));
        assert_eq!(body["appBanner"]["isActive"], false);
        assert_eq!(body["appBanner"]["text"], "Maintenance tonight");

        let before = app.isolation.table_counts().await;
        for (method, path, payload, status, message) in [
            ("POST", "/api/v1/app-banners".to_string(), Some(json!({"type": "shout"})), 400, "type must be one of info, warning, error, success"),
            ("PUT", format!("/api/v1/app-banners/{id}"), Some(json!({"appIds": [999]})), 404, "No app found"),
            ("GET", "/api/v1/app-banners/999".to_string(), None, 404, "No app banner found"),
        ] {
            let (got, body) = call(&app, method, &path, &root, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (_, body) = call(&app, "GET", "/api/v1/app-banners", &root, None).await;
        assert_eq!(body["appBanners"].as_array().unwrap().len(), 1);
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/app-banners/{id}"), &root, None).await.0, 204);
        assert_eq!(call(&app, "GET", &format!("/api/v1/app-banners/{id}"), &root, None).await.0, 404);
    }
}
