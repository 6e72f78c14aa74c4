//! `gatehouse-bench`: measures the release server against this machine's own limits and prints
//! ratios, so numbers from different machines can be compared.
//!
//! client-credentials: tokens per second over many keep-alive connections on loopback (driven by
//! wrk), as a share of the raw RSA-2048 signing rate of every core measured in the same run; the
//! server's resident memory idle and under that load; the time from start to a served
//! discovery document on an empty data directory.
//!
//! introspection: `POST /oauth2/v1/introspect` of an S2S token as a share of `GET /info` with the
//! same token (a JWT check and no database), measured in the same run.
//!
//! hot-paths: userinfo, `/info` and the JWKS against the bare HTTP stack answering the same
//! bytes, and the rotating refresh-token grant against the raw RSA signing rate.
//!
//! key-clients: client credentials with `private_key_jwt` and with a DPoP proof, each as a share
//! of the plain (HTTP Basic, bearer) rate measured in the same run.
//!
//! memory: resident memory idle on a first and a second start, under the client-credentials load
//! and after it, against the bare HTTP stack's.
//!
//! startup-code: profiles a first start (valgrind's callgrind) and writes the functions it ran as
//! the release build's symbol-ordering file, which keeps the code resident at rest together.
//!
//! `--seed-users N` before or after any of these: the server's database holds N seeded users
//! (as `seed-users` makes them) before it starts.
//!
//! dashboard: each admin-dashboard chart's store queries at a million users (and three million
//! sign-ins), on SQLite or PostgreSQL, against the row-by-row queries they replace.
//!
//! seed-users: fills a SQLite or PostgreSQL database with N varied users, fast.
//!
//! melody-import: `gatehouse import melody` of a Melody database of a million users, timed
//! through the binary, into SQLite or PostgreSQL.
//!
//! users-search: the admin user search (email prefix, email fragment, name) and the user list's
//! deep pages at a million users, on SQLite or PostgreSQL.

mod dashboard;
mod hot_paths;
mod introspection;
mod key_clients;
mod melody_import;
mod memory;
mod mixed_load;
mod password_sign_in;
mod seed;
mod startup_code;
mod users_paging;
mod users_search;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "bench-admin";
const CLIENT_SECRET: &str = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";

struct Options {
    server: PathBuf,
    seconds: u64,
    connections: u32,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        server: PathBuf::from("target/release/gatehouse"),
        seconds: 10,
        connections: 64,
    };
    let mut args = arguments()?.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--server" => options.server = PathBuf::from(value()?),
            "--seconds" => options.seconds = value()?.parse().map_err(|_| "bad --seconds")?,
            "--connections" => {
                options.connections = value()?.parse().map_err(|_| "bad --connections")?
            }
            "client-credentials" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

/// `--seed-users N` (any benchmark that starts a server): the server's database is seeded with
/// N users (`seed-users`) before it starts, to measure its paths with a large user base.
static SEED_USERS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();

/// The arguments without `--seed-users N`, which is kept in [`SEED_USERS`].
fn arguments() -> Result<Vec<String>, String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--seed-users") {
        let count = args
            .get(i + 1)
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .ok_or("--seed-users needs a number of users")?;
        let _ = SEED_USERS.set(count);
        args.drain(i..i + 2);
    }
    Ok(args)
}

fn main() {
    let args = match arguments() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("gatehouse-bench: {err}");
            std::process::exit(2);
        }
    };
    let arg = |i: usize| args.get(i).map(String::as_str);
    let server = || Path::new(arg(1).unwrap_or("target/release/gatehouse"));
    let result = match arg(0) {
        Some("users-paging") => {
            let postgres = match (arg(1), arg(2)) {
                (Some("--postgres"), Some(url)) => Some(url.to_owned()),
                _ => None,
            };
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| runtime.block_on(users_paging::run(postgres)))
        }
        Some("dashboard") => {
            let value = |flag: &str| {
                args.iter()
                    .position(|a| a == flag)
                    .and_then(|i| args.get(i + 1))
                    .cloned()
            };
            let users = value("--users")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1_000_000);
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| {
                    runtime.block_on(dashboard::run(value("--postgres"), value("--redis"), users))
                })
        }
        Some("seed-users") => {
            let count = arg(1)
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n > 0);
            let url = flag_value(&args, "--database-url")
                .or_else(|| std::env::var("GATEHOUSE_DATABASE_URL").ok())
                .unwrap_or_else(|| "sqlite:gatehouse-seed.db".to_owned());
            match count {
                Some(count) => {
                    current_thread().and_then(|runtime| runtime.block_on(seed::run(count, &url)))
                }
                None => Err("usage: seed-users N [--database-url URL]".to_owned()),
            }
        }
        Some("melody-import") => {
            let users = flag_value(&args, "--users")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1_000_000);
            let binary = args
                .get(1)
                .filter(|a| !a.starts_with("--"))
                .map_or(Path::new("target/release/gatehouse"), |a| Path::new(a));
            current_thread().and_then(|runtime| {
                runtime.block_on(melody_import::run(
                    binary,
                    users,
                    flag_value(&args, "--postgres"),
                ))
            })
        }
        Some("users-search") => {
            let users = flag_value(&args, "--users")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1_000_000);
            current_thread().and_then(|runtime| {
                runtime.block_on(users_search::run(flag_value(&args, "--postgres"), users))
            })
        }
        Some("mixed-load") => mixed_load::run(&args[1..]),
        Some("introspection") => introspection::run(server(), 10, 64),
        Some("key-clients") => key_clients::run(server(), 10, 64),
        Some("memory") => memory::run(
            server(),
            Path::new(arg(2).unwrap_or("target/release/gatehouse-bench-reference")),
            10,
            64,
        ),
        Some("startup-code") => startup_code::run(
            Path::new(
                arg(1)
                    .filter(|a| !a.starts_with("--"))
                    .unwrap_or("target/release/gatehouse"),
            ),
            Path::new(&flag_value(&args, "--out").unwrap_or(startup_code::ORDER_FILE.to_owned())),
        ),
        Some("hot-paths") => hot_paths::run(
            server(),
            Path::new(arg(2).unwrap_or("target/release/gatehouse-bench-reference")),
            10,
            64,
        ),
        Some("password-sign-in") => {
            let seconds = arg(2).and_then(|s| s.parse().ok()).unwrap_or(10);
            // Default: four clients per core, enough to keep every hashing thread's queue full.
            let clients = arg(3).and_then(|s| s.parse().ok());
            password_sign_in::run(server(), seconds, clients)
        }
        _ => run(),
    };
    if let Err(err) = result {
        eprintln!("gatehouse-bench: {err}");
        std::process::exit(1);
    }
}

/// The value after `flag` among `args`.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn current_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn run() -> Result<(), String> {
    let options = parse_options()?;
    if !options.server.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release`",
            options.server.display()
        ));
    }
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    with_server(
        &options.server,
        "client-credentials",
        |server, addr, startup| measure(&options, cores, server, addr, startup),
    )
}

/// Starts the server on a fresh data folder, waits for its discovery document, runs `measure`
/// (given the server, its address and the time it took to start), then stops the server and
/// removes the folder.
fn with_server<T>(
    binary: &Path,
    label: &str,
    measure: impl FnOnce(&Child, &str, Duration) -> Result<T, String>,
) -> Result<T, String> {
    let data_dir =
        std::env::temp_dir().join(format!("gatehouse-bench-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    // Seeded first, so the time to start is the server's own.
    seed_data_dir(&data_dir)?;
    let started = Instant::now();
    let (mut server, addr) = start_server(binary, &data_dir)?;
    let result =
        wait_for_discovery(&addr, started).and_then(|startup| measure(&server, &addr, startup));
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

fn measure(
    options: &Options,
    cores: usize,
    server: &Child,
    addr: &str,
    startup: Duration,
) -> Result<(), String> {
    // One token first, so the idle figure includes a warmed-up request path.
    let status = http_token_status(addr)?;
    if status != 200 {
        return Err(format!("warm-up token request answered {status}"));
    }
    thread::sleep(Duration::from_secs(1));
    let idle_rss = rss_kib(server.id())?;

    let raw = raw_rsa_sign_rate(cores, Duration::from_secs(options.seconds.min(5)));

    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        let pid = server.id();
        thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid).unwrap_or(0));
                thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    let wrk = run_wrk(addr, options)?;
    sampling.store(false, Ordering::Relaxed);
    let load_rss = sampler.join().unwrap_or(0);

    let ratio = wrk.requests_per_sec / raw;
    println!(
        "client-credentials benchmark ({cores} cores, {} connections, {} s)",
        options.connections, options.seconds
    );
    println!("  raw RSA-2048 signing, all cores : {raw:>10.0} signatures/s");
    println!(
        "  token endpoint throughput       : {:>10.0} tokens/s",
        wrk.requests_per_sec
    );
    println!(
        "  ratio                           : {:>10.1} %  (target >= 85 %)",
        ratio * 100.0
    );
    println!("  non-2xx responses               : {:>10}", wrk.non_2xx);
    println!(
        "  latency p50 / p99               : {:>10} / {}",
        wrk.p50, wrk.p99
    );
    println!(
        "  RSS idle                        : {:>10.1} MiB (target <= 15 MiB)",
        idle_rss as f64 / 1024.0
    );
    println!(
        "  RSS under load (peak)           : {:>10.1} MiB",
        load_rss as f64 / 1024.0
    );
    println!(
        "  first start to discovery        : {:>10.0} ms",
        startup.as_secs_f64() * 1000.0
    );
    if wrk.non_2xx > 0 {
        return Err(format!("{} requests failed during the run", wrk.non_2xx));
    }
    Ok(())
}

/// Seeds the SQLite database in `data_dir` with [`SEED_USERS`] users, when asked and not done.
fn seed_data_dir(data_dir: &Path) -> Result<(), String> {
    let Some(&count) = SEED_USERS.get() else {
        return Ok(());
    };
    let database = data_dir.join("gatehouse.db");
    if database.exists() {
        return Ok(());
    }
    let url = format!("sqlite:{}", database.display());
    // On a thread of its own: callers may already be inside a runtime.
    thread::spawn(move || current_thread()?.block_on(seed::run(count, &url)))
        .join()
        .map_err(|_| "seeding the users panicked".to_owned())?
}

fn start_server(binary: &Path, data_dir: &Path) -> Result<(Child, String), String> {
    start_server_under(&[], binary, data_dir)
}

/// Starts the server as [`start_server`] does, run by `wrapper` (a profiler and its arguments)
/// when one is given.
fn start_server_under(
    wrapper: &[String],
    binary: &Path,
    data_dir: &Path,
) -> Result<(Child, String), String> {
    seed_data_dir(data_dir)?;
    // The server runs in its data folder, so a relative path must be resolved first.
    let binary = binary
        .canonicalize()
        .map_err(|e| format!("cannot find {}: {e}", binary.display()))?;
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(&binary);
            command
        }
        None => Command::new(&binary),
    };
    let mut child = command
        .current_dir(data_dir)
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_DATA_DIR", data_dir)
        .env("GATEHOUSE_LOG_FORMAT", "json")
        .env("GATEHOUSE_LOG_LEVEL", "info")
        .env("GATEHOUSE_BOOTSTRAP_CLIENT_ID", CLIENT_ID)
        .env("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", CLIENT_SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .ok_or("the server exited before listening")?
            .map_err(|e| e.to_string())?;
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["fields"]["message"] == "listening" {
            break entry["fields"]["addr"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    thread::spawn(move || for _ in lines {});
    Ok((child, addr))
}

fn http(addr: &str, request: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    Ok(response)
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn wait_for_discovery(addr: &str, started: Instant) -> Result<Duration, String> {
    wait_for_discovery_within(addr, started, Duration::from_secs(30))
}

fn wait_for_discovery_within(
    addr: &str,
    started: Instant,
    limit: Duration,
) -> Result<Duration, String> {
    let request = format!(
        "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    while started.elapsed() < limit {
        if http(addr, &request).map(|r| status_of(&r)) == Ok(200) {
            return Ok(started.elapsed());
        }
        thread::sleep(Duration::from_millis(5));
    }
    Err(format!(
        "discovery was not served within {} s",
        limit.as_secs()
    ))
}

fn basic_header() -> String {
    let raw = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    format!("Basic {}", base64_standard(raw.as_bytes()))
}

fn base64_standard(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const TOKEN_BODY: &str = "grant_type=client_credentials&scope=root";

fn http_token_status(addr: &str) -> Result<u16, String> {
    let request = format!(
        "POST /oauth2/v1/token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{TOKEN_BODY}",
        basic_header(),
        TOKEN_BODY.len()
    );
    http(addr, &request).map(|r| status_of(&r))
}

/// Signatures per second with every core signing a token-sized message with RSA-2048.
fn raw_rsa_sign_rate(cores: usize, duration: Duration) -> f64 {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::RSA_PKCS1_SHA256;
    let key = Arc::new(KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"));
    let message = [b'x'; 330];
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let key = Arc::clone(&key);
            thread::spawn(move || {
                let rng = SystemRandom::new();
                let mut signature = vec![0; key.public_modulus_len()];
                let started = Instant::now();
                let mut count = 0u64;
                while started.elapsed() < duration {
                    key.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)
                        .expect("RSA signing");
                    count += 1;
                }
                count as f64 / started.elapsed().as_secs_f64()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap_or(0.0)).sum()
}

struct WrkResult {
    requests_per_sec: f64,
    non_2xx: u64,
    p50: String,
    p99: String,
}

fn run_wrk(addr: &str, options: &Options) -> Result<WrkResult, String> {
    let load = Load::app_form("/oauth2/v1/token", TOKEN_BODY.into());
    wrk(addr, options.seconds, options.connections, &load)
}

/// One kind of request wrk repeats.
struct Load {
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Load {
    /// A form the bench's S2S app posts, authenticated with HTTP Basic.
    fn app_form(path: &'static str, body: String) -> Self {
        Load {
            method: "POST",
            path,
            headers: vec![
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                ("Authorization", basic_header()),
            ],
            body,
        }
    }
}

/// Runs wrk with one thread (the server gets the other cores) against `addr`.
fn wrk(addr: &str, seconds: u64, connections: u32, load: &Load) -> Result<WrkResult, String> {
    let mut lua = format!("wrk.method = \"{}\"\n", load.method);
    if !load.body.is_empty() {
        lua.push_str(&format!("wrk.body = \"{}\"\n", load.body));
    }
    for (name, value) in &load.headers {
        lua.push_str(&format!("wrk.headers[\"{name}\"] = \"{value}\"\n"));
    }
    wrk_lua(addr, (seconds, connections), load.path, &lua)
}

/// Runs wrk with one thread and the Lua `lua` (which may define `request()`) against `path`.
fn wrk_lua(
    addr: &str,
    (seconds, connections): (u64, u32),
    path: &str,
    lua: &str,
) -> Result<WrkResult, String> {
    let script = std::env::temp_dir().join(format!(
        "gatehouse-bench-{}-{}.lua",
        std::process::id(),
        path.replace('/', "_")
    ));
    std::fs::write(&script, lua).map_err(|e| e.to_string())?;
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://{addr}{path}"))
        .output()
        .map_err(|e| format!("cannot run wrk (apt-get install wrk): {e}"))?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    Ok(WrkResult {
        requests_per_sec: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .ok_or(format!("no Requests/sec in wrk output: {text}"))?,
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        p50: field("50%").unwrap_or_default(),
        p99: field("99%").unwrap_or_default(),
    })
}

/// The string at `pointer` (a JSON pointer, `/access_token`) in a JSON answer, or an error
/// naming the whole answer.
fn string_at(answer: &str, pointer: &str) -> Result<String, String> {
    let json: serde_json::Value = serde_json::from_str(answer).unwrap_or_default();
    json.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or(format!("no {pointer} in the answer: {answer}"))
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> Result<u64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or("no VmRSS".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_answers() {
        assert_eq!(base64_standard(b"a"), "YQ==");
        assert_eq!(base64_standard(b"ab"), "YWI=");
        assert_eq!(base64_standard(b"abc"), "YWJj");
        assert_eq!(base64_standard(b"bench:x"), "YmVuY2g6eA==");
    }

    #[test]
    fn strings_are_read_from_answers_and_their_absence_is_said() {
        assert_eq!(string_at(r#"{"a":{"b":"x"}}"#, "/a/b"), Ok("x".into()));
        let missing = string_at(r#"{"a":1}"#, "/a").unwrap_err();
        assert!(
            missing.contains("/a") && missing.contains(r#"{"a":1}"#),
            "{missing}"
        );
        assert!(string_at("not json", "/a").is_err());
    }

    #[test]
    fn status_line_is_read() {
        assert_eq!(status_of("HTTP/1.1 200 OK\r\n"), 200);
        assert_eq!(status_of(""), 0);
    }
}
