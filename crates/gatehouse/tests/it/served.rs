//! Requests to a `gatehouse` process a test started itself (the cluster and fault tests), made
//! at its base URL as any client would.

use std::path::Path;
use std::process::Stdio;

use serde_json::{json, Value};
use tokio::process::Command;

use crate::flow::Browser;
use crate::harness::{basic, BOOTSTRAP_ID, BOOTSTRAP_SECRET};

/// A browser (cookie jar, no automatic redirects) on `base`.
pub fn browser_at(base: &str) -> Browser {
    Browser {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: base.to_owned(),
    }
}

/// A `root` token of the bootstrap S2S app.
pub async fn root_token(base: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/oauth2/v1/token"))
        .header("Authorization", basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "root")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// An SPA named `name` (openid, profile, offline_access) made through the S2S API with `admin`;
/// its client id.
pub async fn create_spa(base: &str, admin: &str, name: &str, redirect: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/apps"))
        .bearer_auth(admin)
        .json(&json!({
            "name": name, "type": "spa", "redirectUris": [redirect],
            "scopes": ["openid", "profile", "offline_access"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["app"]["clientId"].as_str().unwrap().to_owned()
}

/// The last `n` lines of a log, for a failure message.
pub fn last_lines(log: &str, n: usize) -> String {
    let lines: Vec<_> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `gatehouse serve` as a process of its own: none of this test process's `GATEHOUSE_`
/// variables, its output to a new file at `log`, killed when dropped.
pub fn serve_command(log: &Path) -> Command {
    let out = std::fs::File::create(log).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (var, _) in std::env::vars() {
        if var.starts_with("GATEHOUSE_") {
            command.env_remove(var);
        }
    }
    command
        .arg("serve")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .kill_on_drop(true);
    command
}
