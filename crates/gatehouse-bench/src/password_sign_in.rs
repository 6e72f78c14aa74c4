//! password-sign-in: password sign-ins per second through the embedded API, as a share of what
//! the cores could hash (cores ÷ one Argon2id hash at the server's parameters), and the
//! server's memory with 500 sign-ins in flight.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::{http, rss_kib, start_server, status_of};

const ORIGIN: &str = "http://bench.local";
const REDIRECT: &str = "http://bench.local/cb";
const PASSWORD: &str = "Bench-passw0rd!";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The Argon2id parameters the server runs with: its defaults, or what the environment it
/// inherits from this process sets (`GATEHOUSE_PASSWORD_HASH_*`).
fn server_params() -> Params {
    let read = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    };
    Params::new(
        read("GATEHOUSE_PASSWORD_HASH_MEMORY_KIB", 19_456),
        read("GATEHOUSE_PASSWORD_HASH_ITERATIONS", 2),
        read("GATEHOUSE_PASSWORD_HASH_PARALLELISM", 1),
        None,
    )
    .unwrap_or_default()
}

/// Mean time of one Argon2id hash at the server's parameters, at its fastest: one thread,
/// working memory allocated once and reused.
fn one_hash_secs() -> f64 {
    let params = server_params();
    let mut memory = vec![Block::default(); params.block_count()];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    let salt = b"saltsaltsaltsalt";
    let _ = argon.hash_password_into_with_memory(b"warm-up", salt, &mut out, &mut memory);
    let rounds = 40;
    let started = Instant::now();
    for i in 0..rounds {
        let password = format!("pw{i}");
        let _ =
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory);
    }
    started.elapsed().as_secs_f64() / rounds as f64
}

/// Mean time of one hash while every core hashes at once: what a hash costs when the cores
/// share the memory bus and caches, as they do under a sign-in burst.
fn contended_hash_secs(cores: usize) -> f64 {
    let threads: Vec<_> = (0..cores).map(|_| thread::spawn(one_hash_secs)).collect();
    let times: Vec<f64> = threads.into_iter().filter_map(|t| t.join().ok()).collect();
    times.iter().sum::<f64>() / times.len().max(1) as f64
}

fn request(
    method: &str,
    addr: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Result<String, String> {
    http(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nOrigin: {ORIGIN}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn json_body(response: &str) -> serde_json::Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_default()
}

fn token(addr: &str) -> Result<String, String> {
    let body = "grant_type=client_credentials&scope=root";
    let auth = crate::basic_header();
    let response = request(
        "POST",
        addr,
        "/oauth2/v1/token",
        &format!("Authorization: {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n"),
        body,
    )?;
    json_body(&response)["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or(format!("no admin token: {response}"))
}

fn post_json(
    addr: &str,
    path: &str,
    extra: &str,
    body: serde_json::Value,
) -> Result<String, String> {
    request(
        "POST",
        addr,
        path,
        &format!("{extra}Content-Type: application/json\r\n"),
        &body.to_string(),
    )
}

fn initiate(addr: &str, client_id: &str) -> Result<String, String> {
    let response = post_json(
        addr,
        "/embedded-auth/v1/initiate",
        "",
        serde_json::json!({"clientId": client_id, "redirectUri": REDIRECT, "codeChallenge": CHALLENGE,
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "en"}),
    )?;
    json_body(&response)["sessionId"]
        .as_str()
        .map(str::to_owned)
        .ok_or(format!("initiate failed: {response}"))
}

fn sign_in(addr: &str, client_id: &str, email: &str) -> Result<bool, String> {
    let session = initiate(addr, client_id)?;
    let response = post_json(
        addr,
        &format!("/embedded-auth/v1/{session}/sign-in"),
        "",
        serde_json::json!({"email": email, "password": PASSWORD}),
    )?;
    Ok(status_of(&response) == 200)
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `clients` threads signing in until `duration` passes; returns (sign-ins, peak RSS KiB).
fn load(
    addr: &str,
    pid: u32,
    client_id: &str,
    email: &str,
    clients: usize,
    duration: Duration,
) -> (u64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, client_id, email) =
                (addr.to_owned(), client_id.to_owned(), email.to_owned());
            let (done, stop) = (done.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(true) = sign_in(&addr, &client_id, &email) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut peak = 0;
    while started.elapsed() < duration {
        peak = peak.max(rss_kib(pid).unwrap_or(0));
        thread::sleep(Duration::from_millis(100));
    }
    let signed_in = done.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    (signed_in, peak)
}

pub fn run(server: &Path, seconds: u64) -> Result<(), String> {
    let data_dir = std::env::temp_dir().join(format!("gatehouse-bench-pw-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    std::env::set_var("GATEHOUSE_EMBEDDED_AUTH_ORIGINS", format!("[\"{ORIGIN}\"]"));
    std::env::set_var("GATEHOUSE_ENABLE_USER_APP_CONSENT", "false");
    std::env::set_var("GATEHOUSE_ACCOUNT_LOCKOUT_THRESHOLD", "0");
    let (mut child, addr) = start_server(server, &data_dir)?;
    let result = (|| {
        let admin = token(&addr)?;
        let created = post_json(
            &addr,
            "/api/v1/apps",
            &format!("Authorization: Bearer {admin}\r\n"),
            serde_json::json!({"name": "bench", "type": "spa", "scopes": ["openid", "profile"], "redirectUris": [REDIRECT]}),
        )?;
        let client_id = json_body(&created)["app"]["clientId"]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("app not created: {created}"))?;
        let email = "bench@example.com";
        let session = initiate(&addr, &client_id)?;
        let signed_up = post_json(
            &addr,
            &format!("/embedded-auth/v1/{session}/sign-up"),
            "",
            serde_json::json!({"email": email, "password": PASSWORD}),
        )?;
        if status_of(&signed_up) != 200 {
            return Err(format!("sign-up failed: {signed_up}"));
        }
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        // The machine's speed drifts (shared hosts): time the hash before and after the load.
        let hash_before = one_hash_secs();
        let contended_before = contended_hash_secs(cores);
        let pid = child.id();
        let idle = rss_kib(pid)?;
        let cpu_before = cpu_secs(pid);
        let (signed_in, steady_peak) = load(
            &addr,
            pid,
            &client_id,
            email,
            cores * 4,
            Duration::from_secs(seconds),
        );
        let rate = signed_in as f64 / seconds as f64;
        let cpu_per_sign_in = (cpu_secs(pid) - cpu_before) / signed_in.max(1) as f64;
        let contended = (contended_before + contended_hash_secs(cores)) / 2.0;
        let hash_after = one_hash_secs();
        let hash = (hash_before + hash_after) / 2.0;
        let ceiling = cores as f64 / hash;
        let (burst, peak) = load(
            &addr,
            pid,
            &client_id,
            email,
            500,
            Duration::from_secs(seconds),
        );
        let params = server_params();
        println!(
            "one Argon2id hash (m={} KiB, t={}, p={}): {:.1} ms (before the load {:.1} ms, after {:.1} ms)",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            hash * 1000.0,
            hash_before * 1000.0,
            hash_after * 1000.0
        );
        println!("ceiling: {cores} cores / one hash = {ceiling:.1} sign-ins/s");
        println!(
            "password sign-ins: {rate:.1}/s with {} clients = {:.1} % of the ceiling (server RSS peak {:.1} MiB)",
            cores * 4,
            rate / ceiling * 100.0,
            steady_peak as f64 / 1024.0
        );
        println!(
            "server CPU per sign-in: {:.1} ms; one hash alone {:.1} ms, with all {cores} cores hashing {:.1} ms ({:.1} % of that ceiling)",
            cpu_per_sign_in * 1000.0,
            hash * 1000.0,
            contended * 1000.0,
            rate / (cores as f64 / contended) * 100.0
        );
        println!(
            "500 concurrent sign-ins: {:.1}/s, server RSS idle {:.1} MiB, peak {:.1} MiB",
            burst as f64 / seconds as f64,
            idle as f64 / 1024.0,
            peak as f64 / 1024.0
        );
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}
