//! `/scim/v2`: SCIM 2.0 provisioning through HTTP, and the outside SCIM checker and client.

use serde_json::{json, Value};

use crate::clients::run_client;
use crate::harness::{backend_tests, call, token_with, TestApp};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn new_user(email: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
           "name": {"givenName": "Barbara", "familyName": "Jensen"}, "active": true,
           "password": "Correct-Horse-9"})
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

fn search(members: Value) -> Value {
    let mut body = json!({"schemas": [SEARCH]});
    if let (Some(body), Some(members)) = (body.as_object_mut(), members.as_object()) {
        body.extend(members.clone());
    }
    body
}

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> String {
    let (status, resource) = call(app, "POST", path, token, Some(body)).await;
    assert_eq!(status, 201, "{resource}");
    resource["id"].as_str().unwrap().to_owned()
}

async fn s2s_user(app: &TestApp, root: &str, id: &str) -> Value {
    let (status, body) = call(app, "GET", &format!("/api/v1/users/{id}"), root, None).await;
    assert_eq!(status, 200, "{body}");
    body["user"].clone()
}

async fn user_count(app: &TestApp, token: &str) -> i64 {
    let (_, list) = call(app, "GET", "/scim/v2/Users?count=0", token, None).await;
    list["totalResults"].as_i64().unwrap()
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
        // Every account is active or not: removing `active` is refused, not ignored.
        let (status, err) = call(&app, "PATCH", &path, &token, Some(patch(json!([{"op": "remove", "path": "active"}])))).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("mutability")), "{err}");

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
        // Nor can their email or password change: either would hand the account over.
        let (status, _) = call(&app, "PATCH", &holder, &token, Some(patch(json!([{"op": "replace", "path": "emails", "value": [{"value": "attacker@example.com"}]}])))).await;
        assert_eq!(status, 403, "changing a super_admin's email");
        let (status, _) = call(&app, "PATCH", &holder, &token, Some(patch(json!([{"op": "replace", "path": "password", "value": "Attacker-Chosen-1"}])))).await;
        assert_eq!(status, 403, "setting a super_admin's password");
        let (status, _) = call(&app, "PATCH", &holder, &token, Some(patch(json!([{"op": "remove", "path": "password"}])))).await;
        assert_eq!(status, 403, "removing a super_admin's password");

        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{plain}"), &root, None).await;
        assert!(!user["user"]["roles"].as_array().unwrap().iter().any(|r| r == "super_admin"), "{user}");
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{admin}"), &root, None).await;
        assert_eq!((user["user"]["isActive"].as_bool(), user["user"]["roles"].clone()), (Some(true), json!(["super_admin"])), "{user}");
        assert_eq!(user["user"]["email"], "boss@example.com");
    }

    async fn passwords_follow_the_policy_and_can_be_set_or_removed(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let mut weak = new_user("weak@example.com");
        weak["password"] = json!("password");
        let (status, err) = call(&app, "POST", "/scim/v2/Users", &token, Some(weak)).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{err}");
        assert!(err["detail"].as_str().unwrap().contains("Password must be at least 8 characters"), "{err}");
        assert_eq!(user_count(&app, &token).await, 0, "a refused create leaves no user");

        let id = created(&app, &token, "/scim/v2/Users", new_user("pw@example.com")).await;
        let path = format!("/scim/v2/Users/{id}");
        let (_, before) = call(&app, "GET", &path, &token, None).await;
        let (status, err) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "name.givenName", "value": "Changed"},
            {"op": "replace", "path": "password", "value": "short"},
        ])))).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{err}");
        let (_, after) = call(&app, "GET", &path, &token, None).await;
        assert_eq!(after, before, "a refused PATCH changes nothing");
        let mut put = new_user("pw@example.com");
        put["password"] = json!("no-digits-HERE");
        let (status, _) = call(&app, "PUT", &path, &token, Some(put)).await;
        assert_eq!(status, 400);

        let (status, user) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "password", "value": "Another-Good-7"},
        ])))).await;
        assert_eq!(status, 200, "{user}");
        assert!(user.get("password").is_none());
        let (status, _) = call(&app, "PATCH", &path, &token, Some(patch(json!([{"op": "remove", "path": "password"}])))).await;
        assert_eq!(status, 200);
        let (_, config) = call(&app, "GET", "/scim/v2/ServiceProviderConfig", "", None).await;
        assert_eq!(config["changePassword"]["supported"], true);
        let (_, schema) = call(&app, "GET", "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", None).await;
        let password = schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
        assert!(password["description"].as_str().unwrap().contains("Password must be at least 8 characters"), "{password}");
    }

    async fn an_email_changed_through_scim_is_unverified_and_cannot_be_taken(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let a = created(&app, &token, "/scim/v2/Users", new_user("a@example.com")).await;
        let b = created(&app, &token, "/scim/v2/Users", json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bee",
            "emails": [{"value": "b@example.com", "type": "home", "primary": true}]})).await;
        assert_eq!(s2s_user(&app, &root, &a).await["emailVerified"], true, "a provisioned address is vouched for");

        let path = format!("/scim/v2/Users/{a}");
        let (status, user) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "A2@Example.com"},
        ])))).await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(user["emails"], json!([{"value": "a2@example.com", "type": "work", "primary": true}]));
        // The userName the user was created with stays; it no longer follows the email.
        assert_eq!(user["userName"], "a@example.com");
        let shown = s2s_user(&app, &root, &a).await;
        assert_eq!((shown["email"].as_str(), shown["emailVerified"].as_bool()), (Some("a2@example.com"), Some(false)));

        // Another user's email, or their userName, cannot be taken; nothing changes.
        let (status, err) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "emails", "value": [{"value": "b@example.com"}]},
            {"op": "replace", "path": "name.givenName", "value": "Thief"},
        ])))).await;
        assert_eq!((status, err["scimType"].as_str()), (409, Some("uniqueness")), "{err}");
        let (status, err) = call(&app, "PUT", &path, &token, Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BEE",
            "emails": [{"value": "a2@example.com"}]}))).await;
        assert_eq!((status, err["scimType"].as_str()), (409, Some("uniqueness")), "{err}");
        let shown = s2s_user(&app, &root, &a).await;
        assert_eq!((shown["email"].as_str(), shown["firstName"].as_str()), (Some("a2@example.com"), Some("Barbara")));
        // One address per user: more are refused, not dropped.
        let (status, err) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "add", "path": "emails", "value": [{"value": "second@example.com"}]},
        ])))).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{err}");
        // The labels given round-trip.
        let (_, other) = call(&app, "GET", &format!("/scim/v2/Users/{b}"), &token, None).await;
        assert_eq!(other["emails"], json!([{"value": "b@example.com", "type": "home", "primary": true}]));
    }

    async fn groups_keep_their_external_id_and_patch_answers_the_group(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let a = created(&app, &token, "/scim/v2/Users", new_user("a@example.com")).await;
        let group = created(&app, &token, "/scim/v2/Groups", json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "editors", "externalId": "okta-1"})).await;
        let path = format!("/scim/v2/Groups/{group}");
        let (_, shown) = call(&app, "GET", &path, &token, None).await;
        assert_eq!(shown["externalId"], "okta-1");
        let (status, patched) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "externalId", "value": "okta-2"},
            {"op": "add", "path": "members", "value": [{"value": a, "type": "User"}]},
        ])))).await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["externalId"], "okta-2");
        assert_eq!(patched["members"][0]["value"], a.as_str());
        assert_eq!(patched["members"][0]["type"], "User");
        let (_, list) = call(&app, "GET", "/scim/v2/Groups?filter=externalId%20eq%20%22okta-2%22", &token, None).await;
        assert_eq!(list["totalResults"], 1);
        let (status, patched) = call(&app, "PATCH", &path, &token, Some(patch(json!([{"op": "remove", "path": "externalId"}])))).await;
        assert_eq!(status, 200);
        assert!(patched.get("externalId").is_none(), "{patched}");
    }

    async fn search_posts_read_like_list_requests_and_malformed_ones_change_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let reader = token_with(&app, &root, &["read_scim"]).await;
        for n in 0..3 {
            created(&app, &token, "/scim/v2/Users", new_user(&format!("s{n}@example.com"))).await;
        }
        created(&app, &token, "/scim/v2/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "searchers"})).await;

        let (status, list) = call(&app, "POST", "/scim/v2/Users/.search", &reader, Some(search(json!({
            "filter": "userName sw \"s\"", "attributes": ["userName"], "startIndex": 2, "count": 1})))).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!((list["totalResults"].as_i64(), list["itemsPerPage"].as_i64()), (Some(3), Some(1)));
        assert_eq!(list["Resources"][0]["userName"], "s1@example.com");
        assert!(list["Resources"][0].get("name").is_none(), "{list}");
        let (status, list) = call(&app, "POST", "/scim/v2/Groups/.search", &reader, Some(search(json!({"filter": "displayName eq \"searchers\""})))).await;
        assert_eq!((status, list["totalResults"].as_i64()), (200, Some(1)));
        let (status, list) = call(&app, "POST", "/scim/v2/.search", &reader, Some(search(json!({"excludedAttributes": ["members"]})))).await;
        assert_eq!(status, 200, "{list}");
        let kinds: Vec<&str> = list["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"User") && kinds.contains(&"Group"), "{kinds:?}");

        let before = user_count(&app, &token).await;
        for (body, kind) in [
            (Value::String("not an object".into()), "invalidSyntax"),
            (new_user("intruder@example.com"), "invalidSyntax"),
            (json!({"filter": "userName pr"}), "invalidSyntax"),
            (search(json!({"filter": "userName eq"})), "invalidFilter"),
            (search(json!({"filters": "userName pr"})), "invalidSyntax"),
            (search(json!({"count": "many"})), "invalidValue"),
        ] {
            let (status, err) = call(&app, "POST", "/scim/v2/Users/.search", &token, Some(body.clone())).await;
            assert_eq!((status, err["scimType"].as_str()), (400, Some(kind)), "{body}: {err}");
        }
        let response = app.client.post(app.url("/scim/v2/.search")).bearer_auth(&token)
            .header("content-type", "application/scim+json").body("{\"schemas\": [").send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(user_count(&app, &token).await, before, "a search body never creates");
        let (status, _) = call(&app, "POST", "/scim/v2/.search", "", Some(search(json!({})))).await;
        assert_eq!(status, 401);
    }

    async fn a_read_scim_token_cannot_write(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        let reader = token_with(&app, &root, &["read_scim"]).await;
        let user = created(&app, &token, "/scim/v2/Users", new_user("kept@example.com")).await;
        let group = created(&app, &token, "/scim/v2/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "kept"})).await;
        let (_, user_before) = call(&app, "GET", &format!("/scim/v2/Users/{user}"), &token, None).await;
        let (_, group_before) = call(&app, "GET", &format!("/scim/v2/Groups/{group}"), &token, None).await;
        let deactivate = patch(json!([{"op": "replace", "path": "active", "value": false}]));
        let rename = patch(json!([{"op": "replace", "path": "displayName", "value": "taken"}]));
        for (method, path, body) in [
            ("POST", "/scim/v2/Users".to_owned(), Some(new_user("new@example.com"))),
            ("PUT", format!("/scim/v2/Users/{user}"), Some(new_user("other@example.com"))),
            ("PATCH", format!("/scim/v2/Users/{user}"), Some(deactivate)),
            ("DELETE", format!("/scim/v2/Users/{user}"), None),
            ("POST", "/scim/v2/Groups".to_owned(), Some(json!({"displayName": "new"}))),
            ("PATCH", format!("/scim/v2/Groups/{group}"), Some(rename)),
            ("DELETE", format!("/scim/v2/Groups/{group}"), None),
        ] {
            let (status, err) = call(&app, method, &path, &reader, body).await;
            assert_eq!((status, err["status"].as_str()), (403, Some("403")), "{method} {path}");
        }
        let (_, user_after) = call(&app, "GET", &format!("/scim/v2/Users/{user}"), &token, None).await;
        let (_, group_after) = call(&app, "GET", &format!("/scim/v2/Groups/{group}"), &token, None).await;
        assert_eq!((user_after, group_after), (user_before, group_before));
        assert_eq!(user_count(&app, &token).await, 1);
    }

    async fn scim_groups_mapped_to_org_groups_cannot_reach_roles(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_org = true;
            c.scim_groups = gatehouse_core::scim::ScimGroups::OrgGroups;
        }).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        for (name, slug) in [("Acme", "acme"), ("Other", "other")] {
            let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": name, "slug": slug}))).await;
            assert_eq!(status, 201, "{body}");
        }
        let (_, roles) = call(&app, "GET", "/api/v1/roles", &root, None).await;
        let role_count = roles["roles"].as_array().unwrap().len();
        let (_, list) = call(&app, "GET", "/scim/v2/Groups", &token, None).await;
        assert_eq!(list["totalResults"], 0, "roles are not SCIM groups here: {list}");

        let group_body = |name: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name});
        for name in ["super_admin", "nowhere/admins", "acme/"] {
            let (status, err) = call(&app, "POST", "/scim/v2/Groups", &token, Some(group_body(name))).await;
            assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{name}: {err}");
        }
        let group = created(&app, &token, "/scim/v2/Groups", group_body("acme/super_admin")).await;
        let path = format!("/scim/v2/Groups/{group}");
        let user = created(&app, &token, "/scim/v2/Users", new_user("member@acme.example")).await;
        let (status, patched) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "add", "path": "members", "value": [{"value": user}]},
        ])))).await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!((patched["displayName"].as_str(), patched["members"][0]["value"].as_str()), (Some("acme/super_admin"), Some(user.as_str())));
        // The member joined the organization and its group, and holds no role.
        let shown = s2s_user(&app, &root, &user).await;
        assert_eq!(shown["roles"], json!([]), "{shown}");
        assert_eq!(shown["org"]["slug"], "acme", "{shown}");
        assert_eq!(shown["orgGroups"][0]["name"], "super_admin", "{shown}");
        // A group cannot move to another organization, nor take a user of another one.
        let (status, err) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": "displayName", "value": "other/super_admin"},
        ])))).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("mutability")), "{err}");
        let other = created(&app, &token, "/scim/v2/Groups", group_body("other/staff")).await;
        let (status, err) = call(&app, "PATCH", &format!("/scim/v2/Groups/{other}"), &token, Some(patch(json!([
            {"op": "add", "path": "members", "value": [{"value": user}]},
        ])))).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{err}");
        // Ids are org group ids: no id reaches a role, and deleting groups leaves the roles.
        let (status, _) = call(&app, "GET", "/scim/v2/Groups/999999", &token, None).await;
        assert_eq!(status, 404);
        for id in [&group, &other] {
            let (status, _) = call(&app, "DELETE", &format!("/scim/v2/Groups/{id}"), &token, None).await;
            assert_eq!(status, 204);
        }
        let (_, roles) = call(&app, "GET", "/api/v1/roles", &root, None).await;
        assert_eq!(roles["roles"].as_array().unwrap().len(), role_count);
        let (_, config) = call(&app, "GET", "/scim/v2/ResourceTypes/Group", "", None).await;
        assert!(config["description"].as_str().unwrap().contains("organization groups"), "{config}");
    }

    async fn the_enterprise_extension_maps_to_custom_attributes_and_the_organization(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_org = true;
            c.enable_user_attribute = true;
        }).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        for (name, rule) in [("employeeNumber", Some("^[0-9]+$")), ("department", None)] {
            let (status, body) = call(&app, "POST", "/api/v1/user-attributes", &root, Some(json!({
                "name": name, "locales": [{"locale": "en", "value": name}], "unique": name == "employeeNumber",
                "validationRegex": rule}))).await;
            assert_eq!(status, 201, "{body}");
        }
        let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        assert_eq!(status, 201, "{body}");

        let (_, schema) = call(&app, "GET", &format!("/scim/v2/Schemas/{ENTERPRISE}"), "", None).await;
        let attribute = |name: &str| schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap().clone();
        assert_eq!(attribute("employeeNumber")["mutability"], "readWrite", "{schema}");
        assert_eq!(attribute("organization")["mutability"], "readWrite", "{schema}");
        for unkept in ["costCenter", "division", "manager"] {
            let declared = attribute(unkept);
            assert_eq!((declared["mutability"].as_str(), declared["returned"].as_str()), (Some("readOnly"), Some("never")), "{declared}");
            assert!(declared["description"].as_str().unwrap().starts_with("Not stored"), "{declared}");
        }

        let mut body = new_user("emp@example.com");
        body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
        body[ENTERPRISE] = json!({"employeeNumber": "42", "department": "R&D", "costCenter": "CC-1",
                                  "organization": "acme", "manager": {"value": "someone"}});
        let (status, user) = call(&app, "POST", "/scim/v2/Users", &token, Some(body.clone())).await;
        assert_eq!(status, 201, "{user}");
        assert_eq!(user[ENTERPRISE], json!({"employeeNumber": "42", "department": "R&D", "organization": "acme"}));
        let id = user["id"].as_str().unwrap().to_owned();
        let shown = s2s_user(&app, &root, &id).await;
        assert_eq!((shown["attributes"]["employeeNumber"].as_str(), shown["org"]["slug"].as_str()), (Some("42"), Some("acme")), "{shown}");

        // The attribute's own rules hold: its pattern and its uniqueness.
        let path = format!("/scim/v2/Users/{id}");
        let (status, err) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "forty-two"},
        ])))).await;
        assert_eq!((status, err["scimType"].as_str()), (400, Some("invalidValue")), "{err}");
        body["userName"] = json!("emp2@example.com");
        let (status, err) = call(&app, "POST", "/scim/v2/Users", &token, Some(body)).await;
        assert_eq!((status, err["scimType"].as_str()), (409, Some("uniqueness")), "{err}");
        assert_eq!(user_count(&app, &token).await, 1, "a refused create leaves no user");

        let (status, user) = call(&app, "PATCH", &path, &token, Some(patch(json!([
            {"op": "replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "43"},
            {"op": "remove", "path": format!("{ENTERPRISE}:department")},
        ])))).await;
        assert_eq!(status, 200, "{user}");
        assert_eq!(user[ENTERPRISE], json!({"employeeNumber": "43", "organization": "acme"}));
        let (_, list) = call(&app, "GET", &format!("/scim/v2/Users?excludedAttributes={ENTERPRISE}:employeeNumber"), &token, None).await;
        assert_eq!(list["Resources"][0][ENTERPRISE], json!({"organization": "acme"}));
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

    async fn the_scim_checker_finds_no_failure_and_the_client_round_trips(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_scim", "write_scim"]).await;
        run_client("python3", "scim_check.py", &[("SCIM_URL", app.url("/scim/v2")), ("SCIM_TOKEN", token)]).await;
    }
}
