//! Faults under load (issue 21, the short version that runs with every test run): the
//! `gatehouse` binary on a PostgreSQL and a Redis of this test's own, driven by a few clients
//! at once (client-credentials tokens, S2S invitations and reads, whole sign-ins with code
//! exchange, userinfo and refresh) while PostgreSQL is stopped for 3 s, Redis is stopped for
//! 3 s, and Redis is flushed. During an outage every answer is a success or a clear 503 within the
//! configured timeout, never a 500 or a driver's message; the instance recovers by itself within
//! 5 s of the service's return; every write answered 2xx is there afterwards; a flush costs a
//! user their sign-in in progress, cleanly, and lifts no lockout and revives no revoked token.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::Child;

use crate::flow::{authorize_url, form_fields, query_param, sign_up, Browser, PASSWORD, VERIFIER};
use crate::harness::{BOOTSTRAP_ID, BOOTSTRAP_SECRET, MASTER_KEY};
use crate::own_backends::{free_port, Postgres, Redis, Setup, Shutdown, TempDir};
use crate::served::{browser_at, create_spa, last_lines, root_token, serve_command};

mod load;
use load::{report, Fault, Load, Outcome, Verdict};

/// Both servers' password: in Gatehouse's URLs, never in an answer.
const BACKEND_PASSWORD: &str = "fault-backend-pw-5813";
/// `database_connect_timeout` and `redis_connect_timeout` here (seconds): the longest a request
/// may wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// What an answer may take beyond the connect timeout (the work around the wait, a debug build).
const SLACK: Duration = Duration::from_millis(1500);
/// How soon after a service's return requests must succeed again.
const RECOVERY: Duration = Duration::from_secs(5);
/// How long the load runs on after recovering, before the next fault.
const CALM: Duration = Duration::from_secs(1);
const CB: &str = "http://127.0.0.1:5173/cb";
/// The users the sign-in journeys sign in as, one per journey task.
const JOURNEY_USERS: [&str; 2] = ["ada@example.com", "grace@example.com"];
/// A user locked out (by wrong passwords) before Redis loses everything.
const LOCKED_USER: &str = "locked-out@example.com";
/// `account_lockout_threshold` here.
const LOCKOUT_THRESHOLD: usize = 3;
/// Words of driver and library messages that must not reach a client.
const DRIVER_WORDS: [&str; 14] = [
    "sqlx",
    "pooltimedout",
    "pool timed out",
    "postgres",
    "redis",
    "database error",
    "connection refused",
    "connection reset",
    "broken pipe",
    "os error",
    "io error",
    "terminating connection",
    "error communicating",
    "panicked",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_of_postgresql_and_redis_answer_503_in_time_and_lose_no_acknowledged_write() {
    let started = Instant::now();
    let dir = TempDir::new("gh_faults");
    let setup = || Setup {
        tls: None,
        password: Some(BACKEND_PASSWORD),
    };
    let mut postgres = Postgres::start(&dir.0, setup());
    let mut redis = Redis::start(&dir.0, setup());
    postgres.wait_ready().await;
    redis.wait_ready();
    let gatehouse = Gatehouse::start(&dir.0, &postgres, &redis).await;
    let admin = gatehouse.admin_token().await;
    let client_id = gatehouse.create_spa(&admin).await;
    for email in JOURNEY_USERS.into_iter().chain([LOCKED_USER]) {
        let browser = gatehouse.browser();
        sign_up(&browser, &authorize_url(&client_id, CB, &[]), email, CB).await;
    }
    println!("backends and Gatehouse up after {:?}", started.elapsed());

    let load = Load::start(&gatehouse, &client_id, &admin);
    load.wait_for_successes(Instant::now(), "the load to run")
        .await;
    let mut faults = Vec::new();
    let denials = Denials::make(&gatehouse, &client_id).await;

    // PostgreSQL: an immediate shutdown (as a crash: sessions cut, WAL replayed at the next
    // start), 3 s down, started again.
    let down = Instant::now();
    postgres.stop(Shutdown::Immediate);
    tokio::time::sleep(Duration::from_secs(3)).await;
    postgres.start_again();
    postgres.wait_ready().await;
    let back = Instant::now();
    let steady = load
        .wait_for_successes(back, "recovery from the PostgreSQL outage")
        .await;
    faults.push(Fault::outage("PostgreSQL stopped", down, back, steady));
    tokio::time::sleep(CALM).await;

    // Redis: stopped, 3 s down (longer than any request may wait), started again empty (it
    // keeps nothing on disk).
    let down = Instant::now();
    redis.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    redis.start_again();
    redis.wait_ready();
    let back = Instant::now();
    let steady = load
        .wait_for_successes(back, "recovery from the Redis restart")
        .await;
    faults.push(Fault::outage("Redis restarted", down, back, steady));
    denials
        .still_hold(&gatehouse, &client_id, "after the Redis restart")
        .await;
    tokio::time::sleep(CALM).await;

    // FLUSHALL: no outage, but a code issued before it and a sign-in in progress are gone.
    let pending_code = signed_in_code(&gatehouse, &client_id, JOURNEY_USERS[0]).await;
    let mid_sign_in = gatehouse.browser();
    let sign_in_page = mid_sign_in
        .follow(
            mid_sign_in.get(&authorize_url(&client_id, CB, &[])).await,
            CB,
        )
        .await;
    assert_eq!(sign_in_page.status, 200, "{}", sign_in_page.html);
    let flushed = Instant::now();
    redis.flushall();
    let flush_done = Instant::now();
    a_flushed_code_and_sign_in_are_refused_cleanly(
        &gatehouse,
        &client_id,
        &pending_code,
        &mid_sign_in,
        &sign_in_page.html,
    )
    .await;
    let steady = load
        .wait_for_successes(flushed, "the load after FLUSHALL")
        .await;
    faults.push(Fault {
        outage: false,
        ..Fault::outage("FLUSHALL", flushed, flushed, steady)
    });
    denials
        .still_hold(&gatehouse, &client_id, "after FLUSHALL")
        .await;
    tokio::time::sleep(CALM).await;

    let (outcomes, acknowledged) = load.finish().await;
    // When Redis lost everything: its restart (it keeps nothing on disk) and the flush. Each is
    // a span, from just before the command to its end: a journey may begin, and store its
    // state, while the command is on its way, and lose that state with the rest.
    let wipes = [(faults[1].down, faults[1].back), (flushed, flush_done)];
    let judged: Vec<_> = outcomes
        .iter()
        .map(|o| (o, o.judge(&faults, &wipes)))
        .collect();
    let bad: Vec<String> = judged
        .iter()
        .filter_map(|(o, verdict)| match verdict {
            Verdict::Wrong(why) => Some(format!("{} ({why})", o.describe(started))),
            _ => None,
        })
        .collect();
    let limit = CONNECT_TIMEOUT + SLACK;
    let slow: Vec<String> = outcomes
        .iter()
        .filter(|o| o.took > limit)
        .map(|o| o.describe(started))
        .collect();
    println!("{}", report(&outcomes, &judged, &faults, started));
    let errors = gatehouse.log_lines("ERROR");
    println!("Gatehouse logged {} errors:", errors.len());
    for line in errors.iter().take(40) {
        println!("  {line}");
    }
    assert!(
        bad.is_empty(),
        "{} answers neither a success nor a clean 503 in an outage:\n{}\n--- Gatehouse's log ---\n{}",
        bad.len(),
        bad[..bad.len().min(30)].join("\n"),
        gatehouse.log_tail()
    );
    assert!(
        slow.is_empty(),
        "{} answers took longer than {limit:?}:\n{}",
        slow.len(),
        slow[..slow.len().min(30)].join("\n")
    );
    for fault in faults.iter().filter(|f| f.outage) {
        let failed: Vec<&Outcome> = judged
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Outage))
            .map(|(o, _)| *o)
            .filter(|o| o.overlaps(fault.down, fault.steady))
            .collect();
        let recovered = failed
            .iter()
            .map(|o| (o.started + o.took).saturating_duration_since(fault.back))
            .max()
            .unwrap_or_default();
        assert!(
            recovered < RECOVERY,
            "{}: requests still failed {recovered:?} after it returned",
            fault.name
        );
        assert!(
            !failed.is_empty(),
            "{}: no request met the outage",
            fault.name
        );
    }

    every_acknowledged_user_is_there(&gatehouse, &postgres, &admin, &acknowledged).await;
    let log = gatehouse.log();
    assert!(!log.contains("panicked"), "Gatehouse panicked:\n{log}");
    assert!(
        !log.contains(BACKEND_PASSWORD),
        "the backends' password is in the log"
    );
    println!(
        "{} invitations acknowledged, all present; whole test {:?}",
        acknowledged.len(),
        started.elapsed()
    );
}

/// After FLUSHALL, a code issued before it is refused with `invalid_grant` and a sign-in in
/// progress gets a page that sends the user back to start; starting again works.
async fn a_flushed_code_and_sign_in_are_refused_cleanly(
    gatehouse: &Gatehouse,
    client_id: &str,
    code: &str,
    browser: &Browser,
    sign_in_page: &str,
) {
    let (status, body) = gatehouse.exchange_code(client_id, code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let fields = form_fields(
        sign_in_page,
        &[("email", JOURNEY_USERS[1]), ("password", PASSWORD)],
    );
    let answer = browser.post("/identity/v1/view/authorize", &fields).await;
    assert!(
        (400..500).contains(&answer.status),
        "a sign-in whose transaction was flushed: {} {}",
        answer.status,
        answer.html
    );
    println!(
        "after FLUSHALL: the old code is refused (invalid_grant), the sign-in in progress answers {}: {:?}",
        answer.status,
        crate::flow::error_text(&answer.html)
    );
    let again = signed_in_code(gatehouse, client_id, JOURNEY_USERS[1]).await;
    let (status, body) = gatehouse.exchange_code(client_id, &again).await;
    assert_eq!(status, 200, "signing in again after FLUSHALL: {body}");
}

/// What losing Redis must not undo: a lockout and a revoked access token.
struct Denials {
    revoked_access_token: String,
    /// The locked user's sign-in with the right password: status and the error shown.
    locked_answer: (u16, String),
}

impl Denials {
    /// Locks [`LOCKED_USER`] out with wrong passwords, and revokes an access token.
    async fn make(gatehouse: &Gatehouse, client_id: &str) -> Self {
        for _ in 0..LOCKOUT_THRESHOLD {
            let answer =
                password_sign_in(gatehouse, client_id, LOCKED_USER, "wrong password").await;
            assert!(answer.0 >= 400, "a wrong password: {answer:?}");
        }
        let locked_answer = password_sign_in(gatehouse, client_id, LOCKED_USER, PASSWORD).await;
        assert!(
            locked_answer.0 >= 400 && locked_answer.1.to_lowercase().contains("lock"),
            "the right password once locked out: {locked_answer:?}"
        );
        let code = signed_in_code(gatehouse, client_id, JOURNEY_USERS[0]).await;
        let (status, tokens) = gatehouse.exchange_code(client_id, &code).await;
        assert_eq!(status, 200, "{tokens}");
        let token = tokens["access_token"].as_str().unwrap().to_owned();
        assert_eq!(gatehouse.userinfo_status(&token).await, 200);
        let revoked = reqwest::Client::new()
            .post(gatehouse.url("/oauth2/v1/revoke"))
            .form(&[("token", token.as_str()), ("client_id", client_id)])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        assert_eq!(gatehouse.userinfo_status(&token).await, 401, "revoked");
        Self {
            revoked_access_token: token,
            locked_answer,
        }
    }

    /// Both still refused, as before the loss.
    async fn still_hold(&self, gatehouse: &Gatehouse, client_id: &str, when: &str) {
        assert_eq!(
            gatehouse.userinfo_status(&self.revoked_access_token).await,
            401,
            "{when}: a revoked access token is accepted again"
        );
        let answer = password_sign_in(gatehouse, client_id, LOCKED_USER, PASSWORD).await;
        assert_eq!(answer, self.locked_answer, "{when}: the lockout was lifted");
        println!("{when}: the revoked token is still refused, the lockout still holds");
    }
}

/// Posts `email` and `password` on a fresh sign-in page: the status and the error shown.
async fn password_sign_in(
    gatehouse: &Gatehouse,
    client_id: &str,
    email: &str,
    password: &str,
) -> (u16, String) {
    let browser = gatehouse.browser();
    let page = crate::flow::sign_in(
        &browser,
        &authorize_url(client_id, CB, &[]),
        email,
        password,
        CB,
    )
    .await;
    (page.status, crate::flow::error_text(&page.html))
}

/// Signs `email` in with a fresh browser; the code the client gets (not exchanged).
async fn signed_in_code(gatehouse: &Gatehouse, client_id: &str, email: &str) -> String {
    let browser = gatehouse.browser();
    let page = crate::flow::sign_in(
        &browser,
        &authorize_url(client_id, CB, &[]),
        email,
        PASSWORD,
        CB,
    )
    .await;
    let page = browser.follow(page, CB).await;
    let redirect = page
        .location
        .filter(|l| l.starts_with(CB))
        .unwrap_or_else(|| panic!("no redirect to the client: {} {}", page.status, page.html));
    query_param(&redirect, "code").unwrap_or_else(|| panic!("no code: {redirect}"))
}

/// Reads back every user whose invitation was answered 2xx, through the API and in the table.
async fn every_acknowledged_user_is_there(
    gatehouse: &Gatehouse,
    postgres: &Postgres,
    admin: &str,
    acknowledged: &[(String, String)],
) {
    assert!(!acknowledged.is_empty(), "no invitation was acknowledged");
    let client = reqwest::Client::new();
    for (auth_id, email) in acknowledged {
        let response = client
            .get(gatehouse.url(&format!("/api/v1/users/{auth_id}")))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status.as_u16(), body["user"]["email"].as_str()),
            (200, Some(email.as_str())),
            "acknowledged user {auth_id} <{email}>: {body}"
        );
    }
    let mut admin_db = postgres.admin().await;
    let stored: Vec<(String,)> =
        sqlx::query_as("SELECT email FROM users WHERE email LIKE 'fault-%@example.com'")
            .fetch_all(&mut admin_db)
            .await
            .unwrap();
    let stored: std::collections::BTreeSet<_> = stored.into_iter().map(|(e,)| e).collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|(_, email)| !stored.contains(email))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
}

/// The `gatehouse` binary, serving on a free port of 127.0.0.1.
struct Gatehouse {
    base: String,
    log: PathBuf,
    _process: Child,
}

impl Gatehouse {
    async fn start(dir: &Path, postgres: &Postgres, redis: &Redis) -> Self {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let data_dir = dir.join("gatehouse");
        std::fs::create_dir_all(&data_dir).unwrap();
        let log = dir.join("gatehouse.log");
        let timeout = CONNECT_TIMEOUT.as_secs().to_string();
        let settings = [
            ("GATEHOUSE_DATA_DIR", data_dir.display().to_string()),
            ("GATEHOUSE_DATABASE_URL", postgres.url("disable")),
            ("GATEHOUSE_REDIS_URL", redis.url("redis")),
            ("GATEHOUSE_REDIS_KEY_PREFIX", "faults:".into()),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY.into()),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", BOOTSTRAP_ID.into()),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", BOOTSTRAP_SECRET.into()),
            ("GATEHOUSE_ISSUER", base.clone()),
            ("GATEHOUSE_LISTEN", format!("127.0.0.1:{port}")),
            ("GATEHOUSE_LOG_LEVEL", "warn".into()),
            ("GATEHOUSE_DATABASE_CONNECT_TIMEOUT", timeout.clone()),
            ("GATEHOUSE_REDIS_CONNECT_TIMEOUT", timeout),
            // Every access token's check asks the cache, so a revocation the cache lost shows.
            ("GATEHOUSE_REVOCATION_CHECK_TTL", "0".into()),
            (
                "GATEHOUSE_ACCOUNT_LOCKOUT_THRESHOLD",
                LOCKOUT_THRESHOLD.to_string(),
            ),
        ];
        let mut process = serve_command(&log).envs(settings).spawn().unwrap();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = process.try_wait().unwrap() {
                panic!(
                    "gatehouse exited ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let ready = client.get(format!("{base}/health/ready")).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "gatehouse not ready in 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            base,
            log,
            _process: process,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_lines(&self, level: &str) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains(level))
            .map(str::to_owned)
            .collect()
    }

    fn log_tail(&self) -> String {
        last_lines(&self.log(), 40)
    }

    fn browser(&self) -> Browser {
        browser_at(&self.base)
    }

    async fn admin_token(&self) -> String {
        root_token(&self.base).await
    }

    async fn create_spa(&self, admin: &str) -> String {
        create_spa(&self.base, admin, "Fault app", CB).await
    }

    async fn userinfo_status(&self, access_token: &str) -> u16 {
        reqwest::Client::new()
            .get(self.url("/oauth2/v1/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn exchange_code(&self, client_id: &str, code: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(self.url("/oauth2/v1/token"))
            .form(&code_exchange(client_id, code))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn code_exchange<'a>(client_id: &'a str, code: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
        ("client_id", client_id),
    ]
}
