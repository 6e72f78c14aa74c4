//! `gatehouse-bench hot-paths`: the endpoints called on every page load or API call, each as a
//! share of the machine's own limit for it, measured in the same run:
//!
//! - `GET /oauth2/v1/userinfo` with a user's access token, `GET /info` with an S2S token and
//!   `GET /.well-known/jwks.json`, against the bare HTTP stack (`gatehouse-bench-reference`:
//!   the same runtime, axum and hyper answering the same bytes, built by `scripts/bench`);
//! - the `refresh_token` grant with rotation (each answer's new refresh token is the next
//!   request's), against the raw RSA-2048 signing rate of every core, since each refresh signs
//!   its access token.
//!
//! The backend is the server's own choice: SQLite in a fresh folder by default, PostgreSQL and
//! Redis when `GATEHOUSE_DATABASE_URL`, `GATEHOUSE_REDIS_URL` and `GATEHOUSE_MASTER_KEY` are set
//! for this command.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::password_sign_in::connection::{admin_token, initiate_for, Connection};
use crate::password_sign_in::{PASSWORD, REDIRECT, VERIFIER};
use crate::WrkResult;
use crate::{http, raw_rsa_sign_rate, status_of, string_at, with_server, wrk, wrk_lua, Load};

const USERINFO: &str = "/oauth2/v1/userinfo";
const INFO: &str = "/info";
const JWKS: &str = "/.well-known/jwks.json";

/// One measured path: its rate, the limit it is compared with, and the goal for the share.
struct Row {
    name: &'static str,
    rate: WrkResult,
    limit: f64,
    limit_name: &'static str,
    goal: f64,
}

pub fn run(server: &Path, reference: &Path, seconds: u64, connections: u32) -> Result<(), String> {
    if !reference.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p gatehouse-bench-reference`",
            reference.display()
        ));
    }
    std::env::set_var(
        "GATEHOUSE_EMBEDDED_AUTH_ORIGINS",
        format!("[\"{}\"]", crate::password_sign_in::ORIGIN),
    );
    std::env::set_var("GATEHOUSE_ENABLE_USER_APP_CONSENT", "false");
    with_server(server, "hot-paths", |_, addr, _| {
        measure(addr, reference, seconds, connections)
    })
}

fn measure(addr: &str, reference: &Path, seconds: u64, connections: u32) -> Result<(), String> {
    let mut connection = Connection::new(addr);
    let root = admin_token(&mut connection)?;
    let client_id = spa(&mut connection, &root)?;
    // One sign-in per connection, each carrying its own chain of rotated refresh tokens, and
    // one more: wrk calls the script's request() once more than it sends.
    let first = user_tokens(&mut connection, &client_id, "bench@example.com", true)?;
    let mut refresh_tokens = vec![first.1];
    for _ in 0..connections {
        refresh_tokens
            .push(user_tokens(&mut connection, &client_id, "bench@example.com", false)?.1);
    }
    let access_token = first.0;
    // One refresh before the load, so a refusal is reported with its reason.
    refresh_tokens[0] = refresh(&mut connection, &client_id, &refresh_tokens[0])?;

    let userinfo = Load::bearer(USERINFO, &access_token);
    let info = Load::bearer(INFO, &root);
    let jwks = Load::bearer(JWKS, "");
    let mut bodies = Vec::new();
    for load in [&userinfo, &info, &jwks] {
        bodies.push((load.path, answer_of(addr, load)?));
    }
    let bare = with_reference(reference, &bodies, |reference_addr| {
        [&userinfo, &info, &jwks]
            .into_iter()
            .map(|load| {
                wrk(
                    reference_addr,
                    seconds,
                    connections,
                    &Load::bearer(load.path, ""),
                )
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let mut measured = Vec::new();
    for load in [&userinfo, &info, &jwks] {
        measured.push(wrk(addr, seconds, connections, load)?);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rsa = raw_rsa_sign_rate(cores, Duration::from_secs(seconds.min(5)));
    let refresh = wrk_lua(
        addr,
        (seconds, connections),
        "/oauth2/v1/token",
        &refresh_lua(&client_id, &refresh_tokens),
    )?;

    let mut measured = measured.into_iter();
    let mut bare = bare.into_iter();
    let mut against_bare = |name, goal| -> Result<Row, String> {
        let limit = bare.next().ok_or("no reference rate")?.requests_per_sec;
        Ok(Row {
            name,
            rate: measured.next().ok_or("no measured rate")?,
            limit,
            limit_name: "bare HTTP",
            goal,
        })
    };
    let rows = [
        against_bare("GET /oauth2/v1/userinfo", 0.5)?,
        against_bare("GET /info (S2S token)", 0.6)?,
        against_bare("GET /.well-known/jwks.json", 0.8)?,
        Row {
            name: "refresh_token grant, rotating",
            rate: refresh,
            // Each refresh signs one token: the access token (a refresh answers without an
            // ID token).
            limit: rsa,
            limit_name: "RSA signing",
            goal: 0.0,
        },
    ];
    let backend = match std::env::var("GATEHOUSE_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => "PostgreSQL + Redis",
        _ => "SQLite + in-process cache",
    };
    println!("hot-paths benchmark ({backend}, {cores} cores, {connections} connections, {seconds} s each)");
    println!("  raw RSA-2048 signing, all cores : {rsa:>10.0} signatures/s");
    let mut failed = 0;
    for row in &rows {
        let share = row.rate.requests_per_sec / row.limit;
        let goal = if row.goal > 0.0 {
            format!("goal >= {:.2}", row.goal)
        } else {
            "reported".to_owned()
        };
        println!(
            "  {:<31} : {:>8.0}/s of {:>8.0}/s ({}) = {share:.2}  ({goal}; p50 {}, p99 {})",
            row.name,
            row.rate.requests_per_sec,
            row.limit,
            row.limit_name,
            row.rate.p50,
            row.rate.p99
        );
        failed += row.rate.non_2xx;
    }
    if failed > 0 {
        return Err(format!("{failed} requests failed during the runs"));
    }
    Ok(())
}

impl Load {
    /// A GET with `token` as its bearer token (none when empty).
    fn bearer(path: &'static str, token: &str) -> Self {
        let headers = if token.is_empty() {
            Vec::new()
        } else {
            vec![("Authorization", format!("Bearer {token}"))]
        };
        Load {
            method: "GET",
            path,
            headers,
            body: String::new(),
        }
    }
}

/// The body of one answer to `load`, which must succeed: the reference serves the same bytes.
fn answer_of(addr: &str, load: &Load) -> Result<Vec<u8>, String> {
    let mut request = format!("GET {} HTTP/1.1\r\nHost: {addr}\r\n", load.path);
    for (name, value) in &load.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let response = http(addr, &request)?;
    if status_of(&response) != 200 {
        return Err(format!("{} answered {response}", load.path));
    }
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok(body.as_bytes().to_vec())
}

/// Starts the reference server answering each path with its body, runs `measure` against its
/// address, and stops it.
fn with_reference<T>(
    binary: &Path,
    bodies: &[(&str, Vec<u8>)],
    measure: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    let folder =
        std::env::temp_dir().join(format!("gatehouse-bench-reference-{}", std::process::id()));
    std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    let mut command = Command::new(binary);
    for (i, (path, body)) in bodies.iter().enumerate() {
        let file = folder.join(format!("{i}.json"));
        std::fs::write(&file, body).map_err(|e| e.to_string())?;
        command.arg(path).arg(file);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let result = reference_addr(&mut child).and_then(|addr| measure(&addr));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&folder);
    result
}

fn reference_addr(child: &mut Child) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    line.trim()
        .strip_prefix("listening ")
        .map(str::to_owned)
        .ok_or(format!("the reference server said {line:?}"))
}

/// A single-page app of the bench's, signing users in through the embedded API.
fn spa(connection: &mut Connection, root: &str) -> Result<String, String> {
    let (_, created) = connection.post_json(
        "/api/v1/apps",
        &format!("Authorization: Bearer {root}\r\n"),
        &serde_json::json!({"name": "bench spa", "type": "spa", "scopes": ["openid", "profile", "offline_access"], "redirectUris": [REDIRECT]}),
    )?;
    string_at(&created, "/app/clientId")
}

/// Signs `email` up (`sign_up`) or in through the embedded API and exchanges the code: the
/// user's access and refresh tokens.
fn user_tokens(
    connection: &mut Connection,
    client_id: &str,
    email: &str,
    sign_up: bool,
) -> Result<(String, String), String> {
    let session = initiate_for(
        connection,
        client_id,
        &["openid", "profile", "offline_access"],
    )?;
    let step = if sign_up { "sign-up" } else { "sign-in" };
    let (status, answer) = connection.post_json(
        &format!("/embedded-auth/v1/{session}/{step}"),
        "",
        &serde_json::json!({"email": email, "password": PASSWORD}),
    )?;
    if status != 200 {
        return Err(format!("{step} answered {status}: {answer}"));
    }
    let (status, tokens) = connection.post_json(
        "/embedded-auth/v1/token-exchange",
        "",
        &serde_json::json!({"sessionId": session, "codeVerifier": VERIFIER}),
    )?;
    if status != 200 {
        return Err(format!("token exchange answered {status}: {tokens}"));
    }
    Ok((
        string_at(&tokens, "/access_token")?,
        string_at(&tokens, "/refresh_token")?,
    ))
}

/// The grant wrk repeats, once: the new refresh token.
fn refresh(connection: &mut Connection, client_id: &str, token: &str) -> Result<String, String> {
    let (status, answer) = connection.post(
        "/oauth2/v1/token",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        &refresh_body(client_id, token),
    )?;
    if status != 200 {
        return Err(format!("refresh answered {status}: {answer}"));
    }
    string_at(&answer, "/refresh_token")
}

fn refresh_body(client_id: &str, token: &str) -> String {
    format!("grant_type=refresh_token&client_id={client_id}&refresh_token={token}")
}

/// A Lua script that refreshes with rotation: each request takes a refresh token from the
/// queue (one per connection at the start, and a spare) and each answer puts the new one back.
fn refresh_lua(client_id: &str, tokens: &[String]) -> String {
    let body = refresh_body(client_id, "");
    let mut lua = String::from("local queue = {\n");
    for token in tokens {
        lua.push_str(&format!("\"{token}\",\n"));
    }
    lua.push_str(&format!(
        r#"}}
request = function()
  -- Never a used token again when the queue runs dry: a reuse revokes its family.
  local token = table.remove(queue, 1) or "none"
  return wrk.format("POST", "/oauth2/v1/token", {{["Content-Type"] = "application/x-www-form-urlencoded"}},
    "{body}" .. token)
end
response = function(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(queue, token) end
end
"#
    ));
    lua
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_script_starts_with_every_token_and_names_the_client() {
        let lua = refresh_lua("spa-1", &["a".into(), "b".into()]);
        assert!(lua.contains("\"a\",\n\"b\",\n}"), "{lua}");
        assert!(lua.contains("client_id=spa-1&refresh_token="), "{lua}");
    }
}
