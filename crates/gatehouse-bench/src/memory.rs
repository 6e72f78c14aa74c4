//! `gatehouse-bench memory [SERVER [REFERENCE]]`: the server's resident memory, as `ps -o rss`
//! reports it, against the bare HTTP stack's on this machine (`gatehouse-bench-reference`: the
//! same runtime, axum and hyper, serving one document), read at each step of a server's life:
//!
//! 1. a first start on an empty data folder (SQLite, in-process cache), 12 s after its warm-up
//!    token request (each background loop has run once: [`IDLE_AFTER`]): idle;
//! 2. the client-credentials load (wrk, 64 keep-alive connections, 10 s), sampled every 100 ms:
//!    the peak;
//! 3. 12 s after the load: idle again;
//! 4. a second start over the same data (nothing to create), 12 s after its warm-up: idle.
//!
//! Each reading splits the resident set into the process's own memory (anonymous: heap, stacks,
//! written data) and the files it maps, the binary's own pages apart; and counts the threads.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{
    http, http_token_status, run_wrk, start_server, startup_code, status_of, wait_for_discovery,
    wrk, Load, Options,
};

/// How long the server is left alone before an idle reading: long enough for each of its
/// background loops to run once (the logout-notice and webhook rounds every 5 s, the signing
/// keys' reload every 10 s by default). A reading taken sooner missed the code those loops run,
/// about a mebibyte of the binary's pages that an idle server then keeps.
pub const IDLE_AFTER: Duration = Duration::from_secs(12);

/// How long the bare HTTP stack (no background work) is left alone before its idle reading.
const SETTLE: Duration = Duration::from_secs(2);

/// One look at a process's memory, in KiB.
#[derive(Clone, Copy, Default)]
struct Reading {
    rss: u64,
    anonymous: u64,
    files: u64,
    /// Of `files`, the pages of the program's own executable.
    binary: u64,
    threads: u64,
}

impl Reading {
    fn of(pid: u32) -> Result<Self, String> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("cannot read the status of process {pid}: {e}"))?;
        let field = |name: &str| -> Result<u64, String> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .ok_or(format!("no {name} in /proc/{pid}/status"))
        };
        let executable = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map_err(|e| format!("cannot find the executable of process {pid}: {e}"))?;
        Ok(Reading {
            rss: field("VmRSS:")?,
            anonymous: field("RssAnon:")?,
            files: field("RssFile:")? + field("RssShmem:")?,
            binary: file_pages(pid, &executable)?,
            threads: field("Threads:")?,
        })
    }

    fn row(&self, label: &str) -> String {
        let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
        format!(
            "  {label:<34}: {:>9} {:>9} {:>9} {:>9} {:>7}",
            mib(self.rss),
            mib(self.anonymous),
            mib(self.files),
            mib(self.binary),
            self.threads
        )
    }
}

/// The resident, file-backed pages of `file`'s mappings in process `pid`, in KiB: its `Rss`
/// less what the process wrote (`Anonymous`: relocated data).
fn file_pages(pid: u32, file: &Path) -> Result<u64, String> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))
        .map_err(|e| format!("cannot read /proc/{pid}/smaps: {e}"))?;
    let file = file.to_string_lossy();
    let mut in_file = false;
    let mut total: i64 = 0;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        // A mapping's header: `start-end perms offset dev inode [path]`.
        if first.contains('-') && !first.ends_with(':') {
            in_file = fields.nth(4).is_some_and(|path| path == file);
            continue;
        }
        if !in_file {
            continue;
        }
        let kib = fields
            .next()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        match first {
            "Rss:" => total += kib,
            "Anonymous:" => total -= kib,
            _ => {}
        }
    }
    Ok(u64::try_from(total).unwrap_or(0))
}

/// The highest of each figure while `load` runs, sampled every 100 ms.
fn peak_during<T>(
    pid: u32,
    load: impl FnOnce() -> Result<T, String>,
) -> Result<(T, Reading), String> {
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        thread::spawn(move || {
            let mut peak = Reading::default();
            while sampling.load(Ordering::Relaxed) {
                if let Ok(now) = Reading::of(pid) {
                    if now.rss > peak.rss {
                        peak = Reading {
                            threads: peak.threads.max(now.threads),
                            ..now
                        };
                    } else {
                        peak.threads = peak.threads.max(now.threads);
                    }
                }
                thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    let result = load();
    sampling.store(false, Ordering::Relaxed);
    let peak = sampler.join().unwrap_or_default();
    result.map(|value| (value, peak))
}

fn stop(mut server: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}

/// Starts the server on `data_dir`, waits for discovery, asks for one token, and lets it settle.
fn started_server(binary: &Path, data_dir: &Path) -> Result<(Child, String), String> {
    let started = Instant::now();
    let (server, addr) = start_server(binary, data_dir)?;
    let warmed = wait_for_discovery(&addr, started).and_then(|_| http_token_status(&addr));
    match warmed {
        Ok(200) => {
            thread::sleep(IDLE_AFTER);
            Ok((server, addr))
        }
        other => {
            stop(server);
            Err(format!("the warm-up token request answered {other:?}"))
        }
    }
}

struct ServerFigures {
    first_idle: Reading,
    load_peak: Reading,
    after_load: Reading,
    second_idle: Reading,
    tokens_per_second: f64,
}

fn measure_server(binary: &Path, seconds: u64, connections: u32) -> Result<ServerFigures, String> {
    let data_dir =
        std::env::temp_dir().join(format!("gatehouse-bench-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let result = (|| {
        let (server, addr) = started_server(binary, &data_dir)?;
        let pid = server.id();
        let options = Options {
            server: binary.to_path_buf(),
            seconds,
            connections,
        };
        let figures = (|| {
            let first_idle = Reading::of(pid)?;
            let (wrk, load_peak) = peak_during(pid, || run_wrk(&addr, &options))?;
            if wrk.non_2xx > 0 {
                return Err(format!("{} token requests failed", wrk.non_2xx));
            }
            thread::sleep(IDLE_AFTER);
            let after_load = Reading::of(pid)?;
            Ok((first_idle, load_peak, after_load, wrk.requests_per_sec))
        })();
        stop(server);
        let (first_idle, load_peak, after_load, tokens_per_second) = figures?;
        let (server, _) = started_server(binary, &data_dir)?;
        let second_idle = Reading::of(server.id());
        stop(server);
        Ok(ServerFigures {
            first_idle,
            load_peak,
            after_load,
            second_idle: second_idle?,
            tokens_per_second,
        })
    })();
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

/// The bare HTTP stack serving one small document: idle after one request, and its peak under
/// the same wrk load.
fn measure_reference(
    binary: &Path,
    seconds: u64,
    connections: u32,
) -> Result<(Reading, Reading), String> {
    let document = std::env::temp_dir().join(format!(
        "gatehouse-bench-memory-reference-{}.json",
        std::process::id()
    ));
    std::fs::write(&document, br#"{"configs":{}}"#).map_err(|e| e.to_string())?;
    let mut child = Command::new(binary)
        .arg("/info")
        .arg(&document)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let result = (|| {
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or(format!("the reference server said {line:?}"))?
            .to_owned();
        let request = format!("GET /info HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        if status_of(&http(&addr, &request)?) != 200 {
            return Err("the reference server did not answer /info".to_owned());
        }
        thread::sleep(SETTLE);
        let idle = Reading::of(child.id())?;
        let load = Load {
            method: "GET",
            path: "/info",
            headers: Vec::new(),
            body: String::new(),
        };
        let (_, peak) = peak_during(child.id(), || wrk(&addr, seconds, connections, &load))?;
        Ok((idle, peak))
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&document);
    result
}

pub fn run(server: &Path, reference: &Path, seconds: u64, connections: u32) -> Result<(), String> {
    for binary in [server, reference] {
        if !binary.exists() {
            return Err(format!(
                "{} not found: build it with `cargo build --release -p gatehouse -p gatehouse-bench-reference`",
                binary.display()
            ));
        }
    }
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let figures = measure_server(server, seconds, connections)?;
    let (reference_idle, reference_peak) = measure_reference(reference, seconds, connections)?;
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "memory benchmark ({cores} cores; load: client credentials, {connections} connections, {seconds} s)"
    );
    println!(
        "  {:<34}  {:>9} {:>9} {:>9} {:>9} {:>7}",
        "", "RSS", "own", "files", "binary", "threads"
    );
    println!("{}", figures.first_idle.row("first start, idle"));
    println!("{}", figures.load_peak.row("under load (peak)"));
    println!("{}", figures.after_load.row("after the load, idle"));
    println!(
        "{}",
        figures.second_idle.row("second start (same data), idle")
    );
    println!("{}", reference_idle.row("bare HTTP stack, idle"));
    println!(
        "{}",
        reference_peak.row("bare HTTP stack under load (peak)")
    );
    println!(
        "  idle RSS over the bare stack's    : {:>9.2} x (target: first start <= 15 MiB)",
        figures.first_idle.rss as f64 / reference_idle.rss.max(1) as f64
    );
    println!(
        "  token endpoint under the load     : {:>9.0} tokens/s",
        figures.tokens_per_second
    );
    println!(
        "  binaries                          : {:.1} MB server, {:.1} MB bare stack",
        size(server) as f64 / 1e6,
        size(reference) as f64 / 1e6
    );
    // A stale list (after a toolchain or dependency update) lets the start's code spread again.
    match startup_code::coverage(Path::new(startup_code::ORDER_FILE), server) {
        Some((found, listed)) => println!(
            "  start-up code ordering            : {found} of the {listed} symbols of {} are in the server (`startup-code` makes the list anew)",
            startup_code::ORDER_FILE
        ),
        None => println!(
            "  start-up code ordering            : cannot compare {} with the server's symbols",
            startup_code::ORDER_FILE
        ),
    }
    Ok(())
}
