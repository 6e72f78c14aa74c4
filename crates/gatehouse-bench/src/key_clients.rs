//! `gatehouse-bench key-clients`: the client-credentials rate when the client authenticates with
//! a signed assertion (`private_key_jwt`, RFC 7523) and when the token is bound to a DPoP key
//! (RFC 9449), each as a share of the plain rate (HTTP Basic, bearer token) measured in the same
//! run. Each assertion and proof is used once, as the server demands: they are signed before the
//! run (ES256), one per request wrk may send, and handed out in turn by its Lua script.

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use crate::{
    base64_standard, basic_header, http, string_at, with_server, wrk, wrk_lua, Load, WrkResult,
    TOKEN_BODY,
};

const TOKEN_PATH: &str = "/oauth2/v1/token";
const ASSERTION_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

pub fn run(server: &Path, seconds: u64, connections: u32) -> Result<(), String> {
    with_server(server, "key-clients", |_, addr, _| {
        measure(addr, seconds, connections)
    })
}

fn base64url(data: &[u8]) -> String {
    base64_standard(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// An ES256 key and its public JWK.
struct Signer {
    key: EcdsaKeyPair,
    jwk: serde_json::Value,
    rng: SystemRandom,
}

impl Signer {
    fn new() -> Result<Self, String> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| "cannot make an ES256 key")?;
        // The uncompressed point: 0x04, then x and y.
        let point = key.public_key().as_ref().to_vec();
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "bench",
            "x": base64url(&point[1..33]), "y": base64url(&point[33..65]),
        });
        Ok(Self {
            key,
            jwk,
            rng: SystemRandom::new(),
        })
    }

    fn sign(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, String> {
        let input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let signature = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| "ES256 signing failed")?;
        Ok(format!("{input}.{}", base64url(signature.as_ref())))
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn measure(addr: &str, seconds: u64, connections: u32) -> Result<(), String> {
    let discovery = http(
        addr,
        &format!("GET /.well-known/openid-configuration HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )?;
    let issuer = string_at(body_of(&discovery), "/issuer")?;
    let root = string_at(&post(addr, TOKEN_PATH, TOKEN_BODY, &[])?, "/access_token")?;
    let signer = Signer::new()?;
    let client_id = keyed_app(addr, &root, &signer.jwk)?;

    let plain = wrk(
        addr,
        seconds,
        connections,
        &Load::app_form(TOKEN_PATH, TOKEN_BODY.into()),
    )?;
    // Enough single-use credentials for a run at up to twice the plain rate.
    let count = (plain.requests_per_sec * seconds as f64 * 2.0) as usize + 1000;

    let assertions = (0..count)
        .map(|i| {
            let claims = serde_json::json!({
                "iss": client_id, "sub": client_id, "aud": issuer,
                "exp": now() + 600, "jti": format!("bench-{i}"),
            });
            signer.sign(
                &serde_json::json!({"alg": "ES256", "kid": "bench"}),
                &claims,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bodies: Vec<String> = assertions
        .iter()
        .map(|a| {
            format!("{TOKEN_BODY}&client_assertion_type={ASSERTION_TYPE}&client_assertion={a}")
        })
        .collect();
    let assertion_rate = wrk_lua(
        addr,
        (seconds, connections),
        TOKEN_PATH,
        &rotating_lua(&bodies, None),
    )?;

    let dpop_key = Signer::new()?;
    let htu = format!("{issuer}{TOKEN_PATH}");
    let proof = |jti: &str, nonce: Option<&str>| {
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": dpop_key.jwk});
        let mut claims = serde_json::json!({"htm": "POST", "htu": htu, "iat": now(), "jti": jti});
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        dpop_key.sign(&header, &claims)
    };
    let nonce = server_nonce(addr, &proof("bench-nonce", None)?)?;
    let proofs = (0..count)
        .map(|i| proof(&format!("bench-{i}"), Some(&nonce)))
        .collect::<Result<Vec<_>, _>>()?;
    let dpop_rate = wrk_lua(
        addr,
        (seconds, connections),
        TOKEN_PATH,
        &rotating_lua(&proofs, Some(&basic_header())),
    )?;

    println!(
        "key-clients benchmark (client credentials, {connections} connections, {seconds} s each)"
    );
    report("HTTP Basic, bearer token", &plain);
    report("private_key_jwt (ES256)", &assertion_rate);
    report("HTTP Basic + DPoP proof (ES256)", &dpop_rate);
    println!(
        "  private_key_jwt / plain         : {:>10.1} %",
        assertion_rate.requests_per_sec / plain.requests_per_sec * 100.0
    );
    println!(
        "  DPoP / plain                    : {:>10.1} %",
        dpop_rate.requests_per_sec / plain.requests_per_sec * 100.0
    );
    let failed = plain.non_2xx + assertion_rate.non_2xx + dpop_rate.non_2xx;
    if failed > 0 {
        return Err(format!("{failed} requests failed during the runs"));
    }
    Ok(())
}

/// A Lua script that sends each of `items` once, in turn: as the form's assertion, or (with
/// `basic`, the bench app's Authorization header) as the DPoP proof of a plain request.
fn rotating_lua(items: &[String], basic: Option<&str>) -> String {
    let mut lua = String::from("local items = {\n");
    for item in items {
        lua.push_str(&format!("\"{item}\",\n"));
    }
    lua.push_str("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  local item = items[i]\n");
    match basic {
        None => lua.push_str(&format!(
            "  return wrk.format(\"POST\", \"{TOKEN_PATH}\", {{[\"Content-Type\"] = \"application/x-www-form-urlencoded\"}}, item)\n"
        )),
        Some(basic) => lua.push_str(&format!(
            "  return wrk.format(\"POST\", \"{TOKEN_PATH}\", {{[\"Content-Type\"] = \"application/x-www-form-urlencoded\", [\"Authorization\"] = \"{basic}\", [\"DPoP\"] = item}}, \"{TOKEN_BODY}\")\n"
        )),
    }
    lua.push_str("end\n");
    lua
}

fn report(name: &str, result: &WrkResult) {
    println!(
        "  {name:<31} : {:>10.0} tokens/s  (p50 {}, p99 {})",
        result.requests_per_sec, result.p50, result.p99
    );
}

fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// A POST with the bench app's HTTP Basic and `extra` headers; the whole response.
fn post(addr: &str, path: &str, body: &str, extra: &[(&str, &str)]) -> Result<String, String> {
    let mut headers = String::new();
    for (name, value) in extra {
        headers.push_str(&format!("{name}: {value}\r\n"));
    }
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        basic_header(),
        body.len()
    );
    let response = http(addr, &request)?;
    Ok(body_of(&response).to_owned())
}

/// An S2S app holding `root` whose clients authenticate with `jwk`'s private half.
fn keyed_app(addr: &str, root: &str, jwk: &serde_json::Value) -> Result<String, String> {
    let send = |method: &str, path: &str, body: &serde_json::Value| {
        let body = body.to_string();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {root}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        http(addr, &request).map(|r| body_of(&r).to_owned())
    };
    let created = send(
        "POST",
        "/api/v1/apps",
        &serde_json::json!({"name": "bench keyed", "type": "s2s", "scopes": ["root"], "redirectUris": []}),
    )?;
    let id = serde_json::from_str::<serde_json::Value>(&created)
        .ok()
        .and_then(|v| v.pointer("/app/id").and_then(serde_json::Value::as_i64))
        .ok_or(format!("no app id in {created}"))?;
    let client_id = string_at(&created, "/app/clientId")?;
    let changed = send(
        "PUT",
        &format!("/api/v1/apps/{id}"),
        &serde_json::json!({"tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]}}),
    )?;
    if !changed.contains("private_key_jwt") {
        return Err(format!("the app did not take its key: {changed}"));
    }
    Ok(client_id)
}

/// The nonce the server hands out (`DPoP-Nonce`) in answer to a proof without one.
fn server_nonce(addr: &str, proof: &str) -> Result<String, String> {
    let request = format!(
        "POST {TOKEN_PATH} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nDPoP: {proof}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{TOKEN_BODY}",
        basic_header(),
        TOKEN_BODY.len()
    );
    let response = http(addr, &request)?;
    response
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("dpop-nonce")
                .then(|| value.trim().to_owned())
        })
        .ok_or(format!("no DPoP-Nonce in {response}"))
}
