//! mixed-load: the mixed traffic of a deployment against running instances (for the fault and
//! soak scripts): client-credentials tokens, userinfo, the rotating refresh grant, password
//! sign-ins through the embedded API and S2S user creation (an invitation, which also sends
//! an email), at a target rate or flat out, for a duration.
//!
//! It records every request's status and latency and prints (and writes as JSON) counts by
//! status per operation and per instance, p50/p99 per interval, and the outage windows: from
//! the first failure to the first success after the last one. Every user whose creation was
//! answered 2xx is written to the `--created` file; `mixed-load verify` checks afterwards that
//! each one is there.
//!
//! The instances must share one database and cache, accept the embedded API from
//! `http://bench.local` (`embedded_auth_origins`), ask no consent, and have the bench's
//! bootstrap S2S app (`bench-admin` and its secret, as `client-credentials` starts it).

mod client;
mod operations;
mod record;

use std::fs::OpenOptions;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::password_sign_in::connection::{admin_token, initiate_for, Connection};
use crate::password_sign_in::{PASSWORD, REDIRECT, VERIFIER};
use crate::{base64_standard, flag_value, string_at};
use client::{addr_of, Client, Outcome};
use operations::{Shared, Worker};
use record::Recorder;

pub const USAGE: &str = "usage: gatehouse-bench mixed-load --url http://HOST:PORT[,http://…] \
[--seconds N (60)] [--rate OPS_PER_S (flat out)] [--clients N (16)] [--timeout S (30)] \
[--interval S (10)] [--created FILE] [--json FILE]\n       \
gatehouse-bench mixed-load verify --url http://HOST:PORT --created FILE [--json FILE]";

struct Options {
    addrs: Vec<String>,
    seconds: u64,
    rate: Option<f64>,
    clients: usize,
    timeout: Duration,
    interval: Duration,
    created: Option<String>,
    json: Option<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let number = |flag: &str, default: f64| -> Result<f64, String> {
        flag_value(args, flag).map_or(Ok(default), |v| {
            v.parse::<f64>()
                .ok()
                .filter(|n| *n > 0.0)
                .ok_or(format!("{flag} needs a positive number\n{USAGE}"))
        })
    };
    let urls = flag_value(args, "--url").ok_or(USAGE)?;
    Ok(Options {
        addrs: urls.split(',').map(addr_of).collect::<Result<_, _>>()?,
        seconds: number("--seconds", 60.0)? as u64,
        rate: flag_value(args, "--rate")
            .map(|_| number("--rate", 1.0))
            .transpose()?,
        clients: number("--clients", 16.0)? as usize,
        timeout: Duration::from_secs_f64(number("--timeout", 30.0)?),
        interval: Duration::from_secs_f64(number("--interval", 10.0)?),
        created: flag_value(args, "--created"),
        json: flag_value(args, "--json"),
    })
}

/// `args` are the words after `mixed-load`.
pub fn run(args: &[String]) -> Result<(), String> {
    let options = options(args)?;
    if args.first().map(String::as_str) == Some("verify") {
        return verify(&options);
    }
    let shared = Arc::new(set_up(&options)?);
    let mut workers = Vec::new();
    for index in 0..options.clients {
        let email = worker_email(&shared.run_id, index);
        workers.push(Worker::new(
            index,
            email,
            &options.addrs,
            options.timeout,
            Arc::clone(&shared),
        ));
    }
    sign_up_workers(&options.addrs[0], &shared, &workers)?;
    eprintln!(
        "mixed-load: {} clients against {} instance(s) for {} s at {}",
        options.clients,
        options.addrs.len(),
        options.seconds,
        options
            .rate
            .map_or("full speed".to_owned(), |r| format!("{r:.1} requests/s"))
    );
    let elapsed = drive(&options, &shared, workers);
    let summary = shared.recorder.summary(elapsed, options.interval);
    if let Some(path) = &options.json {
        std::fs::write(path, summary.to_string()).map_err(|e| format!("{path}: {e}"))?;
    }
    print!("{}", record::readable(&summary));
    Ok(())
}

/// The run's apps and files: a SPA for the sign-ins, the created-users file opened for
/// appending.
fn set_up(options: &Options) -> Result<Shared, String> {
    let mut connection = Connection::new(&options.addrs[0]);
    let root = admin_token(&mut connection)?;
    let run_id = format!(
        "{}-{}",
        record::unix_ms(SystemTime::now()) / 1000,
        std::process::id()
    );
    let (_, created) = connection.post_json(
        "/api/v1/apps",
        &format!("Authorization: Bearer {root}\r\n"),
        &serde_json::json!({"name": format!("mixed load {run_id}"), "type": "spa",
            "scopes": ["openid", "profile", "offline_access"], "redirectUris": [REDIRECT]}),
    )?;
    let created_file = match &options.created {
        Some(path) => Some(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{path}: {e}"))?,
        )),
        None => None,
    };
    Ok(Shared {
        spa_client_id: string_at(&created, "/app/clientId")?,
        challenge: s256(VERIFIER),
        run_id,
        created: created_file,
        recorder: Recorder::new(),
    })
}

fn worker_email(run_id: &str, index: usize) -> String {
    format!("ml-{run_id}-signin-{index}@example.com")
}

/// Each worker signs in as a user of its own, signed up here.
fn sign_up_workers(addr: &str, shared: &Shared, workers: &[Worker]) -> Result<(), String> {
    let mut connection = Connection::new(addr);
    for worker in workers {
        let session = initiate_for(
            &mut connection,
            &shared.spa_client_id,
            &["openid", "profile", "offline_access"],
        )?;
        let (status, answer) = connection.post_json(
            &format!("/embedded-auth/v1/{session}/sign-up"),
            "",
            &serde_json::json!({"email": worker.email, "password": PASSWORD}),
        )?;
        if status != 200 {
            return Err(format!(
                "sign-up of {} answered {status}: {answer}",
                worker.email
            ));
        }
    }
    Ok(())
}

/// Runs the workers until the duration is over; each takes the next request number, waits for
/// its turn at the target rate (none flat out) and performs it. Returns the time it ran.
fn drive(options: &Options, shared: &Arc<Shared>, workers: Vec<Worker>) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(options.seconds);
    let done = Arc::new(AtomicBool::new(false));
    let progress = {
        let (shared, done, interval) = (Arc::clone(shared), Arc::clone(&done), options.interval);
        thread::spawn(move || {
            let (mut seen, mut tick) = (0, started);
            while !done.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(200));
                if tick.elapsed() >= interval {
                    tick = Instant::now();
                    let (count, failures, p99) = shared.recorder.progress(&mut seen);
                    eprintln!(
                        "  {:>5.0} s: {:>7.1} requests/s, {failures} errors, p99 {p99:.1} ms",
                        started.elapsed().as_secs_f64(),
                        count as f64 / interval.as_secs_f64()
                    );
                }
            }
        })
    };
    let rate = options.rate;
    let threads: Vec<_> = workers
        .into_iter()
        .map(|mut worker| {
            let next = Arc::clone(&next);
            thread::spawn(move || loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(n as f64 / rate);
                    if due >= until {
                        break;
                    }
                    thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                if Instant::now() >= until {
                    break;
                }
                worker.perform(n);
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    done.store(true, Ordering::Relaxed);
    let _ = progress.join();
    shared.recorder.started().elapsed()
}

/// Checks that every user in the created-users file is there, with its email.
fn verify(options: &Options) -> Result<(), String> {
    let path = options
        .created
        .as_deref()
        .ok_or(format!("verify needs --created FILE\n{USAGE}"))?;
    let listed = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let addr = &options.addrs[0];
    let root = admin_token(&mut Connection::new(addr))?;
    let mut client = Client::new(addr, options.timeout);
    let auth = format!("Authorization: Bearer {root}\r\n");
    let mut missing = Vec::new();
    let mut checked = 0;
    for line in listed.lines().filter(|l| !l.trim().is_empty()) {
        let (auth_id, email) = line.split_once(' ').unwrap_or((line, ""));
        checked += 1;
        let found = client.get(&format!("/api/v1/users/{auth_id}"), &auth);
        let present = match &found {
            Outcome::Answered(200, body) => {
                string_at(body, "/user/email").is_ok_and(|e| e == email.trim())
            }
            _ => false,
        };
        if !present {
            missing.push(format!("{line} ({})", found.label()));
        }
    }
    let summary =
        serde_json::json!({"checked": checked, "missing": missing.len(), "missing_users": missing});
    if let Some(json) = &options.json {
        std::fs::write(json, summary.to_string()).map_err(|e| format!("{json}: {e}"))?;
    }
    println!(
        "verify: {checked} users answered 2xx at creation, {} missing",
        missing.len()
    );
    for user in &missing {
        println!("  missing: {user}");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} acknowledged users are missing", missing.len()))
    }
}

/// The PKCE S256 challenge of `verifier`: its SHA-256, base64url without padding.
fn s256(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64_standard(digest.as_ref())
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_password_bench_one() {
        assert_eq!(
            s256(VERIFIER),
            "5kSDh2VysG38UqhoQ3Kt6vNyEc3rvpTOrT9TX5eLZkk"
        );
    }

    #[test]
    fn options_read_several_urls_and_a_rate() {
        let args: Vec<String> = ["--url", "http://a:1,http://b:2", "--rate", "12.5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let options = options(&args).unwrap();
        assert_eq!(options.addrs, ["a:1", "b:2"]);
        assert_eq!(options.rate, Some(12.5));
        assert_eq!(options.seconds, 60);
    }
}
