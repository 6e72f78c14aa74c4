//! `gatehouse-bench introspection`: how fast `POST /oauth2/v1/introspect` answers for an S2S token,
//! as a share of `GET /info` with the same token. `/info` checks the token's signature and the
//! revocation deny-list and reads no database, so it is the rate a token check is bound by;
//! introspection adds the caller's authentication and the state of the token's app.
//!
//! The backend is the server's own choice: SQLite in a fresh folder by default, PostgreSQL and
//! Redis when `GATEHOUSE_DATABASE_URL`, `GATEHOUSE_REDIS_URL` and `GATEHOUSE_MASTER_KEY` are set
//! for this command.

use std::path::Path;

use crate::{basic_header, http, string_at, with_server, wrk, Load, WrkResult, TOKEN_BODY};

pub fn run(server: &Path, seconds: u64, connections: u32) -> Result<(), String> {
    with_server(server, "introspection", |_, addr, _| {
        measure(addr, seconds, connections)
    })
}

fn measure(addr: &str, seconds: u64, connections: u32) -> Result<(), String> {
    let token = s2s_token(addr)?;
    let info = Load {
        method: "GET",
        path: "/info",
        headers: vec![("Authorization", format!("Bearer {token}"))],
        body: String::new(),
    };
    let introspect = Load::app_form("/oauth2/v1/introspect", format!("token={token}"));
    let answer = post(addr, introspect.path, &introspect.body)?;
    if !answer.contains("\"active\":true") {
        return Err(format!("introspection of a fresh token answered {answer}"));
    }
    let info_rate = wrk(addr, seconds, connections, &info)?;
    let introspect_rate = wrk(addr, seconds, connections, &introspect)?;
    let backend = match std::env::var("GATEHOUSE_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => "PostgreSQL + Redis",
        _ => "SQLite + in-process cache",
    };
    println!("introspection benchmark ({backend}, {connections} connections, {seconds} s each)");
    report("GET /info (JWT check)", &info_rate);
    report("POST /oauth2/v1/introspect", &introspect_rate);
    println!(
        "  ratio                           : {:>10.1} %  (target >= 80 %)",
        introspect_rate.requests_per_sec / info_rate.requests_per_sec * 100.0
    );
    let failed = info_rate.non_2xx + introspect_rate.non_2xx;
    if failed > 0 {
        return Err(format!("{failed} requests failed during the runs"));
    }
    Ok(())
}

fn report(name: &str, result: &WrkResult) {
    println!(
        "  {name:<31} : {:>10.0} requests/s  (p50 {}, p99 {})",
        result.requests_per_sec, result.p50, result.p99
    );
}

/// A token of the bench's S2S app (`root`), read from the token endpoint's answer.
fn s2s_token(addr: &str) -> Result<String, String> {
    string_at(
        &post(addr, "/oauth2/v1/token", TOKEN_BODY)?,
        "/access_token",
    )
}

/// The body of a form POST authenticated as the bench's S2S app.
fn post(addr: &str, path: &str, body: &str) -> Result<String, String> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        basic_header(),
        body.len()
    );
    let response = http(addr, &request)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}
