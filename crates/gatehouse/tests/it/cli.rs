//! The `gatehouse` binary as an operator runs it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{backend_tests, json_body, Isolation};

pub(crate) fn gatehouse() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    // Only what a test sets reaches the process.
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    command
}

/// `gatehouse` with no arguments and no configuration, in an empty directory: SQLite in
/// `./data`, in-process cache, credentials printed once, SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_embedded_with_no_configuration_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("gh_cli_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let mut child = gatehouse()
        .current_dir(&dir)
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut logs = String::new();
    let addr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "exited early: {logs}"
        );
        logs.push_str(&line);
        let entry: Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["fields"]["message"] == "listening" {
            break entry["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    let client = reqwest::Client::new();
    let doc =
        json_body(client.get(format!("http://{addr}/.well-known/openid-configuration"))).await;
    println!("first start served discovery after {:?}", started.elapsed());
    assert_eq!(doc["issuer"], "http://127.0.0.1:8787");
    assert!(dir.join("data/gatehouse.db").exists());
    assert!(dir.join("data/master.key").exists());

    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.contains("Admin SPA app client_id") {
        assert!(stdout.read_line(&mut printed).unwrap() > 0, "{printed}");
    }
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (client_id, secret) = (field("client_id:"), field("client_secret:"));
    let response = client
        .post(format!("http://{addr}/oauth2/v1/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "root")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    stderr.read_to_string(&mut logs).unwrap();
    assert!(logs.contains("shutdown requested"), "{logs}");
    assert!(!logs.contains(&secret), "the secret reached the log");
    assert!(!logs.contains(&token), "a token reached the log");

    // A second start reuses the keys and prints no new credentials.
    let output = gatehouse()
        .current_dir(&dir)
        .args(["keys", "list"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wrong_value_stops_start_up_naming_the_key() {
    for (var, value, expected) in [
        (
            "GATEHOUSE_S2S_ACCESS_TOKEN_EXPIRES_IN",
            "soon",
            "s2s_access_token_expires_in",
        ),
        ("GATEHOUSE_NO_SUCH_KEY", "1", "GATEHOUSE_NO_SUCH_KEY"),
        ("GATEHOUSE_ISSUER", "https://example.com/", "issuer"),
        // Branding the pages put into their CSS and links.
        (
            "GATEHOUSE_LAYOUT_COLOR",
            "red}*{display:none}",
            "layout_color",
        ),
        (
            "GATEHOUSE_FONT_FAMILY",
            "x}body{background:red",
            "font_family",
        ),
        ("GATEHOUSE_TERMS_LINK", "javascript:alert(1)", "terms_link"),
    ] {
        for args in [&["config", "check"][..], &["serve"][..]] {
            let output = gatehouse().args(args).env(var, value).output().unwrap();
            assert_eq!(output.status.code(), Some(2), "{var} {args:?}");
            let stderr = String::from_utf8(output.stderr).unwrap();
            assert!(stderr.contains(expected), "{stderr}");
        }
    }
    let output = gatehouse().args(["config", "check"]).output().unwrap();
    assert!(output.status.success());
}

/// Exit code and stderr of `gatehouse --config PATH config check`.
fn check_file(path: &std::path::Path) -> (Option<i32>, String) {
    let output = gatehouse()
        .arg("--config")
        .arg(path)
        .args(["config", "check"])
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_config_file_is_read_and_checked() {
    let dir = std::env::temp_dir().join(format!("gh_cfg_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("custom.toml");
    std::fs::write(&path, "enable_org = \"yes\"\n").unwrap();
    let (code, stderr) = check_file(&path);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("enable_org"), "{stderr}");
    std::fs::write(&path, "enable_org = true\n").unwrap();
    assert_eq!(check_file(&path).0, Some(0));
    assert_eq!(check_file(&dir.join("missing.toml")).0, Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_example_file_lists_every_key_and_parses_when_uncommented() {
    let output = gatehouse().args(["config", "example"]).output().unwrap();
    let example = String::from_utf8(output.stdout).unwrap();
    for key in gatehouse_server::config::KEYS {
        assert!(
            example.contains(&format!("# {} =", key.name)),
            "{}",
            key.name
        );
    }
    // The top-level keys only: the provider table's fields below its header share some names.
    let (top_level, provider_table) = example
        .split_once("# [[oidc_auth_providers]]")
        .expect("the example shows an OpenID Connect provider table");
    assert!(
        provider_table.contains("# client_id = "),
        "{provider_table}"
    );
    let uncommented: String = top_level
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.split_once(" = ").is_some_and(|(k, _)| {
                gatehouse_server::config::KEYS
                    .iter()
                    .any(|key| key.name == k)
            })
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = std::env::temp_dir().join(format!("gh_example_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gatehouse.toml");
    std::fs::write(&path, uncommented).unwrap();
    let (code, stderr) = check_file(&path);
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

backend_tests! {
    async fn migrate_applies_the_schema(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        for _ in 0..2 {
            let output = gatehouse().arg("migrate").envs(isolation.env()).output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        }
        let tables: Vec<String> = isolation.table_counts().await.into_iter().map(|(t, _)| t).collect();
        for table in [
            "apps", "users", "user_app_consents", "roles", "user_roles", "scopes", "app_scopes",
            "scope_locales", "orgs", "user_orgs", "org_groups", "user_org_groups", "user_passkeys",
            "user_attributes", "user_attribute_values", "banners", "app_banners", "saml_idps",
            "email_logs", "sms_logs", "sign_in_logs", "signing_keys", "refresh_tokens",
            "browser_sessions", "recovery_codes", "connect_apps", "user_identities",
        ] {
            assert!(tables.iter().any(|t| t == table), "{table} missing: {tables:?}");
        }
    }
}

/// `--version` names the commit the binary was built from, so a report can say what ran.
#[test]
fn version_names_the_commit_it_was_built_from() {
    let output = gatehouse().arg("--version").output().unwrap();
    assert!(output.status.success());
    let shown = String::from_utf8(output.stdout).unwrap();
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap();
    let head = head.trim();
    assert_eq!(head.len(), 12, "the tests run in a git checkout");
    let expected = format!("gatehouse {} (commit {head}", env!("CARGO_PKG_VERSION"));
    assert!(
        shown.starts_with(&expected),
        "{shown:?} should start with {expected:?}"
    );
    let rest = &shown[expected.len()..];
    assert!(rest == ")\n" || rest == "-modified)\n", "{shown:?}");
}
