//! password-sign-in: password sign-ins per second through the embedded API, as a share of what
//! the cores could hash (cores ÷ one Argon2id hash at the server's parameters), and the
//! server's memory with 500 sign-ins in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::{basic_header, rss_kib, start_server, status_of, TOKEN_BODY};

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

/// One client's keep-alive connection to the server, as a browser or an app's backend keeps
/// one: the load then costs the server HTTP work, not a TCP handshake per request.
struct Connection {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Connection {
    fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    /// POSTs `body` with the extra `headers` (each ending in CRLF); returns the status and the
    /// response body. A connection the server closed is opened again once.
    fn post(&mut self, path: &str, headers: &str, body: &str) -> Result<(u16, String), String> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {ORIGIN}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        match self.exchange(&request) {
            Ok(response) => Ok(response),
            Err(_) => {
                self.stream = None;
                self.exchange(&request)
            }
        }
    }

    /// POSTs `body` as JSON, with the extra `headers`.
    fn post_json(
        &mut self,
        path: &str,
        headers: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, String), String> {
        let headers = format!("{headers}Content-Type: application/json\r\n");
        self.post(path, &headers, &body.to_string())
    }

    fn exchange(&mut self, request: &str) -> Result<(u16, String), String> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr).map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            self.stream = Some(BufReader::new(stream));
        }
        let stream = self.stream.as_mut().ok_or("no connection")?;
        stream
            .get_mut()
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        stream.read_line(&mut line).map_err(|e| e.to_string())?;
        let status = status_of(&line);
        let mut length = 0usize;
        let mut close = false;
        loop {
            line.clear();
            if stream.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("connection closed in the headers".into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(|_| "bad Content-Length")?;
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.trim().eq_ignore_ascii_case("close");
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).map_err(|e| e.to_string())?;
        if close {
            self.stream = None;
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// An access token for the management API, from the bootstrap client.
fn admin_token(connection: &mut Connection) -> Result<String, String> {
    let (_, issued) = connection.post(
        "/oauth2/v1/token",
        &format!(
            "Authorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            basic_header()
        ),
        TOKEN_BODY,
    )?;
    let issued: serde_json::Value = serde_json::from_str(&issued).unwrap_or_default();
    issued["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or(format!("no admin token: {issued}"))
}

/// Starts an embedded-auth sign-in; returns its session ID.
fn initiate(connection: &mut Connection, client_id: &str) -> Result<String, String> {
    let (_, initiated) = connection.post_json(
        "/embedded-auth/v1/initiate",
        "",
        &serde_json::json!({"clientId": client_id, "redirectUri": REDIRECT, "codeChallenge": CHALLENGE,
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "en"}),
    )?;
    let initiated: serde_json::Value = serde_json::from_str(&initiated).unwrap_or_default();
    initiated["sessionId"]
        .as_str()
        .map(str::to_owned)
        .ok_or(format!("initiate failed: {initiated}"))
}

fn sign_in(connection: &mut Connection, client_id: &str, email: &str) -> Result<bool, String> {
    let session = initiate(connection, client_id)?;
    let (status, _) = connection.post_json(
        &format!("/embedded-auth/v1/{session}/sign-in"),
        "",
        &serde_json::json!({"email": email, "password": PASSWORD}),
    )?;
    Ok(status == 200)
}

/// CPU seconds (user + system) in a `stat(5)` file's text, and the command name it gives.
fn stat_cpu_secs(stat: &str) -> (&str, f64) {
    // The command name is in parentheses and may hold spaces.
    let (name, rest) = stat
        .split_once('(')
        .and_then(|(_, r)| r.rsplit_once(')'))
        .unwrap_or(("", ""));
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name; 100 Hz.
    (name, (ticks(11) + ticks(12)) / 100.0)
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat_cpu_secs(&stat).1
}

/// What the server's threads have used so far: the hashing threads' (`password-hash-N`) CPU
/// seconds, and context switches of all its threads (each a wake-up or a preemption).
fn server_threads(pid: u32) -> (f64, f64) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0.0, 0.0);
    };
    let (mut hashing, mut switches) = (0.0, 0.0);
    for task in tasks.flatten() {
        let path = task.path();
        if let Ok(stat) = std::fs::read_to_string(path.join("stat")) {
            let (name, secs) = stat_cpu_secs(&stat);
            if name.starts_with("password-hash") {
                hashing += secs;
            }
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        switches += status
            .lines()
            .filter(|line| line.contains("ctxt_switches:"))
            .filter_map(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
            .sum::<f64>();
    }
    (hashing, switches)
}

/// CPU seconds used so far by the server, its hashing threads and this process, and the
/// machine's idle and stolen seconds: read at both edges of a measured window.
#[derive(Clone, Copy, Default)]
struct Usage {
    server: f64,
    hashing: f64,
    /// The server's context switches.
    switches: f64,
    clients: f64,
    idle: f64,
    steal: f64,
}

impl Usage {
    fn read(server_pid: u32) -> Self {
        let (idle, steal) = machine_idle_and_steal();
        let (hashing, switches) = server_threads(server_pid);
        Self {
            server: cpu_secs(server_pid),
            hashing,
            switches,
            clients: cpu_secs(std::process::id()),
            idle,
            steal,
        }
    }

    /// Applies `f` field by field.
    fn zip(self, other: Usage, f: impl Fn(f64, f64) -> f64) -> Usage {
        Usage {
            server: f(self.server, other.server),
            hashing: f(self.hashing, other.hashing),
            switches: f(self.switches, other.switches),
            clients: f(self.clients, other.clients),
            idle: f(self.idle, other.idle),
            steal: f(self.steal, other.steal),
        }
    }

    /// What was used between `earlier` and this reading.
    fn since(self, earlier: Usage) -> Usage {
        self.zip(earlier, |later, earlier| later - earlier)
    }
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
            let (done, stop) = (done.clone(), stop.clone());
            thread::spawn(move || {
                let mut connection = Connection::new(&addr);
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(true) = sign_in(&mut connection, &client_id, &email) {
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

/// Idle and stolen seconds of the whole machine so far (`/proc/stat`, 100 Hz).
fn machine_idle_and_steal() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or(0.0) / 100.0;
    // user nice system idle iowait irq softirq steal: idle and iowait are idle time.
    (field(3) + field(4), field(7))
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
        let created: serde_json::Value = serde_json::from_str(&created).unwrap_or_default();
        let client_id = created["app"]["clientId"]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("app not created: {created}"))?;
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
