//! `/api/v1/logs/*` and `/api/v1/saml/idps` (root only) through HTTP with S2S tokens.

use serde_json::{json, Value};

use crate::harness::{backend_tests, call, TestApp};

const NOT_ROOT: &str = "Insufficient scope: this operation requires root";
const BAD_BEFORE: &str = "deleteBefore must be present and in utc format";
const SAML_OFF: &str = "SAML SP feature is not enabled";
const METADATA: &str = "<EntityDescriptor entityID=\"https://idp.example\"/>";

/// A token of an S2S app holding every scope but `root`'s.
async fn non_root_token(app: &TestApp, root: &str) -> String {
    let scopes =
        "read_user write_user read_app write_app read_role write_role read_scope write_scope";
    let (status, body) = call(app, "POST", "/api/v1/apps", root, Some(json!({
        "name": "almost root", "type": "s2s", "scopes": scopes.split(' ').collect::<Vec<_>>(), "redirectUris": []
    }))).await;
    assert_eq!(status, 201, "{body}");
    let response = app
        .client_credentials(
            body["app"]["clientId"].as_str().unwrap(),
            body["app"]["secret"].as_str().unwrap(),
            scopes,
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// One row in `email_logs` or `sms_logs`, written at `at` (`YYYY-MM-DD HH:MM:SS`).
pub(crate) async fn message_row(app: &TestApp, table: &str, receiver: &str, at: &str) {
    app.isolation
        .execute(
            &format!(
                "INSERT INTO {table} (success, receiver, response, content, created_at, updated_at) \
                 VALUES ((1 = 1), $1, 'accepted', 'Your code is ******', '{at}', '{at}')"
            ),
            receiver,
        )
        .await;
}

/// A user (by `auth_id`) for sign-in rows to point at.
async fn user(app: &TestApp, auth_id: &str) {
    app.isolation
        .execute(
            "INSERT INTO users (auth_id, email) VALUES ($1, 'signed-in@example.com')",
            auth_id,
        )
        .await;
}

/// One row in `sign_in_logs` for the user `auth_id`, written at `at`, with `detail` as JSON text.
async fn sign_in_row(app: &TestApp, auth_id: &str, ip: &str, detail: &str, at: &str) {
    app.isolation
        .execute(
            &format!(
                "INSERT INTO sign_in_logs (user_id, ip, detail, created_at, updated_at) \
                 SELECT id, '{ip}', '{detail}', '{at}', '{at}' FROM users WHERE auth_id = $1"
            ),
            auth_id,
        )
        .await;
}

fn receivers(body: &Value) -> Vec<&str> {
    body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|log| log["receiver"].as_str().unwrap())
        .collect()
}

/// The live-row counts the three lists report.
async fn live_counts(app: &TestApp, root: &str) -> Vec<Value> {
    let mut counts = Vec::new();
    for kind in ["email", "sms", "sign-in"] {
        let (status, body) = call(app, "GET", &format!("/api/v1/logs/{kind}"), root, None).await;
        assert_eq!(status, 200, "{body}");
        counts.push(body["count"].clone());
    }
    counts
}

const AUTH_ID: &str = "00000000-0000-4000-8000-0000000000a1";

/// `method path` is refused with 400 and `description`.
async fn assert_refused(
    app: &TestApp,
    token: &str,
    (method, path): (&str, &str),
    description: &str,
) {
    let (status, body) = call(app, method, path, token, None).await;
    assert_eq!(status, 400, "{method} {path}: {body}");
    assert_eq!(body["error_description"], description, "{method} {path}");
}

backend_tests! {
    async fn logs_are_listed_newest_first_and_paged(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        for (day, receiver) in [(1, "a@example.com"), (2, "b@example.com"), (3, "c@example.com"), (4, "d@example.com"), (5, "e@example.com")] {
            message_row(&app, "email_logs", receiver, &format!("2026-01-0{day} 10:00:00")).await;
        }
        message_row(&app, "sms_logs", "+15550100", "2026-01-01 10:00:00").await;
        app.isolation.execute(
            "INSERT INTO sms_logs (success, receiver, response, content) VALUES ((1 = 0), $1, 'refused', 'code ******')",
            "+15550101",
        ).await;
        user(&app, AUTH_ID).await;
        sign_in_row(&app, AUTH_ID, "2001:db8::1", r#"{"country":"NZ","city":"Wellington"}"#, "2026-01-01 08:00:00").await;

        let (status, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "only logs and count: {body}");
        assert_eq!(body["count"], 5);
        assert_eq!(receivers(&body), ["e@example.com", "d@example.com", "c@example.com", "b@example.com", "a@example.com"]);
        let newest = &body["logs"][0];
        assert_eq!(newest.as_object().unwrap().len(), 8, "{newest}");
        assert!(newest["id"].is_i64());
        assert_eq!(newest["success"], true);
        assert_eq!(newest["response"], "accepted");
        assert_eq!(newest["content"], "Your code is ******");
        assert_eq!(newest["createdAt"], "2026-01-05 10:00:00");
        assert_eq!(newest["updatedAt"], "2026-01-05 10:00:00");
        assert_eq!(newest["deletedAt"], Value::Null);

        let (status, body) = call(&app, "GET", "/api/v1/logs/email?page_size=2&page_number=2", &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], 5, "count is the total, not the page's");
        assert_eq!(receivers(&body), ["c@example.com", "b@example.com"]);
        let (_, body) = call(&app, "GET", "/api/v1/logs/email?page_size=2&page_number=3", &root, None).await;
        assert_eq!(receivers(&body), ["a@example.com"]);
        let (status, body) = call(&app, "GET", "/api/v1/logs/email?page_size=2&page_number=4", &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["logs"], json!([]));
        assert_eq!(body["count"], 5);
        let (_, body) = call(&app, "GET", "/api/v1/logs/email?page_size=2", &root, None).await;
        assert_eq!(body["logs"].as_array().unwrap().len(), 5, "a page needs both parameters");

        let (_, body) = call(&app, "GET", "/api/v1/logs/sms", &root, None).await;
        assert_eq!(body["count"], 2);
        assert_eq!(receivers(&body), ["+15550101", "+15550100"]);
        assert_eq!(body["logs"][0]["success"], false);
        assert_eq!(body["logs"][1]["success"], true);

        let (status, body) = call(&app, "GET", "/api/v1/logs/sign-in?page_size=1&page_number=1", &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], 1);
        let log = &body["logs"][0];
        assert_eq!(log.as_object().unwrap().len(), 7, "{log}");
        assert!(log["userId"].as_i64().unwrap() > 0);
        assert_eq!(log["ip"], "2001:db8::1");
        assert_eq!(log["detail"], r#"{"country":"NZ","city":"Wellington"}"#, "detail is the stored JSON text, as Melody sends it");
        assert_eq!(log["createdAt"], "2026-01-01 08:00:00");
        assert_eq!(log["deletedAt"], Value::Null);

        let before = app.isolation.table_counts().await;
        for path in [
            "/api/v1/logs/email?page_size=0&page_number=1",
            "/api/v1/logs/sms?page_size=two&page_number=1",
            "/api/v1/logs/sign-in?page_size=-1",
        ] {
            assert_refused(&app, &root, ("GET", path), "page_size must be a whole number of at least 1").await;
        }
        let path = "/api/v1/logs/email?page_size=2&page_number=0";
        assert_refused(&app, &root, ("GET", path), "page_number must be a whole number of at least 1").await;
        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn log_entries_are_read_by_id(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        message_row(&app, "email_logs", "old@example.com", "2025-12-31 10:00:00").await;
        message_row(&app, "email_logs", "a@example.com", "2026-01-01 10:00:00").await;
        message_row(&app, "sms_logs", "+15550100", "2026-01-02 10:00:00").await;
        user(&app, AUTH_ID).await;
        sign_in_row(&app, AUTH_ID, "192.0.2.1", r#"{"country":"FR"}"#, "2026-01-03 10:00:00").await;
        let mut ids = Vec::new();
        for kind in ["email", "sms", "sign-in"] {
            let (_, body) = call(&app, "GET", &format!("/api/v1/logs/{kind}"), &root, None).await;
            ids.push(body["logs"][0]["id"].as_i64().unwrap());
        }

        let (status, body) = call(&app, "GET", &format!("/api/v1/logs/email/{}", ids[0]), &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "only log: {body}");
        assert_eq!(body["log"]["id"], ids[0]);
        assert_eq!(body["log"]["receiver"], "a@example.com");
        assert_eq!(body["log"]["createdAt"], "2026-01-01 10:00:00");
        let (status, body) = call(&app, "GET", &format!("/api/v1/logs/sms/{}", ids[1]), &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["log"]["receiver"], "+15550100");
        let (status, body) = call(&app, "GET", &format!("/api/v1/logs/sign-in/{}", ids[2]), &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["log"]["ip"], "192.0.2.1");
        assert_eq!(body["log"]["detail"], r#"{"country":"FR"}"#);

        let before = app.isolation.table_counts().await;
        for path in ["/api/v1/logs/email/999", "/api/v1/logs/sms/999", "/api/v1/logs/sign-in/999"] {
            let (status, body) = call(&app, "GET", path, &root, None).await;
            assert_eq!(status, 404, "{path}: {body}");
            assert_eq!(body["error_description"], "No log found", "{path}");
        }
        // An id of one log is not looked up in another.
        assert_ne!(ids[0], ids[1]);
        let (status, _) = call(&app, "GET", &format!("/api/v1/logs/sms/{}", ids[0]), &root, None).await;
        assert_eq!(status, 404);
        assert_refused(&app, &root, ("GET", "/api/v1/logs/email/first"), "id must be a positive integer").await;
        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn logs_are_pruned_before_a_utc_date(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        for day in 1..=4 {
            let at = format!("2026-01-0{day} 10:00:00");
            message_row(&app, "email_logs", &format!("{day}@example.com"), &at).await;
            message_row(&app, "sms_logs", &format!("+1555010{day}"), &at).await;
        }
        user(&app, AUTH_ID).await;
        sign_in_row(&app, AUTH_ID, "192.0.2.1", "{}", "2026-01-01 10:00:00").await;
        sign_in_row(&app, AUTH_ID, "192.0.2.2", "{}", "2026-01-02 10:00:00").await;
        assert_eq!(live_counts(&app, &root).await, [json!(4), json!(4), json!(2)]);
        let (_, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        let oldest = body["logs"][3]["id"].as_i64().unwrap();

        let tables = app.isolation.table_counts().await;
        for query in ["", "?before=", "?before=yesterday", "?before=2026-13-01", "?before=01/02/2026", "?after=2026-01-02"] {
            for kind in ["email", "sms", "sign-in"] {
                let path = format!("/api/v1/logs/{kind}{query}");
                assert_refused(&app, &root, ("DELETE", &path), BAD_BEFORE).await;
            }
        }
        assert_eq!(app.isolation.table_counts().await, tables);
        assert_eq!(live_counts(&app, &root).await, [json!(4), json!(4), json!(2)]);

        // A date is its midnight: the row written on the 2nd stays.
        let (status, body) = call(&app, "DELETE", "/api/v1/logs/email?before=2026-01-02", &root, None).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(body, Value::Null, "no body");
        let (_, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        assert_eq!(receivers(&body), ["4@example.com", "3@example.com", "2@example.com"]);
        let (status, body) = call(&app, "GET", &format!("/api/v1/logs/email/{oldest}"), &root, None).await;
        assert_eq!(status, 404, "a pruned entry is gone: {body}");
        assert_eq!(live_counts(&app, &root).await, [json!(3), json!(4), json!(2)], "other logs untouched");

        // Strictly before: a row written at that very second stays.
        assert_eq!(call(&app, "DELETE", "/api/v1/logs/email?before=2026-01-03%2010:00:00", &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        assert_eq!(receivers(&body), ["4@example.com", "3@example.com"]);
        assert_eq!(call(&app, "DELETE", "/api/v1/logs/email?before=2026-01-03T10:00:01Z", &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        assert_eq!(receivers(&body), ["4@example.com"]);

        // An offset is converted to UTC: 11:00:01+02:00 is 09:00:01Z, before the 10:00 rows.
        assert_eq!(call(&app, "DELETE", "/api/v1/logs/sms?before=2026-01-03T11:00:01%2B02:00", &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", "/api/v1/logs/sms", &root, None).await;
        assert_eq!(receivers(&body), ["+15550104", "+15550103"]);

        assert_eq!(call(&app, "DELETE", "/api/v1/logs/sign-in?before=2026-01-02", &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", "/api/v1/logs/sign-in", &root, None).await;
        assert_eq!(body["count"], 1);
        assert_eq!(body["logs"][0]["ip"], "192.0.2.2");

        // Nothing older left: still 204.
        assert_eq!(call(&app, "DELETE", "/api/v1/logs/sign-in?before=2026-01-02", &root, None).await.0, 204);
        assert_eq!(live_counts(&app, &root).await, [json!(1), json!(2), json!(1)]);
    }

    async fn logs_are_root_only(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        message_row(&app, "email_logs", "a@example.com", "2026-01-01 10:00:00").await;
        let (_, body) = call(&app, "GET", "/api/v1/logs/email", &root, None).await;
        let id = body["logs"][0]["id"].as_i64().unwrap();
        let other = non_root_token(&app, &root).await;

        let before = app.isolation.table_counts().await;
        for kind in ["email", "sms", "sign-in"] {
            for (method, path) in [
                ("GET", format!("/api/v1/logs/{kind}")),
                ("GET", format!("/api/v1/logs/{kind}/{id}")),
                ("DELETE", format!("/api/v1/logs/{kind}?before=2030-01-01")),
            ] {
                let (status, body) = call(&app, method, &path, &other, None).await;
                assert_eq!(status, 401, "{method} {path}: {body}");
                assert_eq!(body["error_description"], NOT_ROOT, "{method} {path}");
            }
        }
        let (status, _) = call(&app, "GET", "/api/v1/logs/email", "not-a-token", None).await;
        assert_eq!(status, 401);
        assert_eq!(app.isolation.table_counts().await, before);
        assert_eq!(live_counts(&app, &root).await, [json!(1), json!(0), json!(0)]);
    }

    async fn saml_idp_routes_are_gated_by_the_sp_feature(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let other = non_root_token(&app, &root).await;
        let before = app.isolation.table_counts().await;
        let valid = json!({"name": "corp", "userIdAttribute": "uid", "metadata": METADATA});
        for (method, path, payload) in [
            ("GET", "/api/v1/saml/idps", None),
            ("POST", "/api/v1/saml/idps", Some(valid.clone())),
            ("POST", "/api/v1/saml/idps", Some(json!({"name": ""}))),
            ("GET", "/api/v1/saml/idps/1", None),
            ("PUT", "/api/v1/saml/idps/1", Some(json!({"isActive": false}))),
            ("DELETE", "/api/v1/saml/idps/1", None),
        ] {
            let (status, body) = call(&app, method, path, &root, payload.clone()).await;
            assert_eq!(status, 400, "{method} {path}: {body}");
            assert_eq!(body["error_description"], SAML_OFF, "{method} {path}");
            // The scope guard answers first.
            let (status, body) = call(&app, method, path, &other, payload).await;
            assert_eq!(status, 401, "{method} {path}: {body}");
            assert_eq!(body["error_description"], NOT_ROOT, "{method} {path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn saml_idps_are_created_read_updated_and_deleted(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_saml_sso_as_sp = true).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "GET", "/api/v1/saml/idps", &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({"idps": []}));

        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": " corp ", "userIdAttribute": "uid", "emailAttribute": "mail", "firstNameAttribute": null,
            "lastNameAttribute": "sn", "metadata": METADATA
        }))).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "only idp: {body}");
        let idp = &body["idp"];
        assert_eq!(idp.as_object().unwrap().len(), 11, "{idp}");
        let id = idp["id"].as_i64().unwrap();
        assert_eq!(idp["name"], "corp");
        assert_eq!(idp["isActive"], true);
        assert_eq!(idp["userIdAttribute"], "uid");
        assert_eq!(idp["emailAttribute"], "mail");
        assert_eq!(idp["firstNameAttribute"], Value::Null);
        assert_eq!(idp["lastNameAttribute"], "sn");
        assert_eq!(idp["metadata"], METADATA);
        assert!(idp["createdAt"].as_str().unwrap().len() == 19, "{idp}");
        assert_eq!(idp["deletedAt"], Value::Null);

        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "partner", "userIdAttribute": "nameid", "metadata": "  <md:EntityDescriptor/>"
        }))).await;
        assert_eq!(status, 201, "optional attributes may be left out: {body}");
        assert_eq!(body["idp"]["emailAttribute"], Value::Null);
        let partner = body["idp"]["id"].as_i64().unwrap();
        // Melody's panel sends blank optional attributes: they are stored as none.
        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "blank", "userIdAttribute": "nameid", "emailAttribute": "", "firstNameAttribute": " ",
            "lastNameAttribute": "", "metadata": "<md:EntityDescriptor/>"
        }))).await;
        assert_eq!(status, 201, "blank optional attributes are none: {body}");
        for field in ["emailAttribute", "firstNameAttribute", "lastNameAttribute"] {
            assert_eq!(body["idp"][field], Value::Null, "{field}");
        }
        let blank = body["idp"]["id"].as_i64().unwrap();
        let (status, _) = call(&app, "DELETE", &format!("/api/v1/saml/idps/{blank}"), &root, None).await;
        assert_eq!(status, 204);
        // A blank required attribute is still refused.
        let (status, _) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "blank2", "userIdAttribute": "", "metadata": "<md:EntityDescriptor/>"
        }))).await;
        assert_eq!(status, 400);

        let (status, body) = call(&app, "GET", "/api/v1/saml/idps", &root, None).await;
        assert_eq!(status, 200);
        let names: Vec<_> = body["idps"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["corp", "partner"]);
        let (status, body) = call(&app, "GET", &format!("/api/v1/saml/idps/{id}"), &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["idp"]["name"], "corp");
        assert_eq!(body["idp"]["metadata"], METADATA);

        let updated_metadata = "<EntityDescriptor entityID=\"https://idp2.example\"/>";
        let (status, body) = call(&app, "PUT", &format!("/api/v1/saml/idps/{id}"), &root, Some(json!({
            "isActive": false, "emailAttribute": "email", "firstNameAttribute": "givenName", "metadata": updated_metadata
        }))).await;
        assert_eq!(status, 200, "{body}");
        let idp = &body["idp"];
        assert_eq!(idp["isActive"], false);
        assert_eq!(idp["emailAttribute"], "email");
        assert_eq!(idp["firstNameAttribute"], "givenName");
        assert_eq!(idp["lastNameAttribute"], "sn", "fields left out stay");
        assert_eq!(idp["userIdAttribute"], "uid");
        assert_eq!(idp["name"], "corp");
        assert_eq!(idp["metadata"], updated_metadata);
        let (_, body) = call(&app, "GET", &format!("/api/v1/saml/idps/{id}"), &root, None).await;
        assert_eq!(body["idp"]["isActive"], false, "the change is stored");
        let (status, body) = call(&app, "PUT", &format!("/api/v1/saml/idps/{id}"), &root, Some(json!({"isActive": true}))).await;
        assert_eq!(status, 200);
        assert_eq!(body["idp"]["isActive"], true);
        assert_eq!(body["idp"]["emailAttribute"], "email");
        // A blank optional attribute clears it; the others stay.
        let (status, body) = call(&app, "PUT", &format!("/api/v1/saml/idps/{id}"), &root, Some(json!({"emailAttribute": ""}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["idp"]["emailAttribute"].clone(), body["idp"]["firstNameAttribute"].clone()), (Value::Null, json!("givenName")));

        let (status, body) = call(&app, "DELETE", &format!("/api/v1/saml/idps/{id}"), &root, None).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(body, Value::Null);
        for (method, payload) in [("GET", None), ("PUT", Some(json!({"isActive": false}))), ("DELETE", None)] {
            let (status, body) = call(&app, method, &format!("/api/v1/saml/idps/{id}"), &root, payload).await;
            assert_eq!(status, 404, "{method} after delete: {body}");
            assert_eq!(body["error_description"], "No SAML IDP found");
        }
        let (_, body) = call(&app, "GET", "/api/v1/saml/idps", &root, None).await;
        assert_eq!(body["idps"].as_array().unwrap().len(), 1);
        assert_eq!(body["idps"][0]["id"], partner);

        // The name of a deleted provider is free again.
        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "corp", "userIdAttribute": "uid", "metadata": METADATA
        }))).await;
        assert_eq!(status, 201, "{body}");
        assert_ne!(body["idp"]["id"], id);
    }

    async fn saml_idp_input_is_checked_and_refusals_change_nothing(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_saml_sso_as_sp = true).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "corp", "userIdAttribute": "uid", "metadata": METADATA
        }))).await;
        assert_eq!(status, 201, "{body}");
        let id = body["idp"]["id"].as_i64().unwrap();
        let (_, stored) = call(&app, "GET", &format!("/api/v1/saml/idps/{id}"), &root, None).await;
        let other = non_root_token(&app, &root).await;

        let before = app.isolation.table_counts().await;
        let at = format!("/api/v1/saml/idps/{id}");
        let post = |name: Value, metadata: &str| json!({"name": name, "userIdAttribute": "uid", "metadata": metadata});
        for (method, path, token, payload, status, message) in [
            ("GET", "/api/v1/saml/idps", &other, None, 401, NOT_ROOT),
            ("GET", at.as_str(), &other, None, 401, NOT_ROOT),
            ("POST", "/api/v1/saml/idps", &other, Some(post(json!("other"), METADATA)), 401, NOT_ROOT),
            ("PUT", at.as_str(), &other, Some(json!({"isActive": false})), 401, NOT_ROOT),
            ("DELETE", at.as_str(), &other, None, 401, NOT_ROOT),
            ("POST", "/api/v1/saml/idps", &root, Some(post(json!("corp"), METADATA)), 409, "A SAML IDP with this name already exists"),
            ("POST", "/api/v1/saml/idps", &root, Some(post(json!(" corp "), METADATA)), 409, "A SAML IDP with this name already exists"),
            ("POST", "/api/v1/saml/idps", &root, Some(post(json!(""), METADATA)), 400, "name must be between 1 and 50 characters"),
            ("POST", "/api/v1/saml/idps", &root, Some(post(json!("x".repeat(51)), METADATA)), 400, "name must be between 1 and 50 characters"),
            ("POST", "/api/v1/saml/idps", &root, Some(post(json!("x"), "")), 400, "metadata must be an XML document"),
            ("POST", "/api/v1/saml/idps", &root, Some(post(json!("x"), "   ")), 400, "metadata must be an XML document"),
            ("POST", "/api/v1/saml/idps", &root, Some(post(json!("x"), "not xml")), 400, "metadata must be an XML document"),
            ("POST", "/api/v1/saml/idps", &root, Some(json!({"name": "x", "userIdAttribute": "", "metadata": METADATA})), 400, "userIdAttribute must be between 1 and 100 characters"),
            ("PUT", at.as_str(), &root, Some(json!({"isActive": false, "metadata": "not xml"})), 400, "metadata must be an XML document"),
            ("PUT", at.as_str(), &root, Some(json!({"isActive": false, "userIdAttribute": " "})), 400, "userIdAttribute must be between 1 and 100 characters"),
            ("PUT", "/api/v1/saml/idps/999", &root, Some(json!({"isActive": false})), 404, "No SAML IDP found"),
            ("GET", "/api/v1/saml/idps/999", &root, None, 404, "No SAML IDP found"),
            ("DELETE", "/api/v1/saml/idps/999", &root, None, 404, "No SAML IDP found"),
            ("GET", "/api/v1/saml/idps/corp", &root, None, 400, "id must be a positive integer"),
        ] {
            let (got, body) = call(&app, method, path, token, payload).await;
            assert_eq!(got, status, "{method} {path}: {body}");
            assert_eq!(body["error_description"], message, "{method} {path}");
        }
        // A body missing a required field or with a wrong type is a 400 too.
        for payload in [json!({"name": "x", "metadata": METADATA}), json!({"name": "x", "userIdAttribute": "uid", "metadata": 1})] {
            let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(payload)).await;
            assert_eq!(status, 400, "{body}");
        }
        assert_eq!(app.isolation.table_counts().await, before);
        let (_, now) = call(&app, "GET", &format!("/api/v1/saml/idps/{id}"), &root, None).await;
        assert_eq!(now, stored, "the refused updates left the provider as it was");
    }
}
