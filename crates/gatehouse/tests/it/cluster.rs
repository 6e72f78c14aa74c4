//! Three processes of the `gatehouse` binary on one PostgreSQL schema and one Redis prefix,
//! behind HAProxy (round robin, no stickiness, health checks on `/health/ready`, a request to a
//! dead instance retried on another): the whole browser journey through it, consecutive requests
//! on different instances, lockouts and rate limits counted across them, a key rotated by one
//! process published by every instance, and an instance killed with SIGKILL mid-journey.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::flow::{
    authorize_url, form_fields, hidden_fields, input_value, sign_up_form, Browser, ADA_NAMES,
    PASSWORD,
};
use crate::harness::{basic, fresh_temp_dir, Backend, Isolation, BOOTSTRAP_ID, BOOTSTRAP_SECRET};
use crate::mailbox::{Mailbox, SENDER, SMTP_PASSWORD, SMTP_USER};
use crate::own_backends::free_port;
use crate::served::{browser_at, create_spa, last_lines, root_token, serve_command};

/// HAProxy's names of the instances, which it sends back in `X-Served-By`.
const NAMES: [&str; 3] = ["gh1", "gh2", "gh3"];
const LOCKOUT_THRESHOLD: usize = 4;
const DEVICE_CODE_THRESHOLD: usize = 3;

struct Instance {
    name: &'static str,
    port: u16,
    process: Child,
}

/// The instances, HAProxy in front of them and the SMTP receiver they all send to.
struct Cluster {
    isolation: Isolation,
    /// The public URL: HAProxy, reached as `localhost` (WebAuthn takes no IP address as RP id).
    issuer: String,
    /// The same, by address, for the test's own requests.
    balancer: String,
    instances: Vec<Instance>,
    mailbox: Mailbox,
    _haproxy: Child,
}

/// The HAProxy configuration `scripts/cluster` writes too (see docs/operations.md).
fn haproxy_config(port: u16, instances: &[(&str, u16)]) -> String {
    let mut cfg = format!(
        "global\n  log stderr format raw local0 info\n\n\
         defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n  timeout check 2s\n\
         \x20 retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response\n\
         \x20 option http-buffer-request\n\n\
         frontend gatehouse\n  bind 127.0.0.1:{port}\n  default_backend instances\n\n\
         backend instances\n  balance roundrobin\n  option httpchk GET /health/ready\n\
         \x20 http-check expect status 200\n  default-server inter 1s fall 3 rise 2\n\
         \x20 http-response set-header X-Served-By %s\n"
    );
    for (name, port) in instances {
        cfg.push_str(&format!("  server {name} 127.0.0.1:{port} check\n"));
    }
    cfg
}

/// Waits until the process answers `/health/ready` on `port`; fails with its log if it dies.
async fn wait_ready(process: &mut Child, port: u16, log: &Path) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(status) = process.try_wait().unwrap() {
            panic!(
                "the instance on {port} exited ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        let url = format!("http://127.0.0.1:{port}/health/ready");
        if let Ok(r) = client.get(url).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the instance on {port} was not ready in 60 s");
}

impl Cluster {
    async fn start() -> Self {
        let isolation = Isolation::new(Backend::PostgresRedis).await;
        let mailbox = Mailbox::start().await;
        let balancer_port = free_port();
        let issuer = format!("http://localhost:{balancer_port}");
        let settings = [
            ("GATEHOUSE_ISSUER", issuer.clone()),
            ("GATEHOUSE_KEYS_RELOAD_INTERVAL", "1".into()),
            (
                "GATEHOUSE_SMTP_CONNECTION_STRING",
                format!(
                    "smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{}?tls=none",
                    mailbox.port
                ),
            ),
            ("GATEHOUSE_SMTP_SENDER_ADDRESS", SENDER.into()),
            ("GATEHOUSE_OTP_MFA_IS_REQUIRED", "true".into()),
            ("GATEHOUSE_ALLOW_PASSKEY_ENROLLMENT", "true".into()),
            (
                "GATEHOUSE_ACCOUNT_LOCKOUT_THRESHOLD",
                LOCKOUT_THRESHOLD.to_string(),
            ),
            (
                "GATEHOUSE_DEVICE_USER_CODE_THRESHOLD",
                DEVICE_CODE_THRESHOLD.to_string(),
            ),
        ];
        let mut instances = Vec::new();
        for name in NAMES {
            let port = free_port();
            let log_path = isolation.data_dir.join(format!("{name}.log"));
            let mut process = serve_command(&log_path)
                .envs(isolation.env())
                .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
                .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}"))
                .spawn()
                .unwrap();
            // One at a time: the first one migrates the schema and makes the first key.
            wait_ready(&mut process, port, &log_path).await;
            instances.push(Instance {
                name,
                port,
                process,
            });
        }
        let servers: Vec<_> = instances.iter().map(|i| (i.name, i.port)).collect();
        let cfg_path = isolation.data_dir.join("haproxy.cfg");
        std::fs::write(&cfg_path, haproxy_config(balancer_port, &servers)).unwrap();
        let log = std::fs::File::create(isolation.data_dir.join("haproxy.log")).unwrap();
        let haproxy = Command::new("haproxy")
            .arg("-f")
            .arg(&cfg_path)
            .arg("-db")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("haproxy is installed (scripts/test installs it)");
        let balancer = format!("http://127.0.0.1:{balancer_port}");
        let cluster = Self {
            isolation,
            issuer,
            balancer,
            instances,
            mailbox,
            _haproxy: haproxy,
        };
        let started = Instant::now();
        while reqwest::get(cluster.url("/health/live")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "HAProxy did not listen: {}",
                cluster.haproxy_log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cluster
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.balancer)
    }

    fn haproxy_log(&self) -> String {
        std::fs::read_to_string(self.isolation.data_dir.join("haproxy.log")).unwrap_or_default()
    }

    /// The end of HAProxy's log, for a failure message.
    fn haproxy_log_tail(&self) -> String {
        last_lines(&self.haproxy_log(), 30)
    }

    /// A browser on the public URL.
    fn browser(&self) -> Browser {
        browser_at(&self.issuer)
    }

    async fn create_spa(&self, redirect: &str) -> String {
        let admin = root_token(&self.balancer).await;
        create_spa(&self.balancer, &admin, "Cluster app", redirect).await
    }
}

fn served_by(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-served-by")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no X-Served-By from {}", response.url()))
}

/// Posts `fields` to `path` from `browser`: the status, the page and the instance that answered.
async fn post_form(
    browser: &Browser,
    path: &str,
    fields: &[(String, String)],
) -> (u16, String, String) {
    let response = browser
        .http
        .post(format!("{}{path}", browser.base))
        .form(fields)
        .send()
        .await
        .unwrap();
    let server = served_by(&response);
    (
        response.status().as_u16(),
        response.text().await.unwrap(),
        server,
    )
}

/// How many of `servers` each instance answered.
fn tally(servers: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for server in servers {
        *counts.entry(server.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Client-credentials requests sent through HAProxy by a few tasks at once until stopped: what
/// answered 200, and every other outcome.
struct Load {
    stop: Arc<AtomicBool>,
    failures: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<usize>>,
}

impl Load {
    fn start(url: String, tasks: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let tasks = (0..tasks)
            .map(|_| {
                let (stop, failures, url) = (Arc::clone(&stop), Arc::clone(&failures), url.clone());
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let mut ok = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let answer = client
                            .post(&url)
                            .header("Authorization", basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET))
                            .form(&[("grant_type", "client_credentials"), ("scope", "root")])
                            .send()
                            .await;
                        match answer {
                            Ok(r) if r.status() == 200 => ok += 1,
                            Ok(r) => failures.lock().unwrap().push(format!("{}", r.status())),
                            Err(e) => failures.lock().unwrap().push(e.to_string()),
                        }
                    }
                    ok
                })
            })
            .collect();
        Self {
            stop,
            failures,
            tasks,
        }
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let mut ok = 0;
        for task in self.tasks {
            ok += task.await.unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        (ok, failures)
    }
}

/// The instances that answered `count` requests in a row through HAProxy, in order.
async fn served_in_turn(cluster: &Cluster, count: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut servers = Vec::new();
    for _ in 0..count {
        let response = client
            .get(cluster.url("/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        servers.push(served_by(&response));
    }
    servers
}

/// Consecutive requests through HAProxy land on different instances, all three of them.
async fn requests_take_turns(cluster: &Cluster) {
    let servers = served_in_turn(cluster, 9).await;
    let seen: BTreeSet<_> = servers.iter().map(String::as_str).collect();
    assert_eq!(seen, BTreeSet::from(NAMES), "served by {servers:?}");
    assert!(
        servers.windows(2).all(|pair| pair[0] != pair[1]),
        "two consecutive requests on one instance: {servers:?}"
    );
}

/// Wrong passwords through HAProxy lock the account at the threshold, though no instance saw
/// that many; wrong device codes are limited the same way.
async fn lockouts_and_rate_limits_count_across_instances(
    cluster: &Cluster,
    client_id: &str,
    redirect: &str,
) {
    let email = "locked@example.com";
    let signup = cluster.browser();
    let authorize = &authorize_url(client_id, redirect, &[]);
    let page = signup.follow(signup.get(authorize).await, redirect).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let tx = input_value(&page.html, "tx").unwrap();
    let fields = sign_up_form(&signup, &tx, email, ADA_NAMES).await;
    let (status, html, _) = post_form(&signup, "/identity/v1/view/sign-up", &fields).await;
    assert!((300..400).contains(&status), "sign-up: {status} {html}");

    // Each attempt is three requests (authorize, its redirect, the post): a fourth keeps the
    // posts from falling in step with the three instances.
    let attempt = |password: &'static str| async move {
        let browser = cluster.browser();
        browser.get("/health/live").await;
        let page = browser.follow(browser.get(authorize).await, redirect).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let fields = form_fields(&page.html, &[("email", email), ("password", password)]);
        post_form(&browser, "/identity/v1/view/authorize", &fields).await
    };
    let mut servers = Vec::new();
    for _ in 0..LOCKOUT_THRESHOLD {
        let (status, html, server) = attempt("Wrong-passw0rd").await;
        assert_eq!(status, 404, "{html}");
        servers.push(server);
    }
    let counts = tally(&servers);
    assert!(
        counts.len() > 1 && counts.values().all(|n| *n < LOCKOUT_THRESHOLD),
        "wrong passwords per instance: {counts:?}"
    );
    let (status, html, server) = attempt(PASSWORD).await;
    assert_eq!(status, 400, "{server}: {html}");
    assert!(html.contains("Account temporarily locked"), "{html}");
    println!("lockout after wrong passwords on {counts:?}, seen by {server}");

    let browser = cluster.browser();
    let mut servers = Vec::new();
    for n in 0..=DEVICE_CODE_THRESHOLD {
        let entry = browser.get("/device").await;
        assert_eq!(entry.status, 200, "{}", entry.html);
        let fields = hidden_fields(&entry.html, "device-form", &[("user_code", "BCDF-GHJK")]);
        let (status, html, server) = post_form(&browser, "/device", &fields).await;
        if n < DEVICE_CODE_THRESHOLD {
            assert_eq!(status, 404, "guess {n} on {server}: {html}");
            servers.push(server);
        } else {
            assert_eq!(status, 400, "past the limit on {server}: {html}");
            assert!(html.contains("Too many"), "{html}");
        }
    }
    let counts = tally(&servers);
    assert!(
        counts.len() > 1,
        "wrong device codes per instance: {counts:?}"
    );
}

/// `gatehouse keys rotate` (its own process) makes a key; each instance's own JWKS publishes it
/// within `keys_reload_interval` (1 s) and a little.
async fn a_rotated_key_is_published_by_every_instance(cluster: &Cluster) {
    let mut rotate = crate::cli::gatehouse();
    rotate
        .args(["keys", "rotate"])
        .envs(cluster.isolation.env())
        .env("GATEHOUSE_ISSUER", &cluster.issuer);
    let output = tokio::task::spawn_blocking(move || rotate.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rotated_at = Instant::now();
    let kid = stdout
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("no kid in {stdout}"))
        .to_owned();
    let client = reqwest::Client::new();
    for instance in &cluster.instances {
        let url = format!("http://127.0.0.1:{}/.well-known/jwks.json", instance.port);
        loop {
            let jwks: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
            let kids: Vec<_> = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|k| k["kid"].as_str())
                .collect();
            if kids.contains(&kid.as_str()) {
                break;
            }
            assert!(
                rotated_at.elapsed() < Duration::from_secs(4),
                "{} does not publish {kid} after {:?}: {kids:?}",
                instance.name,
                rotated_at.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "{} published the rotated key {:?} after the rotation",
            instance.name,
            rotated_at.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_haproxy_serve_the_whole_journey_and_survive_a_sigkill() {
    let started = Instant::now();
    let mut cluster = Cluster::start().await;
    println!(
        "three instances and HAProxy up after {:?}",
        started.elapsed()
    );
    requests_take_turns(&cluster).await;

    let origin = crate::clients::app_origin();
    let redirect = format!("{origin}/cb");
    let client_id = cluster.create_spa(&redirect).await;
    lockouts_and_rate_limits_count_across_instances(&cluster, &client_id, &redirect).await;
    a_rotated_key_is_published_by_every_instance(&cluster).await;

    // The journey pauses when the emailed code is asked for; an instance is killed under load
    // then, and the journey goes on through the two left.
    let pause = fresh_temp_dir("gh_cluster_pause");
    let env = [
        ("ISSUER", cluster.issuer.clone()),
        ("CLIENT_ID", client_id),
        ("REDIRECT_URI", redirect),
        ("MAIL_DIR", cluster.mailbox.dir.display().to_string()),
        ("EMAIL", "journey@example.com".to_owned()),
        ("PASSWORD", PASSWORD.to_owned()),
        ("PAUSE_DIR", pause.display().to_string()),
    ];
    let journey = crate::clients::run_client("node", "cluster-journey.mjs", &env);
    let token_url = cluster.url("/oauth2/v1/token");
    let victim = &mut cluster.instances[1];
    let kill = async {
        let waited = Instant::now();
        while !pause.join("paused").exists() {
            assert!(
                waited.elapsed() < Duration::from_secs(120),
                "the journey never reached the emailed code"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let load = Load::start(token_url, 3);
        tokio::time::sleep(Duration::from_millis(300)).await;
        victim.process.start_kill().unwrap();
        let status = victim.process.wait().await.unwrap();
        println!("{} killed ({status})", victim.name);
        std::fs::write(pause.join("go"), "").unwrap();
        load
    };
    let ((), load) = tokio::join!(journey, kill);
    let (ok, failures) = load.finish().await;
    assert!(
        failures.is_empty(),
        "{} of {} requests failed around the SIGKILL: {failures:?}\n{}",
        failures.len(),
        ok + failures.len(),
        cluster.haproxy_log_tail()
    );
    assert!(ok > 0, "the load ran");
    // HAProxy's log marks a request sent again to another instance with `+` before its count
    // of retries (`actconn/feconn/beconn/srv_conn/+retries`).
    let retried = cluster
        .haproxy_log()
        .lines()
        .filter(|line| {
            line.split_whitespace().any(|field| {
                field.split('/').count() == 5
                    && field.rsplit('/').next().is_some_and(|r| r.starts_with('+'))
            })
        })
        .count();
    assert!(
        retried > 0,
        "no request was sent again after the SIGKILL:\n{}",
        cluster.haproxy_log_tail()
    );

    // HAProxy has taken the dead instance out: the two left take turns.
    let servers = served_in_turn(&cluster, 6).await;
    let seen: BTreeSet<_> = servers.iter().map(String::as_str).collect();
    assert_eq!(seen, BTreeSet::from(["gh1", "gh3"]), "{servers:?}");
    println!(
        "{ok} requests answered around the SIGKILL, {retried} of them sent again to another instance; whole test {:?}",
        started.elapsed()
    );
}
