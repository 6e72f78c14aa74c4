//! Running it for real: logs a machine can read, and backups of the embedded database made
//! and restored with the binary while (and after) it serves.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cli::gatehouse;

/// A fresh working directory; the server's `data_dir` is `./data` in it.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gh_ops_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `gatehouse serve` in `dir` with stdout and stderr piped (not a terminal), both collected.
struct Served {
    child: Child,
    addr: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn collect(
    stream: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    })
}

impl Served {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = gatehouse()
            .current_dir(dir)
            .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
            .env("GATEHOUSE_ENABLE_APP_BANNER", "true")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdout, stderr) = Default::default();
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let logs = stderr.lock().unwrap().clone();
            // Read the address without the log format's help: it must not depend on colours.
            if let Some(line) = logs.lines().find(|l| l.contains("listening")) {
                let at = line.find("127.0.0.1:").unwrap();
                let port: String = line[at + 10..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                break format!("127.0.0.1:{port}");
            }
            assert!(child.try_wait().unwrap().is_none(), "exited early: {logs}");
            assert!(Instant::now() < deadline, "did not start: {logs}");
            std::thread::sleep(Duration::from_millis(50));
        };
        Self {
            child,
            addr,
            stdout,
            stderr,
            readers,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The one-time admin S2S credentials printed at the first start.
    fn credentials(&self) -> (String, String) {
        let printed = self.stdout.lock().unwrap().clone();
        let field = |name: &str| {
            printed
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {printed}"))
                .trim()
                .to_owned()
        };
        (field("client_id:"), field("client_secret:"))
    }

    /// Stops the server with SIGTERM; its whole stderr.
    fn stop(mut self) -> String {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        for reader in std::mem::take(&mut self.readers) {
            reader.join().unwrap();
        }
        let logs = self.stderr.lock().unwrap().clone();
        logs
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn root_token(served: &Served, (client_id, secret): &(String, String)) -> String {
    let response = reqwest::Client::new()
        .post(served.url("/oauth2/v1/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "root")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_banner(client: &reqwest::Client, served_url: &str, token: &str, text: &str) {
    let response = client
        .post(format!("{served_url}/api/v1/app-banners"))
        .bearer_auth(token)
        .json(&json!({ "type": "info", "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

fn run(dir: &Path, args: &[&str]) -> Output {
    gatehouse().current_dir(dir).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Text logs written to a pipe carry no colour codes, and the request's line names its ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_to_a_pipe_have_no_colour_codes_and_carry_the_request_id() {
    let dir = workdir("text_logs");
    let served = Served::start(
        &dir,
        &[
            ("GATEHOUSE_LOG_FORMAT", "text"),
            ("GATEHOUSE_LOG_LEVEL", "info,gatehouse_server=debug"),
        ],
    );
    let response = reqwest::get(served.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let logs = served.stop();
    assert!(
        !logs.contains("\x1b["),
        "ANSI escapes in a piped log: {logs:?}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains(&format!("request_id={id}")) && l.contains("status=200")),
        "no line of the request names {id}: {logs}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// In JSON, a line written while handling a request carries the ID the response returned, and
/// a caller's own ID is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_of_a_request_carry_the_request_id_of_the_response() {
    let dir = workdir("json_logs");
    let served = Served::start(
        &dir,
        &[
            ("GATEHOUSE_LOG_FORMAT", "json"),
            ("GATEHOUSE_LOG_LEVEL", "info,gatehouse_server=debug"),
        ],
    );
    let client = reqwest::Client::new();
    let response = client
        .get(served.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let made = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let response = client
        .get(served.url("/no/such/route"))
        .header("x-request-id", "caller-trace-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "caller-trace-7");
    let logs = served.stop();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (id, status) in [(made.as_str(), 200), ("caller-trace-7", 404)] {
        let line = lines
            .iter()
            .find(|l| l["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no line carries {id}: {logs}"));
        assert_eq!(line["fields"]["message"], "request", "{line}");
        assert_eq!(line["fields"]["status"], status, "{line}");
    }
    // Lines outside a request have no request span.
    let listening = lines
        .iter()
        .find(|l| l["fields"]["message"] == "listening")
        .unwrap();
    assert!(listening.get("span").is_none(), "{listening}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A backup made while the server serves writes restores into a fresh data directory (with
/// the same master key) and the server started there finds the data; the backup command will
/// not overwrite a file without --force, and restore refuses while a server runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_into_a_fresh_data_dir() {
    let dir = workdir("backup_live");
    let served = Served::start(&dir, &[]);
    let credentials = loop {
        if served
            .stdout
            .lock()
            .unwrap()
            .contains("Admin SPA app client_id")
        {
            break served.credentials();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let token = root_token(&served, &credentials).await;
    let client = reqwest::Client::new();
    post_banner(
        &client,
        &served.url(""),
        &token,
        "Written before the backup",
    )
    .await;

    // Writes go on while the backup is taken.
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = tokio::spawn({
        let (client, url, token, writing) = (
            client.clone(),
            served.url(""),
            token.clone(),
            Arc::clone(&writing),
        );
        async move {
            let mut written = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                post_banner(&client, &url, &token, &format!("during {written}")).await;
                written += 1;
            }
            written
        }
    });
    let backup_file = dir.join("gatehouse-backup.db");
    let backup_path = backup_file.to_str().unwrap().to_owned();
    let output = tokio::task::spawn_blocking({
        let dir = dir.clone();
        let to = backup_path.clone();
        move || run(&dir, &["backup", "--to", &to])
    })
    .await
    .unwrap();
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    let master_key = std::fs::read_to_string(dir.join("data/master.key")).unwrap();
    assert!(printed.contains("data/master.key"), "{printed}");
    assert!(printed.contains("useless without it"), "{printed}");
    assert!(
        !printed.contains(master_key.trim()),
        "the master key was printed"
    );
    assert!(!dir.join("gatehouse-backup.db.partial").exists());
    println!("{written} banners written while the backup ran");

    let again = run(&dir, &["backup", "--to", &backup_path]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    let refused = run(&dir, &["restore", "--from", &backup_path]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("running"),
        "{}",
        text(&refused.stderr)
    );
    served.stop();

    let fresh = workdir("backup_restored");
    std::fs::create_dir_all(fresh.join("data")).unwrap();
    std::fs::copy(dir.join("data/master.key"), fresh.join("data/master.key")).unwrap();
    let restored = run(&fresh, &["restore", "--from", &backup_path]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(
        text(&restored.stdout).contains("master key"),
        "{}",
        text(&restored.stdout)
    );
    // A second restore keeps the database it replaces.
    let restored = run(&fresh, &["restore", "--from", &backup_path]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    let kept: Vec<String> = std::fs::read_dir(fresh.join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gatehouse.db.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");

    let served = Served::start(&fresh, &[]);
    let token = root_token(&served, &credentials).await;
    let banners: Value = client
        .get(served.url("/api/v1/app-banners"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = banners["appBanners"]
        .as_array()
        .unwrap_or_else(|| panic!("{banners}"))
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"Written before the backup"), "{texts:?}");
    served.stop();
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&fresh).unwrap();
}

/// A database made by `migrate` and its backup: the directory and the backup's path.
fn migrated_with_backup(name: &str) -> (PathBuf, PathBuf) {
    let dir = workdir(name);
    let output = run(&dir, &["migrate"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let backup = dir.join("backup.db");
    let output = run(&dir, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    (dir, backup)
}

/// Restore refuses a file that is not a whole SQLite database, and leaves the database alone.
#[test]
fn restore_refuses_a_corrupt_file() {
    let (dir, backup) = migrated_with_backup("restore_corrupt");
    let database = dir.join("data/gatehouse.db");
    let before = std::fs::read(&database).unwrap();

    let junk = dir.join("junk.db");
    std::fs::write(&junk, b"this is a note, not a database").unwrap();
    let mut damaged = std::fs::read(&backup).unwrap();
    let page = 4096;
    assert!(damaged.len() > 4 * page);
    for byte in &mut damaged[2 * page..2 * page + 512] {
        *byte = 0xA5;
    }
    let damaged_file = dir.join("damaged.db");
    std::fs::write(&damaged_file, damaged).unwrap();

    for file in [&junk, &damaged_file] {
        let output = run(&dir, &["restore", "--from", file.to_str().unwrap()]);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{} was restored", file.display());
        assert!(
            stderr.contains("not a usable SQLite database") || stderr.contains("integrity"),
            "{stderr}"
        );
        assert!(stderr.contains(file.to_str().unwrap()), "{stderr}");
    }
    assert_eq!(std::fs::read(&database).unwrap(), before);
    assert!(!dir.join("data/gatehouse.db.restoring").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Restore refuses a backup made by a later release, whose schema this binary does not know.
#[tokio::test]
async fn restore_refuses_a_newer_schema_version() {
    let (dir, backup) = migrated_with_backup("restore_newer");
    let url = format!("sqlite:{}", backup.display());
    let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101, 'from the future', TRUE, x'00', 0)",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    sqlx::Connection::close(connection).await.unwrap();

    let output = run(&dir, &["restore", "--from", backup.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("schema version 99990101, newer than"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A PostgreSQL deployment is pointed to pg_dump.
#[test]
fn backup_of_postgresql_points_to_pg_dump() {
    let dir = workdir("backup_pg");
    let output = gatehouse()
        .current_dir(&dir)
        .env(
            "GATEHOUSE_DATABASE_URL",
            "postgres://gatehouse@127.0.0.1:1/none",
        )
        .env("GATEHOUSE_MASTER_KEY", "00".repeat(32))
        .args(["backup", "--to", "x.db"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("pg_dump") && stderr.contains("docs/operations.md"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
