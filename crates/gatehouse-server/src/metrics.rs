//! Prometheus metrics: request counts and latencies by route, tokens issued by grant.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// A static name for the methods Gatehouse serves, so recording a request allocates nothing.
pub fn method_name(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Counters, so that recording a request already seen takes a shared lock and no wait.
#[derive(Default)]
struct RouteStats {
    count: AtomicU64,
    sum_nanos: AtomicU64,
    /// Requests by the first bucket they fit (the exposition's buckets are cumulative: each
    /// is the sum of those up to it), so a request counts in one place.
    buckets: [AtomicU64; BUCKETS.len()],
}

impl RouteStats {
    fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        if let Some(first) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[first].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// (method, status) → stats for one route.
type ByMethodAndStatus = BTreeMap<(&'static str, u16), RouteStats>;

#[derive(Default)]
pub struct Metrics {
    /// route → (method, status) → stats; keyed so that a seen route costs no allocation.
    requests: RwLock<BTreeMap<String, ByMethodAndStatus>>,
    tokens: Mutex<BTreeMap<&'static str, u64>>,
    emails: Outcomes,
    logout_notices: Outcomes,
}

/// Attempts at something sent out, by result.
#[derive(Default)]
struct Outcomes {
    sent: AtomicU64,
    failed: AtomicU64,
}

impl Outcomes {
    fn count(&self, sent: bool) {
        let counter = if sent { &self.sent } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One counter family, `name{result="sent|failed"}`.
    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (result, counter) in [("sent", &self.sent), ("failed", &self.failed)] {
            let value = counter.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{result=\"{result}\"}} {value}");
        }
    }
}

impl Metrics {
    pub fn observe_request(
        &self,
        method: &'static str,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        {
            let requests = self.requests.read().unwrap_or_else(|e| e.into_inner());
            if let Some(stats) = requests.get(route).and_then(|m| m.get(&(method, status))) {
                stats.record(elapsed);
                return;
            }
        }
        let mut requests = self.requests.write().unwrap_or_else(|e| e.into_inner());
        let by_method = requests.entry(route.to_owned()).or_default();
        by_method
            .entry((method, status))
            .or_default()
            .record(elapsed);
    }

    pub fn token_issued(&self, grant: &'static str) {
        *self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(grant)
            .or_default() += 1;
    }

    /// Counts one delivery attempt of an email.
    pub fn record_email(&self, success: bool) {
        self.emails.count(success);
    }

    /// Counts one attempt at a back-channel logout notice.
    pub fn logout_notice(&self, settled: bool) {
        self.logout_notices.count(settled);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP gatehouse_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE gatehouse_http_requests_total counter\n");
        let requests = self.requests.read().unwrap_or_else(|e| e.into_inner());
        let rows = || {
            requests.iter().flat_map(|(route, by_method)| {
                by_method
                    .iter()
                    .map(move |((method, status), stats)| (method, route, status, stats))
            })
        };
        for (method, route, status, stats) in rows() {
            let _ = writeln!(
                out,
                "gatehouse_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                stats.count.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP gatehouse_http_request_duration_seconds HTTP request latency by method, route and status.\n");
        out.push_str("# TYPE gatehouse_http_request_duration_seconds histogram\n");
        for (method, route, status, stats) in rows() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            // One reading of the counters, so the lines of one series agree with each other
            // as far as a request recorded meanwhile allows.
            let count = stats.count.load(Ordering::Relaxed);
            let sum_seconds = stats.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let mut cumulative = 0;
            for (bound, bucket) in BUCKETS.iter().zip(&stats.buckets) {
                cumulative += bucket.load(Ordering::Relaxed);
                let count = cumulative;
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_sum{{{labels}}} {sum_seconds}"
            );
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        drop(requests);
        out.push_str("# HELP gatehouse_tokens_issued_total Tokens issued by grant type.\n");
        out.push_str("# TYPE gatehouse_tokens_issued_total counter\n");
        for (grant, count) in self.tokens.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "gatehouse_tokens_issued_total{{grant=\"{grant}\"}} {count}"
            );
        }
        let help = "Email delivery attempts by result.";
        self.emails.render(&mut out, "gatehouse_emails_total", help);
        let help = "Back-channel logout attempts by result.";
        self.logout_notices
            .render(&mut out, "gatehouse_logout_notices_total", help);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let metrics = Metrics::default();
        metrics.observe_request("POST", "/oauth2/v1/token", 200, Duration::from_millis(2));
        metrics.token_issued("client_credentials");
        metrics.record_email(true);
        metrics.logout_notice(false);
        let text = metrics.render();
        assert!(
            text.contains("# TYPE gatehouse_emails_total counter\n"),
            "{text}"
        );
        assert!(text.contains("gatehouse_emails_total{result=\"sent\"} 1\n"));
        assert!(text.contains("gatehouse_logout_notices_total{result=\"failed\"} 1\n"));
        assert!(text.contains("gatehouse_logout_notices_total{result=\"sent\"} 0\n"));
        assert!(text.contains(
            "gatehouse_http_requests_total{method=\"POST\",route=\"/oauth2/v1/token\",status=\"200\"} 1"
        ));
        assert!(text.contains("le=\"0.0025\"} 1"));
        assert!(text.contains("le=\"0.001\"} 0"));
        // The buckets are cumulative: a slower request counts in its bucket and every later one.
        metrics.observe_request("POST", "/oauth2/v1/token", 200, Duration::from_millis(20));
        let text = metrics.render();
        let series = "method=\"POST\",route=\"/oauth2/v1/token\",status=\"200\"";
        for (bound, count) in [
            ("0.001", 0),
            ("0.0025", 1),
            ("0.01", 1),
            ("0.025", 2),
            ("+Inf", 2),
        ] {
            let line = format!("gatehouse_http_request_duration_seconds_bucket{{{series},le=\"{bound}\"}} {count}\n");
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(text.contains(&format!(
            "gatehouse_http_request_duration_seconds_count{{{series}}} 2\n"
        )));
        assert!(text.contains("gatehouse_tokens_issued_total{grant=\"client_credentials\"} 1"));
    }
}
