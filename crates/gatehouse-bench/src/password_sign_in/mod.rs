//! password-sign-in: password sign-ins per second through the embedded API, as a share of what
//! the cores could hash (cores ÷ one Argon2id hash at the server's parameters), and the
//! server's memory with 500 sign-ins in flight.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::{rss_kib, start_server};

use connection::{admin_token, initiate, sign_in, Connection};
use usage::Usage;

pub(crate) mod connection;
mod usage;

pub(crate) const ORIGIN: &str = "http://bench.local";
pub(crate) const REDIRECT: &str = "https://bench.local/cb";
pub(crate) const PASSWORD: &str = "Bench-passw0rd!";
/// A PKCE pair (S256): the challenge is the verifier's SHA-256, base64url.
pub(crate) const VERIFIER: &str = "gatehouse-bench-code-verifier-0123456789abcdefghij";
const CHALLENGE: &str = "5kSDh2VysG38UqhoQ3Kt6vNyEc3rvpTOrT9TX5eLZkk";

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
    let rounds = 20;
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

/// One measured stretch of load.
struct Window {
    signed_in: u64,
    secs: f64,
    peak_rss_kib: u64,
    usage: Usage,
}

/// Before a window is measured, the clients connect and the first hashes fill the queue.
const WARM_UP: Duration = Duration::from_millis(250);

/// Runs `clients` threads signing in; after the warm-up, measures `duration` of it.
fn load(
    addr: &str,
    pid: u32,
    client_id: &str,
    email: &str,
    clients: usize,
    duration: Duration,
) -> Window {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, client_id, email) =
                (addr.to_owned(), client_id.to_owned(), email.to_owned());
            let (done, stop) = (Arc::clone(&done), Arc::clone(&stop));
            thread::spawn(move || {
                let mut connection = Connection::new(&addr);
                while !stop.load(Ordering::Relaxed) {
                    if sign_in(&mut connection, &client_id, &email) == Ok(true) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    // Memory is sampled from the start: connecting clients is part of the peak.
    let mut peak_rss_kib = 0;
    let mut sample_rss_until = |end: Instant| {
        while Instant::now() < end {
            peak_rss_kib = peak_rss_kib.max(rss_kib(pid).unwrap_or(0));
            thread::sleep(
                end.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            );
        }
    };
    sample_rss_until(Instant::now() + WARM_UP);
    let (done_before, usage_before) = (done.load(Ordering::Relaxed), Usage::read(pid));
    let started = Instant::now();
    sample_rss_until(started + duration);
    let signed_in = done.load(Ordering::Relaxed) - done_before;
    let secs = started.elapsed().as_secs_f64();
    let usage = Usage::read(pid).since(usage_before);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    Window {
        signed_in,
        secs,
        peak_rss_kib,
        usage,
    }
}

/// Load windows between which the reference hashes are timed again: the host's speed drifts
/// (it is shared), so each window is compared with the hash timed just before and after it.
const WINDOWS: u64 = 5;

/// The steady-load measurement: the load windows and the reference hash times at their
/// boundaries.
#[derive(Default)]
struct SteadyLoad {
    cores: usize,
    windows: Vec<Window>,
    /// One hash alone and with every core hashing, timed at each boundary (`windows + 1`).
    hashes: Vec<f64>,
    contended: Vec<f64>,
}

impl SteadyLoad {
    fn mean(values: &[f64]) -> f64 {
        values.iter().sum::<f64>() / values.len().max(1) as f64
    }

    fn mean_hash(&self) -> f64 {
        Self::mean(&self.hashes)
    }

    fn mean_contended(&self) -> f64 {
        Self::mean(&self.contended)
    }

    fn fastest_hash(&self) -> f64 {
        self.hashes.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn slowest_hash(&self) -> f64 {
        self.hashes.iter().copied().fold(0.0, f64::max)
    }

    fn signed_in(&self) -> u64 {
        self.windows.iter().map(|w| w.signed_in).sum()
    }

    fn secs(&self) -> f64 {
        self.windows.iter().map(|w| w.secs).sum()
    }

    fn rate(&self) -> f64 {
        self.signed_in() as f64 / self.secs()
    }

    fn peak_rss_kib(&self) -> u64 {
        self.windows
            .iter()
            .map(|w| w.peak_rss_kib)
            .max()
            .unwrap_or(0)
    }

    fn usage(&self) -> Usage {
        self.windows.iter().fold(Usage::default(), |total, w| {
            total.zip(w.usage, |a, b| a + b)
        })
    }

    /// What the cores could have hashed in window `i`, by the hash times around it.
    fn window_ceiling(&self, i: usize, times: &[f64]) -> f64 {
        let hash = (times[i] + times[i + 1]) / 2.0;
        self.windows[i].secs * self.cores as f64 / hash
    }

    fn ratio_against(&self, times: &[f64]) -> f64 {
        let ceiling: f64 = (0..self.windows.len())
            .map(|i| self.window_ceiling(i, times))
            .sum();
        self.signed_in() as f64 / ceiling
    }

    /// Sign-ins over what the cores could have hashed, window by window.
    fn ratio(&self) -> f64 {
        self.ratio_against(&self.hashes)
    }

    fn contended_ratio(&self) -> f64 {
        self.ratio_against(&self.contended)
    }

    fn window_ratios(&self) -> String {
        let ratios: Vec<String> = self
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| {
                format!(
                    "{:.0} %",
                    w.signed_in as f64 / self.window_ceiling(i, &self.hashes) * 100.0
                )
            })
            .collect();
        ratios.join(", ")
    }

    /// CPU milliseconds per sign-in.
    fn per_sign_in_ms(&self, cpu: f64) -> f64 {
        cpu / self.signed_in().max(1) as f64 * 1000.0
    }

    /// `cpu` seconds as a share of the cores' time during the windows.
    fn share(&self, cpu: f64) -> f64 {
        cpu / (self.secs() * self.cores as f64) * 100.0
    }
}

fn measure_steady_load(
    addr: &str,
    pid: u32,
    client_id: &str,
    email: &str,
    cores: usize,
    clients: usize,
    seconds: u64,
) -> SteadyLoad {
    let window = Duration::from_secs_f64(seconds as f64 / WINDOWS as f64);
    let mut steady = SteadyLoad {
        cores,
        ..SteadyLoad::default()
    };
    for i in 0..=WINDOWS {
        steady.hashes.push(one_hash_secs());
        steady.contended.push(contended_hash_secs(cores));
        if i < WINDOWS {
            steady
                .windows
                .push(load(addr, pid, client_id, email, clients, window));
        }
    }
    steady
}

pub fn run(server: &Path, seconds: u64, clients: Option<usize>) -> Result<(), String> {
    let data_dir = std::env::temp_dir().join(format!("gatehouse-bench-pw-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    std::env::set_var("GATEHOUSE_EMBEDDED_AUTH_ORIGINS", format!("[\"{ORIGIN}\"]"));
    std::env::set_var("GATEHOUSE_ENABLE_USER_APP_CONSENT", "false");
    std::env::set_var("GATEHOUSE_ACCOUNT_LOCKOUT_THRESHOLD", "0");
    let (mut child, addr) = start_server(server, &data_dir)?;
    let result = (|| {
        let mut connection = Connection::new(&addr);
        let admin = admin_token(&mut connection)?;
        let (_, created) = connection.post_json(
            "/api/v1/apps",
            &format!("Authorization: Bearer {admin}\r\n"),
            &serde_json::json!({"name": "bench", "type": "spa", "scopes": ["openid", "profile"], "redirectUris": [REDIRECT]}),
        )?;
        let client_id = crate::string_at(&created, "/app/clientId")?;
        let email = "bench@example.com";
        let session = initiate(&mut connection, &client_id)?;
        let (status, signed_up) = connection.post_json(
            &format!("/embedded-auth/v1/{session}/sign-up"),
            "",
            &serde_json::json!({"email": email, "password": PASSWORD}),
        )?;
        if status != 200 {
            return Err(format!("sign-up failed: {status} {signed_up}"));
        }
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let clients = clients.unwrap_or(cores * 4).max(1);
        let pid = child.id();
        let idle_rss = rss_kib(pid)?;
        let steady = measure_steady_load(&addr, pid, &client_id, email, cores, clients, seconds);
        let burst = load(
            &addr,
            pid,
            &client_id,
            email,
            500,
            Duration::from_secs(seconds),
        );
        let params = server_params();
        let hash = steady.mean_hash();
        let usage = steady.usage();
        println!(
            "one Argon2id hash (m={} KiB, t={}, p={}): {:.1} ms on average, {:.1}–{:.1} ms across the run",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            hash * 1000.0,
            steady.fastest_hash() * 1000.0,
            steady.slowest_hash() * 1000.0,
        );
        println!(
            "ceiling: {cores} cores / one hash = {:.1} sign-ins/s",
            cores as f64 / hash
        );
        println!(
            "password sign-ins: {:.1}/s with {clients} clients = {:.1} % of the ceiling \
             (per window: {}; server RSS peak {:.1} MiB)",
            steady.rate(),
            steady.ratio() * 100.0,
            steady.window_ratios(),
            steady.peak_rss_kib() as f64 / 1024.0
        );
        println!(
            "one hash with all {cores} cores hashing: {:.1} ms on average ({:.1} % of that ceiling)",
            steady.mean_contended() * 1000.0,
            steady.contended_ratio() * 100.0
        );
        println!(
            "CPU per sign-in: server {:.2} ms (hashing threads {:.2} ms, {:.1} context \
             switches), load clients {:.2} ms; of the cores' time: server {:.1} %, clients \
             {:.1} %, idle {:.1} %, taken by the host (steal) {:.1} %",
            steady.per_sign_in_ms(usage.server),
            steady.per_sign_in_ms(usage.hashing),
            usage.switches / steady.signed_in().max(1) as f64,
            steady.per_sign_in_ms(usage.clients),
            steady.share(usage.server),
            steady.share(usage.clients),
            steady.share(usage.idle),
            steady.share(usage.steal),
        );
        println!(
            "500 concurrent sign-ins: {:.1}/s, server RSS idle {:.1} MiB, peak {:.1} MiB",
            burst.signed_in as f64 / burst.secs,
            idle_rss as f64 / 1024.0,
            burst.peak_rss_kib as f64 / 1024.0
        );
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}
