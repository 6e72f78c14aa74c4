//! `/scim/v2`: SCIM 2.0 provisioning through HTTP, and the outside SCIM checker and client.

use serde_json::{json, Value};

use crate::clients::run_client;
use crate::harness::{backend_tests, call, token_with, TestApp};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn new_user(email: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
           "name": {"givenName": "Barbara", "familyName": "Jensen"}, "active": true,
           "password": "Correct-Horse-9"})
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

backend_tests! {
    async fn users_are_created_read_listed_patched_replaced_and_deleted(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let (status, user) = call(&app, "POST", "/scim/v2/Users", &token, Some(new_user("bjensen@example.com"))).await;
        assert_eq!(status, 201, "{user}");
        let id = user["id"].as_str().unwrap().to_owned();
        assert_eq!(user["userName"], "bjensen@example.com");
        assert!(user.get("password").is_none());
        assert_eq!(user["meta"]["resourceType"], "User");
        assert!(user["meta"]["version"].as_str().unwrap().starts_with("W/\""));
        for n in 0..3 {
            call(&app, "POST", "/scim/v2/Users", &token, Some(new_user(&format!("other{n}@example.com")))).await;
        }

        let (status, dup) = call(&app, "POST", "/scim/v2/Users", &token, Some(new_user("BJensen@example.com"))).await;
        assert_eq!((status, dup["scimType"].as_str(), dup["status"].as_str()), (409, Some("uniqueness"), Some("409")));

        let (_, list) = call(&app, "GET", "/scim/v2/Users?filter=userName%20eq%20%22bjensen@example.com%22", &token, None).await;
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["id"], id.as_str());
        let (_, list) = call(&app, "GET", "/scim/v2/Users?filter=userName%20sw%20%22other%22%20and%20active%20eq%20true&startIndex=2&count=1", &token, None).await;
        assert_eq!((list["totalResults"].as_i64(), list["itemsPerPage"].as_i64(), list["startIndex"].as_i64()), (Some(3), Some(1), Some(2)));
        assert_eq!(list["Resources"][0]["userName"], "other1@example.com");
        let (_, list) = call(&app, "GET", "/scim/v2/Users?count=100000", &token, None).await;
        assert_eq!(list["totalResults"], 4);
        let (status, err) = call(&app, "GET", "/scim/v2/Users?filter=userName%20eq", &token, None).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidFilter")));

        let path = format!("/scim/v2/Users/{id}");
        let (status, patched) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "active", "value": false},
            {"op": "replace", "path": "name.givenName", "value": "Babs"},
        ])))).await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!((patched["active"].as_bool(), patched["name"]["givenName"].as_str()), (Some(false), Some("Babs")));
        assert_ne!(patched["meta"]["version"], user["meta"]["version"]);

        let stale = user["meta"]["version"].as_str().unwrap();
        let response = app.client.put(app.url(&path)).bearer_auth(&token).header("If-Match", stale)
            .json(&new_user("bjensen@example.com")).send().await.unwrap();
        assert_eq!(response.status(), 412);
        let current = patched["meta"]["version"].as_str().unwrap();
        let response = app.client.put(app.url(&path)).bearer_auth(&token).header("If-Match", current)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen@example.com",
                          "name": {"familyName": "J"}, "active": true})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("etag").is_some());
        assert_eq!(response.headers()["content-type"], "application/scim+json");
        let replaced: Value = response.json().await.unwrap();
        assert_eq!(replaced["name"], json!({"familyName": "J"}));
        assert_eq!(replaced["active"], true);

        let (status, _) = call(&app, "DELETE", &path, &token, None).await;
        assert_eq!(status, 204);
        let (status, gone) = call(&app, "GET", &path, &token, None).await;
        assert_eq!((status, gone["status"].as_str()), (404, Some("404")));
    }

    async fn user_names_and_external_ids_round_trip(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let user = |name: &str, emails: Value| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "externalId": "ext-1", "emails": emails});
        let (status, err) = call(&app, "POST", "/scim/v2/Users", &token, Some(user("bjensen", json!([])))).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{err}");
        let (status, created) = call(&app, "POST", "/scim/v2/Users", &token,
            Some(user("bjensen", json!([{"value": "b@example.com", "primary": true}])))).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!((created["userName"].as_str(), created["externalId"].as_str()), (Some("bjensen"), Some("ext-1")));
        assert_eq!(created["emails"][0]["value"], "b@example.com");
        let (status, dup) = call(&app, "POST", "/scim/v2/Users", &token,
            Some(user("BJENSEN", json!([{"value": "c@example.com"}])))).await;
        assert_eq!((status, dup["scimType"].as_str()), (409, Some("uniqueness")));
        let (_, list) = call(&app, "GET", "/scim/v2/Users?filter=userName%20eq%20%22bjensen%22", &token, None).await;
        assert_eq!(list["totalResults"], 1);
        let path = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        let (status, patched) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "userName", "value": "barbara"},
            {"op": "remove", "path": "externalId"},
        ])))).await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["userName"], "barbara");
        assert!(patched.get("externalId").is_none(), "{patched}");
        let (status, other) = call(&app, "POST", "/scim/v2/Users", &token, Some(user("d@example.com", Value::Null))).await;
        assert_eq!((status, other["emails"][0]["value"].as_str()), (201, Some("d@example.com")), "{other}");
        let (status, taken) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "userName", "value": "D@example.com"},
        ])))).await;
        assert_eq!((status, taken["scimType"].as_str()), (409, Some("uniqueness")));
    }

    async fn a_scim_token_cannot_reach_super_admin_or_its_holders(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let (_, admin) = call(&app, "POST", "/scim/v2/Users", &token, Some(new_user("boss@example.com"))).await;
        let (_, plain) = call(&app, "POST", "/scim/v2/Users", &token, Some(new_user("plain@example.com"))).await;
        let (admin, plain) = (admin["id"].as_str().unwrap().to_owned(), plain["id"].as_str().unwrap().to_owned());
        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{admin}"), &root, Some(json!({"roles": ["super_admin"]}))).await;
        assert_eq!(status, 200, "{body}");
        let (_, list) = call(&app, "GET", "/scim/v2/Groups?filter=displayName%20eq%20%22super_admin%22", &token, None).await;
        let group = format!("/scim/v2/Groups/{}", list["Resources"][0]["id"].as_str().unwrap_or_else(|| panic!("{list}")));

        // Joining the protected role, renaming it, emptying or deleting it: refused.
        let (status, _) = call(&app, "PATCH", &group, &token, Some(patch(json!([{"op": "add", "path": "members", "value": [{"value": plain}]}])))).await;
        assert!(status >= 400, "adding a member to super_admin: {status}");
        let (status, _) = call(&app, "PATCH", &group, &token, Some(patch(json!([{"op": "remove", "path": "members"}])))).await;
        assert!(status >= 400, "emptying super_admin: {status}");
        let (status, _) = call(&app, "DELETE", &group, &token, None).await;
        assert!(status >= 400, "deleting super_admin: {status}");
        // Its holder cannot be disabled, renamed or deleted.
        let holder = format!("/scim/v2/Users/{admin}");
        let (status, _) = call(&app, "PATCH", &holder, &token, Some(patch(json!([{"op": "replace", "path": "active", "value": false}])))).await;
        assert!(status >= 400, "disabling a super_admin: {status}");
        let (status, _) = call(&app, "DELETE", &holder, &token, None).await;
        assert!(status >= 400, "deleting a super_admin: {status}");

        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{plain}"), &root, None).await;
        assert!(!user["user"]["roles"].as_array().unwrap().iter().any(|r| r == "super_admin"), "{user}");
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{admin}"), &root, None).await;
        assert_eq!((user["user"]["isActive"].as_bool(), user["user"]["roles"].clone()), (Some(true), json!(["super_admin"])), "{user}");
    }

    async fn groups_are_roles_with_members(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let (_, a) = call(&app, "POST", "/scim/v2/Users", &token, Some(new_user("a@example.com"))).await;
        let (_, b) = call(&app, "POST", "/scim/v2/Users", &token, Some(new_user("b@example.com"))).await;
        let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        let (status, group) = call(&app, "POST", "/scim/v2/Groups", &token, Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "editors", "members": [{"value": a}]
        }))).await;
        assert_eq!(status, 201, "{group}");
        let path = format!("/scim/v2/Groups/{}", group["id"].as_str().unwrap());
        let (status, group) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "add", "path": "members", "value": [{"value": b}]},
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
        ])))).await;
        assert_eq!(status, 200, "{group}");
        assert_eq!(group["members"].as_array().unwrap().len(), 1);
        assert_eq!(group["members"][0]["value"], b);
        let (_, roles) = call(&app, "GET", &format!("/api/v1/users/{b}"), &root, None).await;
        assert!(roles.to_string().contains("editors"), "{roles}");
        let (_, list) = call(&app, "GET", "/scim/v2/Groups?filter=displayName%20eq%20%22editors%22", &token, None).await;
        assert_eq!(list["totalResults"], 1);
        let (status, _) = call(&app, "DELETE", &path, &token, None).await;
        assert_eq!(status, 204);
    }

    async fn scim_needs_a_token_with_its_scopes(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let response = app.client.get(app.url("/scim/v2/Users")).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let other = token_with(&app, &root, &["read_user"]).await;
        let (status, err) = call(&app, "GET", "/scim/v2/Users", &other, None).await;
        assert_eq!((status, err["status"].as_str()), (403, Some("403")));
        let reader = token_with(&app, &root, &["read_scim"]).await;
        let (status, _) = call(&app, "GET", "/scim/v2/Users", &reader, None).await;
        assert_eq!(status, 200);
        let (status, _) = call(&app, "POST", "/scim/v2/Users", &reader, Some(new_user("x@example.com"))).await;
        assert_eq!(status, 403);
        let (status, config) = call(&app, "GET", "/scim/v2/ServiceProviderConfig", "", None).await;
        assert_eq!((status, config["patch"]["supported"].as_bool()), (200, Some(true)));
    }

    async fn the_scim_checker_finds_only_the_known_gaps_and_the_client_round_trips(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        run_client("python3", "scim_check.py", &[("SCIM_URL", app.url("/scim/v2")), ("SCIM_TOKEN", token)]).await;
    }
}
