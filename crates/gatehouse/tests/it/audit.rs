//! The audit trail: a change of every kind (S2S API, admin panel, the user themself, the CLI)
//! is found with who made it, from where, and what changed; refusals record nothing; the
//! records are read through `GET /api/v1/logs/audit` and the panel.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::admin::{panel_browser, set_up_admin, sign_up_user, ADMIN_EMAIL};
use crate::flow::{hidden_fields, PASSWORD};
use crate::harness::{backend_tests, call, token_with, Backend, TestApp};

async fn audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = call(
        app,
        "GET",
        &format!("/api/v1/logs/audit?{query}"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["records"].as_array().unwrap().clone()
}

fn actions(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect()
}

async fn auth_id_of(app: &TestApp, root: &str, email: &str) -> String {
    let (_, body) = call(
        app,
        "GET",
        &format!("/api/v1/users?search={email}"),
        root,
        None,
    )
    .await;
    body["users"][0]["authId"].as_str().unwrap().to_owned()
}

backend_tests! {
    async fn every_kind_of_change_is_recorded_with_who_made_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        // The user themself: a sign-up through the pages.
        sign_up_user(&app, "self@example.com").await;
        let root = app.admin_token("root").await;
        let user = auth_id_of(&app, &root, "self@example.com").await;
        let records = audit(&app, &root, &format!("resource=user&resourceId={user}")).await;
        let created = records.iter().find(|r| r["action"] == "created").expect("sign-up recorded");
        assert_eq!((created["actorKind"].as_str(), created["actorId"].as_str()), (Some("user"), Some(user.as_str())));
        assert_eq!(created["ip"], "127.0.0.1");
        assert!(created["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{created}");
        let fields = created["changes"].as_array().unwrap();
        assert!(fields.iter().any(|f| f["field"] == "email" && f["after"] == "self@example.com"), "{created}");
        assert!(!created.to_string().contains(PASSWORD), "no password in {created}");

        // An S2S app: a role, then the user's names, roles and switch.
        let (_, body) = call(&app, "POST", "/api/v1/roles", &root, Some(json!({"name": "editor"}))).await;
        let role_id = body["role"]["id"].as_i64().unwrap();
        let (status, _) = call(&app, "PUT", &format!("/api/v1/roles/{role_id}"), &root, Some(json!({"name": "writer"}))).await;
        assert_eq!(status, 200);
        let path = format!("/api/v1/users/{user}");
        let (status, body) = call(&app, "PUT", &path, &root, Some(json!({"firstName": "Grace", "roles": ["writer"], "isActive": false}))).await;
        assert_eq!(status, 200, "{body}");
        let records = audit(&app, &root, &format!("resource=user&resourceId={user}")).await;
        let newest: Vec<&str> = actions(&records).into_iter().take(3).collect();
        for action in ["updated", "disabled", "role_assigned"] {
            assert!(newest.contains(&action), "{action} in {newest:?}");
        }
        let updated = records.iter().find(|r| r["action"] == "updated").unwrap();
        assert_eq!(updated["actorKind"], "app");
        assert_eq!(updated["changes"], json!([{"field": "firstName", "before": "Ada", "after": "Grace"}]));
        let renamed = audit(&app, &root, &format!("resource=role&resourceId={role_id}&action=updated")).await;
        assert_eq!(renamed.len(), 1);
        assert_eq!(renamed[0]["changes"][0]["before"], "editor");
        assert_eq!(renamed[0]["changes"][0]["after"], "writer");

        // A refused change records nothing.
        let before = audit(&app, &root, "limit=200").await.len();
        let (status, _) = call(&app, "PUT", &path, &root, Some(json!({"locale": "xx"}))).await;
        assert_eq!(status, 400);
        let (status, _) = call(&app, "POST", "/api/v1/roles", &root, Some(json!({"name": "writer"}))).await;
        assert_eq!(status, 409);
        assert_eq!(audit(&app, &root, "limit=200").await.len(), before);

        // An admin in the panel.
        let (browser, _) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        let roles = browser.get("/admin/roles").await;
        let fields = hidden_fields(&roles.html, "create-role-form", &[("name", "auditor"), ("note", "reads")]);
        let done = browser.post("/admin/roles", &fields).await;
        assert_eq!(done.status, 303, "{}", done.html);
        let admin = auth_id_of(&app, &root, ADMIN_EMAIL).await;
        let by_admin = audit(&app, &root, &format!("actor={admin}&resource=role")).await;
        assert_eq!(actions(&by_admin), ["created"]);
        assert_eq!(by_admin[0]["actorKind"], "admin");

        // The panel shows the trail and the user's history.
        let page = browser.get("/admin/audit?resource=role").await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains("auditor") && page.html.contains("writer"), "{}", page.html);
        let page = browser.get(&format!("/admin/users/{user}")).await;
        assert!(page.html.contains("id=\"history\""), "{}", page.html);
        assert!(page.html.contains("firstName: Ada → Grace"), "{}", page.html);
        let refused = browser.get("/admin/audit?from=yesterday").await;
        assert_eq!(refused.status, 400);

        // Deleting the user is the last record about them.
        let (status, _) = call(&app, "DELETE", &path, &root, None).await;
        assert_eq!(status, 204);
        let records = audit(&app, &root, &format!("resource=user&resourceId={user}&limit=1")).await;
        assert_eq!(actions(&records), ["deleted"]);
    }

    async fn the_audit_api_pages_filters_and_refuses(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        for name in ["a", "b", "c"] {
            let (status, _) = call(&app, "POST", "/api/v1/roles", &root, Some(json!({"name": name}))).await;
            assert_eq!(status, 201);
        }
        let (_, body) = call(&app, "GET", "/api/v1/logs/audit?resource=role&limit=2", &root, None).await;
        let first: Vec<Value> = body["records"].as_array().unwrap().clone();
        assert_eq!(first.len(), 2);
        let next = body["next"].as_i64().expect("a next page");
        let (_, body) = call(&app, "GET", &format!("/api/v1/logs/audit?resource=role&limit=2&before={next}"), &root, None).await;
        let names: Vec<&str> = first.iter().chain(body["records"].as_array().unwrap())
            .map(|r| r["changes"].as_array().unwrap().iter().find(|f| f["field"] == "name").unwrap()["after"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["c", "b", "a"]);
        assert!(body.get("next").is_none(), "{body}");
        let today = chrono::Utc::now().date_naive();
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(audit(&app, &root, &format!("resource=role&from={today}&to={tomorrow}")).await.len(), 3);
        assert!(audit(&app, &root, &format!("resource=role&from={tomorrow}")).await.is_empty());

        for bad in ["limit=0", "limit=201", "from=soon", "to=2026-13-01", "before=x", "colour=red"] {
            let (status, body) = call(&app, "GET", &format!("/api/v1/logs/audit?{bad}"), &root, None).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        // Only root reads it.
        let reader = token_with(&app, &root, &["read_user", "read_role", "read_app"]).await;
        let (status, _) = call(&app, "GET", "/api/v1/logs/audit", &reader, None).await;
        assert_eq!(status, 401);
        let (status, _) = call(&app, "GET", "/api/v1/logs/audit", "forged", None).await;
        assert_eq!(status, 401);
    }
}

/// `gatehouse admin create-user` is recorded as the command line's.
#[tokio::test]
async fn a_change_made_by_the_cli_is_the_cli_s() {
    let isolation = crate::harness::Isolation::new(Backend::Sqlite).await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["admin", "create-user", "--email", "cli-audit@example.com"])
        .envs(isolation.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let made = child.wait_with_output().unwrap();
    assert!(made.status.success(), "{made:?}");
    let app = TestApp::spawn_on(isolation, |_| {}).await;
    let root = app.admin_token("root").await;
    let records = audit(&app, &root, "actor=cli").await;
    let created = records
        .iter()
        .find(|r| r["resource"] == "user" && r["action"] == "created")
        .expect("recorded");
    assert_eq!(created["actorKind"], "cli");
    assert!(created["ip"].is_null());
}
