//! Webhooks through their real interfaces: endpoints registered through `/api/v1/webhooks` (and
//! the panel, in Chromium), deliveries received by a Python receiver that verifies every
//! signature with the `standardwebhooks` package (`tests/clients/webhook_receiver.py`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use gatehouse_server::config::Config;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::clients::run_client;
use crate::flow::{
    authorize_url, create_app, error_text, id_token_subject, sign_in, sign_up, Browser, PASSWORD,
};
use crate::harness::{backend_tests, call, token_with, Backend, Isolation, TestApp};
use crate::mailbox::Mailbox;

/// A running receiver and the folder it records into.
pub struct Receiver {
    port: u16,
    dir: PathBuf,
    _child: tokio::process::Child,
}

impl Receiver {
    pub async fn start() -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let dir = crate::harness::fresh_temp_dir("gh_hooks");
        let script = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/clients/webhook_receiver.py"
        ));
        let mut child = tokio::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the webhook receiver");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the webhook receiver starts within 20 s")
            .unwrap();
        assert_eq!(
            ready.as_deref(),
            Some("ready"),
            "the webhook receiver did not start (./scripts/test installs standardwebhooks)"
        );
        Self {
            port,
            dir,
            _child: child,
        }
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// The secrets the receiver verifies `name`'s deliveries with, in order.
    pub fn set_secrets(&self, name: &str, secrets: &[&str]) {
        std::fs::write(self.dir.join(format!("{name}.secrets")), secrets.join("\n")).unwrap();
    }

    /// While closed, `name` answers 503.
    pub fn close(&self, name: &str) {
        std::fs::write(self.dir.join(format!("{name}.closed")), "").unwrap();
    }

    pub fn open(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.join(format!("{name}.closed")));
    }

    /// Every request `name` received, oldest first.
    pub fn records(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join(format!("{name}.jsonl")))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The records of `name` once `done` holds of them (within `seconds`).
    pub async fn wait_for(
        &self,
        name: &str,
        seconds: u64,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        for _ in 0..seconds * 5 {
            let records = self.records(name);
            if done(&records) {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "{what}: not within {seconds} s; {name} received {:#?}",
            self.records(name)
        );
    }
}

/// The records answered 2xx (verified, accepted).
fn accepted(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["status"] == 204).collect()
}

/// Quick retries, and the receiver on 127.0.0.1 allowed.
fn quick(c: &mut Config) {
    c.webhook_allow_private_addresses = true;
    c.webhook_retry_base_seconds = 1;
    c.webhook_poll_interval = 1;
}

/// Registers an endpoint; its id and secret.
async fn register(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (i64, String) {
    let body = json!({"url": url, "description": "test receiver", "events": events});
    let (status, answer) = call(app, "POST", "/api/v1/webhooks", token, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    let secret = answer["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{answer}");
    (answer["webhook"]["id"].as_i64().unwrap(), secret)
}

/// Creates an S2S app holding a scope through the API; its id.
async fn new_app(app: &TestApp, root: &str, name: &str) -> i64 {
    let body = json!({"name": name, "type": "s2s", "scopes": ["read_user"], "redirectUris": []});
    let (status, answer) = call(app, "POST", "/api/v1/apps", root, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    answer["app"]["id"].as_i64().unwrap()
}

async fn deliveries(app: &TestApp, token: &str, endpoint: i64) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/{endpoint}/deliveries");
    let (status, body) = call(app, "GET", &path, token, None).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// The delivery log once none of it is pending: the receiver's answer is recorded by the server
/// a moment after the receiver wrote it down.
async fn settled(app: &TestApp, token: &str, endpoint: i64) -> Vec<Value> {
    for _ in 0..100 {
        let log = deliveries(app, token, endpoint).await;
        if log.iter().all(|d| d["status"] != "pending") {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "still pending: {:#?}",
        deliveries(app, token, endpoint).await
    );
}

/// `(action, changes)` of the audit rows about webhook endpoints, oldest first.
async fn endpoint_audit(isolation: &Isolation) -> Vec<(String, String)> {
    const SQL: &str = "SELECT action, changes FROM audit_log \
        WHERE resource = 'webhook_endpoint' ORDER BY id";
    match isolation.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&isolation.database_url)
                .await
                .unwrap();
            let rows = sqlx::query_as(SQL).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
        Backend::PostgresRedis => {
            let pool = sqlx::PgPool::connect(&isolation.database_url)
                .await
                .unwrap();
            let rows = sqlx::query_as(SQL).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }
}

backend_tests! {
    async fn app_changes_reach_a_receiver_signed_once_each(backend: Backend) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_with(backend, quick).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        let (endpoint, secret) = register(&app, &token, &receiver.url("ok"), &["app.created", "app.deleted"]).await;
        receiver.set_secrets("ok", &[&secret]);

        let first = new_app(&app, &root, "Billing").await;
        let second = new_app(&app, &root, "Storefront").await;
        let records = receiver.wait_for("ok", 30, "two app.created deliveries", |r| accepted(r).len() == 2).await;
        let mut seen = Vec::new();
        for record in accepted(&records) {
            assert_eq!(record["verified_with"], json!([0]), "{record}");
            assert_eq!(record["contentType"], "application/json");
            assert!(record["id"].as_str().unwrap().starts_with("msg_"), "{record}");
            assert_eq!(record["body"]["type"], "app.created");
            assert!(record["body"]["timestamp"].as_str().unwrap().ends_with('Z'), "{record}");
            let data = &record["body"]["data"];
            assert_eq!(data["type"], "s2s");
            assert_eq!(data["clientId"].as_str().unwrap().len(), 32, "{record}");
            seen.push(data["id"].as_str().unwrap().parse::<i64>().unwrap());
        }
        seen.sort_unstable();
        // The event names the app itself, not the scope link written after it.
        assert_eq!(seen, [first, second]);
        assert_ne!(records[0]["id"], records[1]["id"]);

        let (status, _) = call(&app, "DELETE", &format!("/api/v1/apps/{first}"), &root, None).await;
        assert_eq!(status, 204);
        let records = receiver.wait_for("ok", 30, "the app.deleted delivery", |r| accepted(r).len() == 3).await;
        let deleted = &records[2]["body"];
        assert_eq!((deleted["type"].as_str(), deleted["data"]["id"].as_str()), (Some("app.deleted"), Some(first.to_string().as_str())));
        assert_eq!(deleted["data"]["name"], "Billing");

        let log = settled(&app, &token, endpoint).await;
        assert_eq!(log.len(), 3);
        for delivery in &log {
            assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_i64(), delivery["lastStatus"].as_i64()), (Some("delivered"), Some(1), Some(204)), "{delivery}");
            assert!(delivery["nextAttemptAt"].is_null());
        }
        assert_eq!(log[0]["eventType"], "app.deleted");
        let (_, list) = call(&app, "GET", "/api/v1/webhooks", &token, None).await;
        assert_eq!(list["backlog"], 0);
        assert_eq!(list["webhooks"][0]["events"], json!(["app.created", "app.deleted"]));
        assert!(list["webhooks"][0].get("secret").is_none(), "{list}");

        // An app update is not subscribed to: nothing more is sent.
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{second}"), &root, Some(json!({"name": "Shop"}))).await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(receiver.records("ok").len(), 3);

        // Subscribing to it: the update tells which fields changed.
        let path = format!("/api/v1/webhooks/{endpoint}");
        let (status, body) = call(&app, "PUT", &path, &token, Some(json!({"events": ["app.updated"], "description": "apps"}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["webhook"]["events"], json!(["app.updated"]));
        call(&app, "PUT", &format!("/api/v1/apps/{second}"), &root, Some(json!({"name": "Shop 2"}))).await;
        let records = receiver.wait_for("ok", 30, "the app.updated delivery", |r| accepted(r).len() == 4).await;
        let updated = &records[3]["body"]["data"];
        assert_eq!((updated["name"].as_str(), updated["changed"].clone()), (Some("Shop 2"), json!(["name"])));

        // The endpoint's own changes are audited, its secret never.
        let audit = endpoint_audit(&app.isolation).await;
        let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(actions, ["created", "updated"]);
        assert!(audit.iter().all(|(_, changes)| !changes.contains("whsec_")), "{audit:?}");
        assert!(audit[0].1.contains(&receiver.url("ok")), "{audit:?}");
    }

    /// A receiver subscribed to the user and org events gets one of each kind, each signed, as
    /// a user signs up, fails to sign in until locked, and apps change the user and an org.
    async fn user_and_org_events_reach_a_receiver_signed(backend: Backend) {
        const CB: &str = "https://shop.example.com/cb";
        let receiver = Receiver::start().await;
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            quick(c);
            mailbox.configure(c);
            c.enable_org = true;
            c.enable_email_verification = false;
            c.account_lockout_threshold = 2;
        })
        .await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        let wanted = [
            "user.signed_up", "user.signed_in", "user.sign_in_failed", "user.locked", "user.updated",
            "user.role_assigned", "user.role_removed", "user.disabled", "user.enabled",
            "user.mfa_enrolled", "user.mfa_reset", "user.created", "user.deleted",
            "org.created", "org.updated", "org.member_added", "org.member_removed", "org.deleted",
        ];
        let (endpoint, secret) = register(&app, &token, &receiver.url("users"), &wanted).await;
        receiver.set_secrets("users", &[&secret]);

        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let authorize = authorize_url(&client_id, CB, &[]);
        let back = sign_up(&Browser::new(&app), &authorize, "ada@example.com", CB).await;
        let ada = id_token_subject(&app, &client_id, CB, &back).await;
        for _ in 0..2 {
            let page = sign_in(&Browser::new(&app), &authorize, "ada@example.com", "Wrong-passw0rd!", CB).await;
            assert!(!error_text(&page.html).is_empty(), "{}", page.html);
        }

        let user = format!("/api/v1/users/{ada}");
        let (status, body) = call(&app, "POST", "/api/v1/roles", &root, Some(json!({"name": "support"}))).await;
        assert_eq!(status, 201, "{body}");
        for (method, path, body) in [
            ("PUT", user.clone(), Some(json!({"firstName": "Augusta"}))),
            ("PUT", user.clone(), Some(json!({"roles": ["support"]}))),
            ("PUT", user.clone(), Some(json!({"roles": []}))),
            ("PUT", user.clone(), Some(json!({"isActive": false}))),
            ("PUT", user.clone(), Some(json!({"isActive": true}))),
            ("POST", format!("{user}/otp-mfa"), None),
            ("DELETE", format!("{user}/otp-mfa"), None),
        ] {
            let (status, answer) = call(&app, method, &path, &root, body).await;
            assert!(status < 300, "{method} {path}: {status} {answer}");
        }
        let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        assert_eq!(status, 201, "{body}");
        let org = body["org"]["id"].as_i64().unwrap();
        for (method, path, body) in [
            ("PUT", format!("/api/v1/orgs/{org}"), Some(json!({"name": "Acme Inc"}))),
            ("POST", format!("{user}/orgs"), Some(json!({"orgs": [org]}))),
            ("POST", format!("{user}/orgs"), Some(json!({"orgs": []}))),
            ("DELETE", format!("/api/v1/orgs/{org}"), None),
            ("POST", "/api/v1/users/invitations".to_owned(), Some(json!({"email": "grace@example.com"}))),
            ("DELETE", user.clone(), None),
        ] {
            let (status, answer) = call(&app, method, &path, &root, body).await;
            assert!(status < 300, "{method} {path}: {status} {answer}");
        }

        let records = receiver
            .wait_for("users", 60, "one delivery of each event type", |r| {
                wanted.iter().all(|t| accepted(r).iter().any(|a| a["body"]["type"] == *t))
            })
            .await;
        for record in &records {
            assert_eq!((record["status"].as_i64(), &record["verified_with"]), (Some(204), &json!([0])), "{record}");
        }
        let of = |kind: &str| {
            let found = records.iter().find(|r| r["body"]["type"] == kind).unwrap();
            found["body"]["data"].clone()
        };
        for kind in wanted.iter().filter(|t| t.starts_with("user.") && **t != "user.created") {
            assert_eq!(of(kind)["id"], ada.as_str(), "{kind}: {}", of(kind));
        }
        assert_eq!(of("user.created")["email"], "grace@example.com");
        for kind in wanted.iter().filter(|t| t.starts_with("org.")) {
            assert_eq!(of(kind)["id"], org.to_string(), "{kind}: {}", of(kind));
        }
        assert_eq!(of("org.member_added")["userId"], ada.as_str());
        assert_eq!(of("org.member_removed")["userId"], ada.as_str());
        // Each event once: a message id is never delivered twice.
        let ids: std::collections::HashSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), records.len());
        let log = settled(&app, &token, endpoint).await;
        assert_eq!(log.len(), records.len());
    }

    async fn a_receiver_that_fails_twice_gets_the_message_on_the_third_attempt(backend: Backend) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_with(backend, quick).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        let (endpoint, secret) = register(&app, &token, &receiver.url("flaky"), &["app.created"]).await;
        receiver.set_secrets("flaky", &[&secret]);
        new_app(&app, &root, "Flaky").await;
        let records = receiver.wait_for("flaky", 40, "the third attempt", |r| !accepted(r).is_empty()).await;
        let statuses: Vec<i64> = records.iter().map(|r| r["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses, [500, 500, 204]);
        // Every attempt is the same message, each signed afresh and verified.
        assert!(records.iter().all(|r| r["id"] == records[0]["id"] && r["verified_with"] == json!([0])));
        assert_eq!(records[0]["body"], records[2]["body"]);
        let log = settled(&app, &token, endpoint).await;
        assert_eq!((log[0]["status"].as_str(), log[0]["attempts"].as_i64()), (Some("delivered"), Some(3)), "{log:?}");
    }

    async fn deliveries_pending_at_a_restart_arrive_after_it_once_each(backend: Backend) {
        let receiver = Receiver::start().await;
        receiver.close("gate");
        let app = TestApp::spawn_with(backend, quick).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        let (_, secret) = register(&app, &token, &receiver.url("gate"), &["app.created"]).await;
        receiver.set_secrets("gate", &[&secret]);
        for n in 0..3 {
            new_app(&app, &root, &format!("Pending {n}")).await;
        }
        // Each has been tried (and refused) once: all three are owed when the server stops.
        receiver.wait_for("gate", 30, "a first attempt at each", |r| {
            let mut ids: Vec<&str> = r.iter().map(|x| x["id"].as_str().unwrap()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len() == 3
        }).await;
        let isolation = app.stop().await;
        receiver.open("gate");
        let restarted = TestApp::spawn_on(isolation, quick).await;
        let records = receiver.wait_for("gate", 90, "the three deliveries after the restart", |r| accepted(r).len() >= 3).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let records = {
            let _ = records;
            receiver.records("gate")
        };
        let mut ids: Vec<&str> = accepted(&records).iter().map(|r| r["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let total = ids.len();
        ids.dedup();
        assert_eq!((total, ids.len()), (3, 3), "each message is accepted exactly once: {records:#?}");
        // The restarted server has a new address, so a new issuer: a new token.
        let token = restarted.admin_token("root").await;
        let (_, list) = call(&restarted, "GET", "/api/v1/webhooks", &token, None).await;
        assert_eq!(list["backlog"], 0, "{list}");
    }

    async fn a_rotated_secret_signs_what_follows_and_the_old_one_no_longer_verifies(backend: Backend) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_with(backend, quick).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        let (endpoint, old) = register(&app, &token, &receiver.url("rot"), &["app.created"]).await;
        receiver.set_secrets("rot", &[&old]);
        new_app(&app, &root, "Before").await;
        let records = receiver.wait_for("rot", 30, "the first delivery", |r| accepted(r).len() == 1).await;
        assert_eq!(records[0]["verified_with"], json!([0]));

        let path = format!("/api/v1/webhooks/{endpoint}/rotate-secret");
        let (status, body) = call(&app, "POST", &path, &token, None).await;
        assert_eq!(status, 200, "{body}");
        let new = body["secret"].as_str().unwrap().to_owned();
        assert!(new.starts_with("whsec_") && new != old);
        // The receiver knows both: only the new one verifies what is sent now.
        receiver.set_secrets("rot", &[&old, &new]);
        new_app(&app, &root, "After").await;
        let records = receiver.wait_for("rot", 30, "the delivery after the rotation", |r| accepted(r).len() == 2).await;
        let after = accepted(&records)[1];
        assert_eq!(after["body"]["data"]["name"], "After");
        assert_eq!(after["verified_with"], json!([1]), "{after}");
        let actions: Vec<String> = endpoint_audit(&app.isolation).await.into_iter().map(|(a, _)| a).collect();
        assert_eq!(actions, ["created", "secret_rotated"]);
    }

    async fn a_delivery_is_sent_again_from_the_log_with_its_message_id(backend: Backend) {
        let receiver = Receiver::start().await;
        receiver.close("again");
        let app = TestApp::spawn_with(backend, quick).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        let (endpoint, secret) = register(&app, &token, &receiver.url("again"), &["app.created"]).await;
        receiver.set_secrets("again", &[&secret]);
        new_app(&app, &root, "Again").await;
        receiver.wait_for("again", 30, "a refused first attempt", |r| !r.is_empty()).await;
        // The receiver has answered; the server records the answer a moment later.
        let mut log = deliveries(&app, &token, endpoint).await;
        for _ in 0..50 {
            if log[0]["lastStatus"] == 503 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            log = deliveries(&app, &token, endpoint).await;
        }
        let id = log[0]["id"].as_i64().unwrap();
        assert_eq!(log[0]["status"], "pending");
        assert!(log[0]["nextAttemptAt"].is_string());
        assert_eq!(log[0]["lastStatus"], 503);
        let resend = format!("/api/v1/webhooks/deliveries/{id}/resend");
        let (status, body) = call(&app, "POST", &resend, &token, None).await;
        assert_eq!(status, 409, "a pending delivery comes by itself: {body}");

        receiver.open("again");
        receiver.wait_for("again", 30, "the delivery", |r| accepted(r).len() == 1).await;
        settled(&app, &token, endpoint).await;
        let (status, body) = call(&app, "POST", &resend, &token, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["delivery"]["id"], id);
        // Due at once: the sender may have delivered it again already.
        assert!(["pending", "delivered"].contains(&body["delivery"]["status"].as_str().unwrap()), "{body}");
        let records = receiver.wait_for("again", 30, "the delivery sent again", |r| accepted(r).len() == 2).await;
        let sent = accepted(&records);
        assert_eq!(sent[0]["id"], sent[1]["id"], "the same message id, for the receiver to deduplicate");
        assert_eq!(sent[0]["body"], sent[1]["body"]);
        let log = settled(&app, &token, endpoint).await;
        assert_eq!(log[0]["status"], "delivered");
        let filtered = format!("/api/v1/webhooks/{endpoint}/deliveries?status=pending");
        let (_, none) = call(&app, "GET", &filtered, &token, None).await;
        assert_eq!(none["deliveries"], json!([]));
    }

    async fn inside_addresses_are_refused_unless_the_operator_allows_them(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let token = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        for url in ["https://127.0.0.1/hook", "https://localhost:8443/hook", "https://169.254.169.254/latest",
                    "https://[::1]/hook", "https://10.0.0.7/hook", "https://[::ffff:127.0.0.1]/hook"] {
            let body = json!({"url": url, "events": ["user.created"]});
            let (status, answer) = call(&app, "POST", "/api/v1/webhooks", &token, Some(body)).await;
            assert_eq!(status, 400, "{url}: {answer}");
            let text = answer.to_string();
            assert!(text.contains("loopback, private or link-local") && text.contains("webhook_allow_private_addresses"), "{url}: {answer}");
        }
        let (status, answer) = call(&app, "POST", "/api/v1/webhooks", &token, Some(json!({"url": "http://hooks.example/in", "events": ["user.created"]}))).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains("https"), "{answer}");
        let (_, list) = call(&app, "GET", "/api/v1/webhooks", &token, None).await;
        assert_eq!(list["webhooks"], json!([]));
        // A public https URL is taken (switched off: the tests send nothing off this machine).
        let body = json!({"url": "https://93.184.215.14/in", "events": ["user.created"], "isActive": false});
        let (status, answer) = call(&app, "POST", "/api/v1/webhooks", &token, Some(body)).await;
        assert_eq!(status, 201, "{answer}");
        // Nor can an endpoint be moved inside afterwards.
        let path = format!("/api/v1/webhooks/{}", answer["webhook"]["id"]);
        let (status, _) = call(&app, "PUT", &path, &token, Some(json!({"url": "https://127.0.0.1/in"}))).await;
        assert_eq!(status, 400);
    }

    async fn webhook_attacks_are_refused(backend: Backend) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_with(backend, quick).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_webhooks"]).await;
        let writer = token_with(&app, &root, &["read_webhooks", "write_webhooks"]).await;
        let other = token_with(&app, &root, &["read_user", "write_user"]).await;
        let good = json!({"url": receiver.url("a"), "events": ["app.created"]});

        // Without the scope, or without a token: refused, nothing made.
        let (status, body) = call(&app, "POST", "/api/v1/webhooks", &reader, Some(good.clone())).await;
        assert_eq!(status, 401, "{body}");
        assert!(body.to_string().contains("write_webhooks"), "{body}");
        for (method, path) in [("GET", "/api/v1/webhooks"), ("POST", "/api/v1/webhooks"), ("GET", "/api/v1/webhooks/1/deliveries"), ("POST", "/api/v1/webhooks/deliveries/1/resend")] {
            let (status, _) = call(&app, method, path, &other, Some(good.clone())).await;
            assert_eq!(status, 401, "{method} {path} with another app's token");
            let response = app.client.request(method.parse().unwrap(), app.url(path)).json(&good).send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} without a token");
        }

        // Malformed bodies: 400, and nothing made.
        let huge = format!("https://hooks.example/{}", "a".repeat(100_000));
        for body in [json!({"url": 5, "events": ["app.created"]}), json!({"url": receiver.url("a"), "events": "app.created"}),
                     json!({"events": ["app.created"]}), json!({"url": receiver.url("a"), "events": []}),
                     json!({"url": receiver.url("a"), "events": ["app.created", "user.exploded"]}),
                     json!({"url": receiver.url("a"), "events": ["app.created"], "description": "d".repeat(201)}),
                     json!({"url": "javascript:alert(1)", "events": ["app.created"]}),
                     json!({"url": "ftp://hooks.example/in", "events": ["app.created"]}),
                     json!({"url": huge, "events": ["app.created"]}), json!([1, 2])] {
            let (status, answer) = call(&app, "POST", "/api/v1/webhooks", &writer, Some(body.clone())).await;
            assert_eq!(status, 400, "{body:.200}: {answer}");
        }
        let response = app.client.post(app.url("/api/v1/webhooks")).bearer_auth(&writer)
            .header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_eq!(response.status(), 400);
        let (_, list) = call(&app, "GET", "/api/v1/webhooks", &writer, None).await;
        assert_eq!(list["webhooks"], json!([]));
        let counts = app.isolation.table_counts().await;
        assert!(counts.iter().any(|(t, n)| t == "webhook_endpoints" && *n == 0), "{counts:?}");

        // One endpoint's log holds only its own deliveries; ids of other things are not found.
        let (first, secret) = register(&app, &writer, &receiver.url("a"), &["app.created"]).await;
        receiver.set_secrets("a", &[&secret]);
        let (second, _) = register(&app, &writer, &receiver.url("b"), &["app.deleted"]).await;
        new_app(&app, &root, "Watched").await;
        receiver.wait_for("a", 30, "the delivery", |r| accepted(r).len() == 1).await;
        let delivery = deliveries(&app, &writer, first).await[0]["id"].as_i64().unwrap();
        assert!(deliveries(&app, &writer, second).await.is_empty());
        assert_eq!(deliveries(&app, &reader, first).await.len(), 1, "a reader reads the log");
        let (status, _) = call(&app, "GET", "/api/v1/webhooks/999/deliveries", &writer, None).await;
        assert_eq!(status, 404);
        for (path, expected) in [(format!("/api/v1/webhooks/deliveries/{}/resend", delivery + 1000), 404),
                                 ("/api/v1/webhooks/deliveries/abc/resend".to_owned(), 400),
                                 ("/api/v1/webhooks/deliveries/-1/resend".to_owned(), 400)] {
            let (status, _) = call(&app, "POST", &path, &writer, None).await;
            assert_eq!(status, expected, "{path}");
        }
        for query in ["status=bogus", "limit=0", "before=x"] {
            let (status, _) = call(&app, "GET", &format!("/api/v1/webhooks/{first}/deliveries?{query}"), &writer, None).await;
            assert_eq!(status, 400, "{query}");
        }
        // A reader can neither send again, rotate, change nor delete.
        for (method, path) in [("POST", format!("/api/v1/webhooks/deliveries/{delivery}/resend")),
                               ("POST", format!("/api/v1/webhooks/{first}/rotate-secret")),
                               ("PUT", format!("/api/v1/webhooks/{first}")),
                               ("DELETE", format!("/api/v1/webhooks/{first}"))] {
            let (status, _) = call(&app, method, &path, &reader, Some(json!({"isActive": false}))).await;
            assert_eq!(status, 401, "{method} {path}");
        }
        // The secret is never read back.
        let (_, one) = call(&app, "GET", &format!("/api/v1/webhooks/{first}"), &writer, None).await;
        assert!(!one.to_string().contains("whsec_"), "{one}");

        // A deleted endpoint is gone, its log with it, and it is sent nothing more.
        let (status, _) = call(&app, "DELETE", &format!("/api/v1/webhooks/{first}"), &writer, None).await;
        assert_eq!(status, 204);
        let (status, _) = call(&app, "GET", &format!("/api/v1/webhooks/{first}/deliveries"), &writer, None).await;
        assert_eq!(status, 404);
        let (status, _) = call(&app, "POST", &format!("/api/v1/webhooks/deliveries/{delivery}/resend"), &writer, None).await;
        assert_eq!(status, 404);
        new_app(&app, &root, "Unwatched").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(receiver.records("a").len(), 1);
    }

    async fn chromium_manages_webhooks_in_the_panel(backend: Backend) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_with(backend, quick).await;
        let shots = format!("webhooks-{backend:?}").to_lowercase();
        run_client("node", "admin-webhooks.mjs", &[
            ("ISSUER", app.base.clone()),
            ("SETUP_LINK", app.setup_link.clone().expect("a setup link on an empty install")),
            ("ADMIN_EMAIL", "hooks-admin@example.com".into()),
            ("PASSWORD", PASSWORD.into()),
            ("RECEIVER_URL", receiver.url("panel")),
            ("OTHER_URL", receiver.url("other")),
            ("RECEIVER_DIR", receiver.dir.display().to_string()),
            ("SHOTS", shots.clone()),
        ]).await;
        // The receiver verified what the panel's app creation raised, and the same message
        // again after "send again", with the secret the panel showed.
        let records = receiver.records("panel");
        let sent = accepted(&records);
        assert!(sent.len() >= 2, "{records:#?}");
        assert_eq!(sent[0]["id"], sent[1]["id"]);
        assert_eq!(sent[0]["body"]["data"]["name"], "Hooked app");
        assert!(receiver.records("other").is_empty());
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-artifacts"));
        for page in ["webhooks-empty", "webhook-created-secret", "webhook-deliveries", "webhook-sent-again", "webhook-new-secret", "webhooks"] {
            let size = std::fs::metadata(dir.join(format!("{shots}-{page}.png"))).map(|m| m.len()).unwrap_or(0);
            assert!(size > 5_000, "screenshot {shots}-{page} missing or blank");
        }
    }
}
