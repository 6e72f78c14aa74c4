//! The clients' side of the load: keep-alive HTTP connections and the embedded-auth sign-in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use super::{CHALLENGE, ORIGIN, PASSWORD, REDIRECT};
use crate::{basic_header, status_of, TOKEN_BODY};

/// One client's keep-alive connection to the server, as a browser or an app's backend keeps
/// one: the load then costs the server HTTP work, not a TCP handshake per request.
pub(crate) struct Connection {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Connection {
    pub(crate) fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    /// POSTs `body` with the extra `headers` (each ending in CRLF); returns the status and the
    /// response body. A connection the server closed is opened again once.
    pub(crate) fn post(
        &mut self,
        path: &str,
        headers: &str,
        body: &str,
    ) -> Result<(u16, String), String> {
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
    pub(crate) fn post_json(
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
pub(crate) fn admin_token(connection: &mut Connection) -> Result<String, String> {
    let (_, issued) = connection.post(
        "/oauth2/v1/token",
        &format!(
            "Authorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            basic_header()
        ),
        TOKEN_BODY,
    )?;
    crate::string_at(&issued, "/access_token")
}

/// Starts an embedded-auth sign-in for `openid profile`; returns its session ID.
pub(crate) fn initiate(connection: &mut Connection, client_id: &str) -> Result<String, String> {
    initiate_for(connection, client_id, &["openid", "profile"])
}

/// Starts an embedded-auth sign-in asking for `scopes`; returns its session ID.
pub(crate) fn initiate_for(
    connection: &mut Connection,
    client_id: &str,
    scopes: &[&str],
) -> Result<String, String> {
    let (_, initiated) = connection.post_json(
        "/embedded-auth/v1/initiate",
        "",
        &serde_json::json!({"clientId": client_id, "redirectUri": REDIRECT, "codeChallenge": CHALLENGE,
            "codeChallengeMethod": "S256", "scopes": scopes, "locale": "en"}),
    )?;
    crate::string_at(&initiated, "/sessionId")
}

pub(super) fn sign_in(
    connection: &mut Connection,
    client_id: &str,
    email: &str,
) -> Result<bool, String> {
    let session = initiate(connection, client_id)?;
    let (status, _) = connection.post_json(
        &format!("/embedded-auth/v1/{session}/sign-in"),
        "",
        &serde_json::json!({"email": email, "password": PASSWORD}),
    )?;
    Ok(status == 200)
}
