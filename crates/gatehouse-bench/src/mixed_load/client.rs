//! A keep-alive HTTP/1.1 connection with a deadline on every exchange. The password bench's
//! `Connection` waits as long as the server does; under faults a request that hangs is itself
//! the finding, so here it ends at the deadline and is counted as a timeout.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::password_sign_in::ORIGIN;
use crate::status_of;

/// How one exchange ended: the server's status and body, or why there was none.
#[derive(Debug)]
pub(super) enum Outcome {
    Answered(u16, String),
    /// No answer within the deadline.
    TimedOut,
    /// Refused, reset or closed without an answer.
    NoConnection,
}

impl Outcome {
    /// The label a result is counted under: the status, `timeout` or `connection`.
    pub(super) fn label(&self) -> String {
        match self {
            Outcome::Answered(status, _) => status.to_string(),
            Outcome::TimedOut => "timeout".into(),
            Outcome::NoConnection => "connection".into(),
        }
    }

    pub(super) fn is_success(&self) -> bool {
        matches!(self, Outcome::Answered(status, _) if (200..300).contains(status))
    }

    pub(super) fn body(&self) -> &str {
        match self {
            Outcome::Answered(_, body) => body,
            _ => "",
        }
    }
}

pub(super) struct Client {
    addr: String,
    timeout: Duration,
    stream: Option<BufReader<TcpStream>>,
}

impl Client {
    pub(super) fn new(addr: &str, timeout: Duration) -> Self {
        Self {
            addr: addr.to_owned(),
            timeout,
            stream: None,
        }
    }

    pub(super) fn get(&mut self, path: &str, headers: &str) -> Outcome {
        self.send(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{headers}\r\n",
            self.addr
        ))
    }

    pub(super) fn post(&mut self, path: &str, headers: &str, body: &str) -> Outcome {
        self.send(&format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {ORIGIN}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        ))
    }

    pub(super) fn post_json(
        &mut self,
        path: &str,
        headers: &str,
        body: &serde_json::Value,
    ) -> Outcome {
        let headers = format!("{headers}Content-Type: application/json\r\n");
        self.post(path, &headers, &body.to_string())
    }

    pub(super) fn post_form(&mut self, path: &str, headers: &str, body: &str) -> Outcome {
        let headers = format!("{headers}Content-Type: application/x-www-form-urlencoded\r\n");
        self.post(path, &headers, body)
    }

    /// Sends `request`; a kept-alive connection the server had closed is opened again once.
    fn send(&mut self, request: &str) -> Outcome {
        let reused = self.stream.is_some();
        match self.exchange(request) {
            Err(Outcome::NoConnection) if reused => {
                self.stream = None;
                self.exchange(request).unwrap_or_else(|failure| failure)
            }
            Ok(outcome) | Err(outcome) => outcome,
        }
    }

    fn connect(&self) -> Result<TcpStream, Outcome> {
        let addr = self
            .addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or(Outcome::NoConnection)?;
        let stream = TcpStream::connect_timeout(&addr, self.timeout).map_err(|e| failure(&e))?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(self.timeout));
        let _ = stream.set_write_timeout(Some(self.timeout));
        Ok(stream)
    }

    fn exchange(&mut self, request: &str) -> Result<Outcome, Outcome> {
        if self.stream.is_none() {
            self.stream = Some(BufReader::new(self.connect()?));
        }
        let result = self.read_answer(request);
        if result.is_err() {
            // Whatever is left of a broken exchange must not be read as the next answer.
            self.stream = None;
        }
        result
    }

    fn read_answer(&mut self, request: &str) -> Result<Outcome, Outcome> {
        let stream = self.stream.as_mut().ok_or(Outcome::NoConnection)?;
        let io = |e: std::io::Error| failure(&e);
        stream.get_mut().write_all(request.as_bytes()).map_err(io)?;
        let mut line = String::new();
        if stream.read_line(&mut line).map_err(io)? == 0 {
            return Err(Outcome::NoConnection);
        }
        let status = status_of(&line);
        let (mut length, mut close) = (0usize, false);
        loop {
            line.clear();
            if stream.read_line(&mut line).map_err(io)? == 0 {
                return Err(Outcome::NoConnection);
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(|_| Outcome::NoConnection)?;
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.trim().eq_ignore_ascii_case("close");
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).map_err(io)?;
        if close {
            self.stream = None;
        }
        Ok(Outcome::Answered(
            status,
            String::from_utf8_lossy(&body).into_owned(),
        ))
    }
}

fn failure(err: &std::io::Error) -> Outcome {
    match err.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Outcome::TimedOut,
        _ => Outcome::NoConnection,
    }
}

/// `host:port` of an `http://host:port[/]` base URL.
pub(super) fn addr_of(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or(format!("{url}: only http:// base URLs are supported"))?;
    let addr = rest.trim_end_matches('/');
    if addr.is_empty() || addr.contains('/') {
        return Err(format!("{url}: give the base URL, http://host:port"));
    }
    Ok(addr.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_become_socket_addresses() {
        assert_eq!(
            addr_of("http://127.0.0.1:8787/"),
            Ok("127.0.0.1:8787".into())
        );
        assert!(addr_of("https://example.com").is_err());
        assert!(addr_of("http://host:1/path").is_err());
    }

    #[test]
    fn outcomes_are_labelled_by_status_or_failure() {
        assert_eq!(Outcome::Answered(503, String::new()).label(), "503");
        assert_eq!(Outcome::TimedOut.label(), "timeout");
        assert!(Outcome::Answered(201, String::new()).is_success());
        assert!(!Outcome::NoConnection.is_success());
    }
}
