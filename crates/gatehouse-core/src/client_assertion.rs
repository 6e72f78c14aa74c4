//! Client authentication with a signed JWT, `private_key_jwt` (RFC 7523 §2.2 and §3, RFC 7521
//! §4.2, with the audience rule of RFC 7523bis): which client an assertion names, and whether
//! its claims hold. Verifying the signature, the app's keys and the replay cache are the server's.

use serde::Deserialize;

use crate::federation::Audience;
use crate::jwt::UnverifiedJwt;

/// The only `client_assertion_type` there is.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest an assertion may stay valid: it bounds how long its `jti` is remembered. An
/// hour, as common client libraries (Authlib) make them.
pub const MAX_LIFETIME: i64 = 3600;
/// Seconds of clock difference tolerated between the client and us.
pub const CLOCK_LEEWAY: i64 = 30;

/// Why an assertion was refused, in words the client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAssertionError {
    #[error("client_assertion_type must be {ASSERTION_TYPE}")]
    WrongType,
    #[error("client_assertion is not a signed JWT with iss, sub, aud, exp and jti")]
    Malformed,
    #[error("client_assertion must have iss and sub both equal to the client_id")]
    WrongSubject,
    #[error("client_assertion's aud must be this server's issuer identifier, and only it")]
    WrongAudience,
    #[error("client_assertion has expired")]
    Expired,
    #[error(
        "client_assertion is valid for too long: exp may be at most {MAX_LIFETIME} seconds away"
    )]
    TooLong,
    #[error("client_assertion is not valid yet (nbf or iat in the future)")]
    NotYetValid,
    #[error("client_assertion was already used: make a new one, with a new jti, for each request")]
    Replayed,
    #[error("client_assertion is signed with `{0}`; RS256, PS256, ES256 and EdDSA are accepted")]
    UnsupportedAlgorithm(String),
    #[error("client_assertion is not signed by a key the app has registered")]
    BadSignature,
    #[error(
        "client_assertion is not an HS256, HS384 or HS512 JWT made with the app's client secret"
    )]
    BadSecretSignature,
    #[error("The app has no keys to check a client_assertion: register jwks or jwks_uri")]
    NoKeys,
    #[error("The app's jwks_uri could not be read")]
    KeysUnavailable,
    #[error("This app authenticates with a client_assertion only (private_key_jwt or client_secret_jwt)")]
    AssertionRequired,
    #[error("This app does not authenticate with a client_assertion: use its client secret")]
    AssertionNotAllowed,
}

/// The claims RFC 7523 §3 requires (and the optional dates it checks).
#[derive(Debug, Clone, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub jti: String,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nbf: Option<i64>,
}

/// The claims of an assertion, read before its signature is checked: they name the client
/// whose keys check it.
pub fn read_claims(jwt: &UnverifiedJwt<'_>) -> Result<AssertionClaims, ClientAssertionError> {
    let claims: AssertionClaims =
        serde_json::from_slice(&jwt.payload).map_err(|_| ClientAssertionError::Malformed)?;
    if claims.jti.is_empty() || claims.sub.is_empty() {
        return Err(ClientAssertionError::Malformed);
    }
    if claims.iss != claims.sub {
        return Err(ClientAssertionError::WrongSubject);
    }
    Ok(claims)
}

/// Whether the claims hold for `client_id` at `now`. `audiences` are the values this server
/// answers to: its issuer identifier first and, for clients of RFC 7523 before bis, the URL of
/// the endpoint the assertion was sent to. A list naming anyone else is refused (RFC 7523bis:
/// an assertion for two parties can be replayed by one at the other).
pub fn check_claims(
    claims: &AssertionClaims,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<(), ClientAssertionError> {
    if claims.sub != client_id || claims.iss != client_id {
        return Err(ClientAssertionError::WrongSubject);
    }
    let aud_ok = match &claims.aud {
        Audience::One(aud) => audiences.contains(&aud.as_str()),
        Audience::Many(list) => list.len() == 1 && audiences.contains(&list[0].as_str()),
    };
    if !aud_ok {
        return Err(ClientAssertionError::WrongAudience);
    }
    if claims.exp <= now - CLOCK_LEEWAY {
        return Err(ClientAssertionError::Expired);
    }
    if claims.exp > now + MAX_LIFETIME + CLOCK_LEEWAY {
        return Err(ClientAssertionError::TooLong);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t > now + CLOCK_LEEWAY);
    if future(claims.nbf) || future(claims.iat) {
        return Err(ClientAssertionError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";
    const TOKEN_URL: &str = "https://id.example/oauth2/v1/token";

    fn claims(aud: serde_json::Value, exp: i64) -> AssertionClaims {
        serde_json::from_value(serde_json::json!({
            "iss": "app", "sub": "app", "aud": aud, "exp": exp, "jti": "j1", "iat": 1000
        }))
        .unwrap()
    }

    #[test]
    fn an_assertion_for_this_server_holds() {
        let audiences = [ISSUER, TOKEN_URL];
        assert_eq!(
            check_claims(&claims(ISSUER.into(), 1100), "app", &audiences, 1000),
            Ok(())
        );
        assert_eq!(
            check_claims(&claims(TOKEN_URL.into(), 1100), "app", &audiences, 1000),
            Ok(())
        );
        assert_eq!(
            check_claims(
                &claims(serde_json::json!([ISSUER]), 1100),
                "app",
                &audiences,
                1000
            ),
            Ok(())
        );
    }

    #[test]
    fn another_audience_or_a_shared_one_is_refused() {
        let audiences = [ISSUER, TOKEN_URL];
        for aud in [
            serde_json::json!("https://other.example"),
            serde_json::json!("https://id.example/oauth2/v1/introspect"),
            serde_json::json!([ISSUER, "https://other.example"]),
            serde_json::json!([]),
        ] {
            assert_eq!(
                check_claims(&claims(aud.clone(), 1100), "app", &audiences, 1000),
                Err(ClientAssertionError::WrongAudience),
                "{aud}"
            );
        }
    }

    #[test]
    fn dates_bound_the_assertion() {
        let audiences = [ISSUER];
        let at = |exp, now| check_claims(&claims(ISSUER.into(), exp), "app", &audiences, now);
        assert_eq!(
            at(1000, 1000 + CLOCK_LEEWAY),
            Err(ClientAssertionError::Expired)
        );
        assert_eq!(
            at(1000 + MAX_LIFETIME + CLOCK_LEEWAY + 1, 1000),
            Err(ClientAssertionError::TooLong)
        );
        assert_eq!(
            at(1000 + 200, 1000 - CLOCK_LEEWAY - 1),
            Err(ClientAssertionError::NotYetValid)
        );
    }

    #[test]
    fn the_subject_must_be_the_client() {
        let audiences = [ISSUER];
        assert_eq!(
            check_claims(&claims(ISSUER.into(), 1100), "other", &audiences, 1000),
            Err(ClientAssertionError::WrongSubject)
        );
        let jwt = |payload: serde_json::Value| UnverifiedJwt {
            header: crate::jwt::JwtHeader {
                alg: "ES256".into(),
                typ: None,
                kid: None,
            },
            signing_input: "",
            signature: Vec::new(),
            payload: serde_json::to_vec(&payload).unwrap(),
        };
        let base = serde_json::json!({"iss": "a", "sub": "b", "aud": ISSUER, "exp": 1, "jti": "j"});
        assert_eq!(
            read_claims(&jwt(base)).unwrap_err(),
            ClientAssertionError::WrongSubject
        );
        let no_jti = serde_json::json!({"iss": "a", "sub": "a", "aud": ISSUER, "exp": 1});
        assert_eq!(
            read_claims(&jwt(no_jti)).unwrap_err(),
            ClientAssertionError::Malformed
        );
    }
}
