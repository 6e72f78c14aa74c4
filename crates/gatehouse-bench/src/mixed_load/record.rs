//! What the load saw, request by request, and the summary made of it: counts by status per
//! operation and per instance, latency percentiles per interval, and the outage windows.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::client::Outcome;
use super::operations::Operation;

/// Failures closer together than this belong to one outage window.
const WINDOW_GAP_MS: u64 = 2_000;
/// Error answers kept verbatim per operation, to show what a client was told.
const SAMPLES_PER_OPERATION: usize = 3;

/// One finished operation.
#[derive(Clone)]
struct Event {
    operation: Operation,
    instance: usize,
    /// Milliseconds from the start of the run to the request's start, and its latency.
    start_ms: u64,
    latency_ms: f64,
    label: String,
    success: bool,
}

#[derive(Default)]
struct Recorded {
    events: Vec<Event>,
    samples: BTreeMap<&'static str, Vec<(String, String)>>,
}

pub(super) struct Recorder {
    started: Instant,
    started_unix_ms: u64,
    recorded: Mutex<Recorded>,
}

impl Recorder {
    pub(super) fn new() -> Self {
        Self {
            started: Instant::now(),
            started_unix_ms: unix_ms(SystemTime::now()),
            recorded: Mutex::default(),
        }
    }

    pub(super) fn started(&self) -> Instant {
        self.started
    }

    /// Records an operation that started at `start` and ended now with `outcome`.
    pub(super) fn record(
        &self,
        operation: Operation,
        instance: usize,
        start: Instant,
        outcome: &Outcome,
    ) {
        let event = Event {
            operation,
            instance,
            start_ms: start.saturating_duration_since(self.started).as_millis() as u64,
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
            label: outcome.label(),
            success: outcome.is_success(),
        };
        let Ok(mut recorded) = self.recorded.lock() else {
            return;
        };
        if !event.success {
            let samples = recorded.samples.entry(operation.name()).or_default();
            if samples.len() < SAMPLES_PER_OPERATION && !samples.iter().any(|s| s.0 == event.label)
            {
                let body: String = outcome.body().chars().take(300).collect();
                samples.push((event.label.clone(), body));
            }
        }
        recorded.events.push(event);
    }

    /// Operations and failures finished since the last call (from `seen` on), for the
    /// progress line.
    pub(super) fn progress(&self, seen: &mut usize) -> (usize, usize, f64) {
        let Ok(recorded) = self.recorded.lock() else {
            return (0, 0, 0.0);
        };
        let fresh = &recorded.events[(*seen).min(recorded.events.len())..];
        *seen = recorded.events.len();
        let mut latencies: Vec<f64> = fresh.iter().map(|e| e.latency_ms).collect();
        let failures = fresh.iter().filter(|e| !e.success).count();
        (fresh.len(), failures, percentile(&mut latencies, 0.99))
    }

    /// The summary of the run, `elapsed` long with `interval` long buckets.
    pub(super) fn summary(&self, elapsed: Duration, interval: Duration) -> Value {
        let Ok(recorded) = self.recorded.lock() else {
            return json!({"error": "the recorder's lock was poisoned"});
        };
        let events = &recorded.events;
        let mut operations = serde_json::Map::new();
        for operation in Operation::ALL {
            let of: Vec<&Event> = events.iter().filter(|e| e.operation == operation).collect();
            operations.insert(operation.name().into(), totals(&of));
        }
        let instances: Vec<Value> = (0..=events.iter().map(|e| e.instance).max().unwrap_or(0))
            .map(|i| {
                totals(
                    &events
                        .iter()
                        .filter(|e| e.instance == i)
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let all: Vec<&Event> = events.iter().collect();
        json!({
            "started_unix_ms": self.started_unix_ms,
            "seconds": elapsed.as_secs_f64(),
            "rate": events.len() as f64 / elapsed.as_secs_f64().max(0.001),
            "total": totals(&all),
            "operations": operations,
            "instances": instances,
            "intervals": intervals(events, interval),
            "outages": outages(events, self.started_unix_ms),
            "error_samples": recorded.samples,
        })
    }
}

pub(super) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Counts by label, failures, and latency percentiles of `events`.
fn totals(events: &[&Event]) -> Value {
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for event in events {
        *by_status.entry(event.label.as_str()).or_default() += 1;
    }
    let mut latencies: Vec<f64> = events.iter().map(|e| e.latency_ms).collect();
    json!({
        "requests": events.len(),
        "errors": events.iter().filter(|e| !e.success).count(),
        "by_status": by_status,
        "p50_ms": round(percentile(&mut latencies, 0.50)),
        "p99_ms": round(percentile(&mut latencies, 0.99)),
        "max_ms": round(latencies.last().copied().unwrap_or(0.0)),
    })
}

fn intervals(events: &[Event], interval: Duration) -> Vec<Value> {
    let width = interval.as_millis().max(1) as u64;
    let mut buckets: BTreeMap<u64, Vec<&Event>> = BTreeMap::new();
    for event in events {
        buckets
            .entry(event.start_ms / width)
            .or_default()
            .push(event);
    }
    buckets
        .into_iter()
        .map(|(bucket, of)| {
            let mut latencies: Vec<f64> = of.iter().map(|e| e.latency_ms).collect();
            json!({
                "from_s": bucket * width / 1000,
                "requests": of.len(),
                "rate": of.len() as f64 * 1000.0 / width as f64,
                "errors": of.iter().filter(|e| !e.success).count(),
                "p50_ms": round(percentile(&mut latencies, 0.50)),
                "p99_ms": round(percentile(&mut latencies, 0.99)),
            })
        })
        .collect()
}

/// Runs of failures (gaps under [`WINDOW_GAP_MS`]), each with the end of the first success
/// that started after its last failure: when clients were served again.
fn outages(events: &[Event], started_unix_ms: u64) -> Vec<Value> {
    let mut failures: Vec<&Event> = events.iter().filter(|e| !e.success).collect();
    failures.sort_by_key(|e| e.start_ms);
    let mut windows: Vec<Vec<&Event>> = Vec::new();
    for failure in failures {
        match windows.last_mut() {
            Some(window)
                if failure.start_ms
                    <= window.iter().map(|e| end_ms(e)).max().unwrap_or(0) + WINDOW_GAP_MS =>
            {
                window.push(failure)
            }
            _ => windows.push(vec![failure]),
        }
    }
    windows
        .into_iter()
        .map(|window| {
            let first = window.first().map_or(0, |e| e.start_ms);
            let last_start = window.iter().map(|e| e.start_ms).max().unwrap_or(0);
            let last_end = window.iter().map(|e| end_ms(e)).max().unwrap_or(0);
            let recovered = events
                .iter()
                .filter(|e| e.success && e.start_ms >= last_start)
                .map(end_ms)
                .min();
            let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
            for e in &window {
                *by_status
                    .entry(format!("{} {}", e.operation.name(), e.label))
                    .or_default() += 1;
            }
            json!({
                "first_failure_unix_ms": started_unix_ms + first,
                "last_failure_unix_ms": started_unix_ms + last_end,
                "recovered_unix_ms": recovered.map(|r| started_unix_ms + r),
                "failures": window.len(),
                "by_status": by_status,
            })
        })
        .collect()
}

fn end_ms(event: &Event) -> u64 {
    event.start_ms + event.latency_ms as u64
}

/// The `q` quantile of `values` (sorted in place), 0 when empty.
fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// The summary as tables a person reads.
pub(super) fn readable(summary: &Value) -> String {
    let mut out = String::new();
    let number = |v: &Value, key: &str| v[key].as_f64().unwrap_or(0.0);
    out.push_str(&format!(
        "mixed load: {:.0} requests in {:.0} s ({:.1}/s), {} errors\n",
        number(&summary["total"], "requests"),
        number(summary, "seconds"),
        number(summary, "rate"),
        summary["total"]["errors"]
    ));
    out.push_str(&format!(
        "  {:<20} {:>8} {:>7} {:>8} {:>8} {:>9}  by status\n",
        "operation", "requests", "errors", "p50 ms", "p99 ms", "max ms"
    ));
    let row = |name: &str, v: &Value| {
        format!(
            "  {name:<20} {:>8} {:>7} {:>8} {:>8} {:>9}  {}\n",
            v["requests"], v["errors"], v["p50_ms"], v["p99_ms"], v["max_ms"], v["by_status"]
        )
    };
    if let Some(operations) = summary["operations"].as_object() {
        for (name, v) in operations {
            out.push_str(&row(name, v));
        }
    }
    for (i, v) in summary["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        out.push_str(&row(&format!("instance {}", i + 1), v));
    }
    out.push_str("  interval  requests/s  errors  p50 ms  p99 ms\n");
    for v in summary["intervals"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:>6} s  {:>10.1}  {:>6}  {:>6}  {:>6}\n",
            v["from_s"],
            number(v, "rate"),
            v["errors"],
            v["p50_ms"],
            v["p99_ms"]
        ));
    }
    let started = number(summary, "started_unix_ms");
    for v in summary["outages"].as_array().into_iter().flatten() {
        let at = |key: &str| (number(v, key) - started) / 1000.0;
        let recovered = if v["recovered_unix_ms"].is_null() {
            "not recovered".to_owned()
        } else {
            format!("served again at {:.1} s", at("recovered_unix_ms"))
        };
        out.push_str(&format!(
            "  outage: failures from {:.1} s to {:.1} s, {recovered}; {} failures {}\n",
            at("first_failure_unix_ms"),
            at("last_failure_unix_ms"),
            v["failures"],
            v["by_status"]
        ));
    }
    if let Some(samples) = summary["error_samples"].as_object() {
        for (name, list) in samples {
            for sample in list.as_array().into_iter().flatten() {
                out.push_str(&format!("  {name} answered {}: {}\n", sample[0], sample[1]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(start_ms: u64, success: bool) -> Event {
        Event {
            operation: Operation::Userinfo,
            instance: 0,
            start_ms,
            latency_ms: 10.0,
            label: if success { "200" } else { "503" }.into(),
            success,
        }
    }

    #[test]
    fn percentiles_take_the_rank_at_or_above_the_quantile() {
        let mut values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut values, 0.5), 50.0);
        assert_eq!(percentile(&mut values, 0.99), 99.0);
        assert_eq!(percentile(&mut [], 0.99), 0.0);
    }

    #[test]
    fn failures_close_together_are_one_outage_that_ends_at_the_next_success() {
        let events = vec![
            event(0, true),
            event(1_000, false),
            event(2_500, false),
            event(3_000, true),
            event(9_000, false),
        ];
        let windows = outages(&events, 0);
        assert_eq!(windows.len(), 2, "{windows:?}");
        assert_eq!(windows[0]["failures"], 2);
        assert_eq!(windows[0]["first_failure_unix_ms"], 1_000);
        assert_eq!(windows[0]["recovered_unix_ms"], 3_010);
        assert!(windows[1]["recovered_unix_ms"].is_null());
    }
}
