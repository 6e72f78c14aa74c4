//! `/api/v1/orgs` and `/api/v1/org-groups`.

use serde_json::{json, Value};

use crate::harness::{backend_tests, call, TestApp};

/// A user with an active org and a membership row, written straight to the database.
async fn add_member(app: &TestApp, auth_id: &str, email: &str, slug: &str, org_id: i64) {
    app.isolation
        .execute(
            &format!("INSERT INTO users (auth_id, email, first_name, last_name, org_slug) VALUES ($1, '{email}', 'Ada', 'Lovelace', '{slug}')"),
            auth_id,
        )
        .await;
    app.isolation
        .execute(
            &format!("INSERT INTO user_orgs (user_id, org_id) SELECT id, {org_id} FROM users WHERE auth_id = $1"),
            auth_id,
        )
        .await;
}

backend_tests! {
    async fn orgs_need_the_feature(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        for (method, path) in [("GET", "/api/v1/orgs"), ("POST", "/api/v1/orgs"), ("GET", "/api/v1/org-groups")] {
            let (status, body) = call(&app, method, path, &root, Some(json!({}))).await;
            assert_eq!(status, 400, "{method} {path}");
            assert_eq!(body["error_description"], "Organization is not enabled");
        }
        let app = TestApp::spawn_with(backend, |c| { c.enable_org = true; c.enable_org_group = false; }).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "GET", "/api/v1/org-groups", &root, None).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Organization group is not enabled");
    }

    async fn orgs_are_managed_with_their_members(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_org = true).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        assert_eq!(status, 201, "{body}");
        let org = &body["org"];
        assert_eq!(org["allowPublicRegistration"], true);
        assert_eq!(org["onlyUseForBrandingOverride"], false);
        assert_eq!(org["layoutColor"], "");
        let id = org["id"].as_i64().unwrap();

        for (i, email) in ["ann@acme.example", "bob@acme.example", "cy@acme.example"].iter().enumerate() {
            add_member(&app, &format!("00000000-0000-4000-8000-00000000000{i}"), email, "acme", id).await;
        }
        let (status, body) = call(&app, "GET", &format!("/api/v1/orgs/{id}/users?page_size=2&page_number=2"), &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], 3);
        assert_eq!(body["users"].as_array().unwrap().len(), 1);
        assert_eq!(body["users"][0]["email"], "cy@acme.example");
        assert_eq!(body["users"][0]["firstName"], "Ada");
        let (_, body) = call(&app, "GET", &format!("/api/v1/orgs/{id}/users?search=BOB"), &root, None).await;
        assert_eq!(body["count"], 1);
        let (_, body) = call(&app, "GET", &format!("/api/v1/orgs/{id}/users?search=%25"), &root, None).await;
        assert_eq!(body["count"], 0, "LIKE wildcards in a search match literally");
        let (status, body) = call(&app, "GET", &format!("/api/v1/orgs/{id}/users?search=bo%00b"), &root, None).await;
        assert_eq!((status, &body["count"]), (200, &json!(0)), "a NUL matches nobody: {body}");
        let (_, body) = call(&app, "GET", &format!("/api/v1/orgs/{id}/all-users"), &root, None).await;
        assert_eq!(body["count"], 3);

        // A new slug follows the users; the org cannot go while users have it active.
        let (status, body) = call(&app, "PUT", &format!("/api/v1/orgs/{id}"), &root, Some(json!({
            "slug": "acme-inc", "primaryButtonColor": "#ff0000", "allowPublicRegistration": false
        }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["org"]["slug"], "acme-inc");
        assert_eq!(body["org"]["primaryButtonColor"], "#ff0000");
        let (_, body) = call(&app, "GET", &format!("/api/v1/orgs/{id}/users"), &root, None).await;
        assert_eq!(body["count"], 3);

        let before = app.isolation.table_counts().await;
        for (method, path, payload, status, message) in [
            ("DELETE", format!("/api/v1/orgs/{id}"), None, 400, "Can not delete organization with users"),
            ("POST", "/api/v1/orgs".to_string(), Some(json!({"name": "Acme", "slug": "other"})), 409, "An organization with this name or slug already exists"),
            ("POST", "/api/v1/orgs".to_string(), Some(json!({"name": "Other", "slug": "has space"})), 400, "slug must be between 1 and 50 characters"),
            ("PUT", format!("/api/v1/orgs/{id}"), Some(json!({"layoutColor": "x".repeat(21)})), 400, "layoutColor must be at most 20 characters"),
            ("GET", "/api/v1/orgs/999".to_string(), None, 404, "No organization found"),
            ("GET", format!("/api/v1/orgs/{id}/users?page_size=0&page_number=1"), None, 400, "page_size must be a whole number of at least 1"),
        ] {
            let (got, body) = call(&app, method, &path, &root, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Empty", "slug": "empty"}))).await;
        assert_eq!(status, 201);
        let empty = body["org"]["id"].as_i64().unwrap();
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/orgs/{empty}"), &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", "/api/v1/orgs", &root, None).await;
        assert_eq!(body["orgs"].as_array().unwrap().len(), 1);
    }

    async fn org_groups_are_managed(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_org = true).await;
        let root = app.admin_token("root").await;
        let (_, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        let org_id = body["org"]["id"].as_i64().unwrap();
        let (status, body) = call(&app, "POST", "/api/v1/org-groups", &root, Some(json!({"name": "Sales", "orgId": org_id}))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["orgGroup"]["orgId"], org_id);
        let group = body["orgGroup"]["id"].as_i64().unwrap();
        add_member(&app, "00000000-0000-4000-8000-0000000000aa", "ann@acme.example", "acme", org_id).await;
        app.isolation.execute(
            &format!("INSERT INTO user_org_groups (user_id, org_group_id) SELECT id, {group} FROM users WHERE auth_id = $1"),
            "00000000-0000-4000-8000-0000000000aa",
        ).await;
        let (_, body) = call(&app, "GET", &format!("/api/v1/org-groups/{group}/users"), &root, None).await;
        assert_eq!(body["users"][0]["authId"], "00000000-0000-4000-8000-0000000000aa");
        let (_, body) = call(&app, "GET", &format!("/api/v1/org-groups?org_id={org_id}"), &root, None).await;
        assert_eq!(body["orgGroups"].as_array().unwrap().len(), 1);
        let (_, body) = call(&app, "GET", "/api/v1/org-groups?org_id=999", &root, None).await;
        assert_eq!(body["orgGroups"], json!([]));

        let before = app.isolation.table_counts().await;
        for (method, path, payload, status, message) in [
            ("POST", "/api/v1/org-groups".to_string(), Some(json!({"name": "Sales", "orgId": org_id})), 409, "This organization already has a group with this name"),
            ("POST", "/api/v1/org-groups".to_string(), Some(json!({"name": "Ops", "orgId": 999})), 404, "No organization found"),
            ("PUT", "/api/v1/org-groups/999".to_string(), Some(json!({"name": "X"})), 404, "No organization group found"),
            ("GET", "/api/v1/org-groups?org_id=abc".to_string(), None, 400, "org_id must be a positive integer"),
        ] {
            let (got, body) = call(&app, method, &path, &root, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "PUT", &format!("/api/v1/org-groups/{group}"), &root, Some(json!({"name": "Field sales"}))).await;
        assert_eq!(status, 200);
        assert_eq!(body["orgGroup"]["name"], "Field sales");
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/org-groups/{group}"), &root, None).await.0, 204);
        assert_eq!(call(&app, "GET", &format!("/api/v1/org-groups/{group}/users"), &root, None).await.0, 404);
    }

    async fn user_memberships_and_groups(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_org = true).await;
        let root = app.admin_token("root").await;
        let (_, acme) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        let (_, brand) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Brand", "slug": "brand", "onlyUseForBrandingOverride": true}))).await;
        let (acme, brand) = (acme["org"]["id"].as_i64().unwrap(), brand["org"]["id"].as_i64().unwrap());
        let user = "00000000-0000-4000-8000-0000000000bb";
        app.isolation.execute("INSERT INTO users (auth_id, email) VALUES ($1, 'bb@example.com')", user).await;

        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{user}/orgs"), &root, Some(json!({"orgs": [acme, brand, acme]}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({"success": true}));
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{user}/orgs"), &root, None).await;
        let slugs: Vec<&str> = body["orgs"].as_array().unwrap().iter().map(|o| o["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["acme"], "branding-only organizations are not memberships to list");

        // Groups belong to the active organization.
        let (_, group) = call(&app, "POST", "/api/v1/org-groups", &root, Some(json!({"name": "Ops", "orgId": acme}))).await;
        let group = group["orgGroup"]["id"].as_i64().unwrap();
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{user}/org-groups/{group}"), &root, None).await;
        assert_eq!(status, 404);
        assert_eq!(body["error_description"], "No organization found");
        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{user}"), &root, Some(json!({"orgSlug": "acme"}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["org"]["slug"], "acme");
        assert_eq!(call(&app, "POST", &format!("/api/v1/users/{user}/org-groups/{group}"), &root, None).await.0, 200);
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{user}"), &root, None).await;
        assert_eq!(body["user"]["orgGroups"], json!([{"id": group, "name": "Ops"}]));

        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{user}"), &root, Some(json!({"orgSlug": "nowhere"}))).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{user}/orgs"), &root, Some(json!({"orgs": [999]}))).await;
        assert_eq!(status, 404);
        assert_eq!(body["error_description"], "No organization found");

        // Leaving the active organization clears it.
        assert_eq!(call(&app, "POST", &format!("/api/v1/users/{user}/orgs"), &root, Some(json!({"orgs": [brand]}))).await.0, 200);
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{user}"), &root, None).await;
        assert_eq!(body["user"]["org"], Value::Null);
        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{user}"), &root, Some(json!({"orgSlug": "acme"}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "User is not in the organization");
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{user}/org-groups/{group}"), &root, None).await.0, 404);
    }
}
