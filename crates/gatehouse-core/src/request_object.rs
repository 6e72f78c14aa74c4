//! Signed authorization requests, JAR (RFC 9101): the rules on a request object's header and
//! claims, and the authorization parameters it carries. Verifying the signature with the app's
//! keys is the server's.

use serde_json::{Map, Value};

use crate::federation::Audience;
use crate::par::Pairs;

/// The `typ` RFC 9101 §10.8 registers; plain JWTs and an absent `typ` are taken too.
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";
/// The longest a request object may be valid for.
pub const MAX_LIFETIME: i64 = 3600;
pub const CLOCK_LEEWAY: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestObjectError {
    #[error("request is not a signed JWT whose claims are the authorization request")]
    Malformed,
    #[error("request objects are taken by value only (request), or through /oauth2/v1/par")]
    ByReference,
    #[error("A request object needs client_id in the query too, naming the app that signed it")]
    MissingClientId,
    #[error("The request object's iss (and client_id) must be the client_id of the request")]
    WrongIssuer,
    #[error("The request object's aud must be this server's issuer identifier")]
    WrongAudience,
    #[error("The request object has expired, or has no exp")]
    Expired,
    #[error("The request object is valid for too long: exp may be at most 3600 seconds away")]
    TooLong,
    #[error("The request object is not valid yet (nbf in the future)")]
    NotYetValid,
    #[error("The request object must be signed with {0}, as the app registered")]
    WrongAlgorithm(String),
    #[error("The request object is not signed by a key the app has registered")]
    BadSignature,
    #[error("The app has no keys to check a request object: register jwks or jwksUri")]
    NoKeys,
    #[error("A request object may not hold request or request_uri")]
    Nested,
}

/// Whether a header's `typ` is one a request object may carry.
pub fn typ_allowed(typ: Option<&str>) -> bool {
    typ.is_none_or(|t| t.eq_ignore_ascii_case(REQUEST_OBJECT_TYP) || t.eq_ignore_ascii_case("JWT"))
}

/// The authorization parameters of a verified request object for `client_id`, checked at `now`:
/// `iss` and any `client_id` are the client, `aud` names this server, `exp` is present and near.
/// Claims that are not strings (`max_age`, `claims`) become their JSON text, as a query holds them.
pub fn parameters(
    claims: Map<String, Value>,
    client_id: &str,
    issuer: &str,
    now: i64,
) -> Result<Pairs, RequestObjectError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) || text("client_id").is_some_and(|c| c != client_id) {
        return Err(RequestObjectError::WrongIssuer);
    }
    let audience: Audience = claims
        .get("aud")
        .cloned()
        .and_then(|aud| serde_json::from_value(aud).ok())
        .ok_or(RequestObjectError::WrongAudience)?;
    let ours = match &audience {
        Audience::One(aud) => aud == issuer,
        Audience::Many(list) => list.iter().any(|aud| aud == issuer),
    };
    if !ours {
        return Err(RequestObjectError::WrongAudience);
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    let exp = time("exp").ok_or(RequestObjectError::Expired)?;
    if exp <= now - CLOCK_LEEWAY {
        return Err(RequestObjectError::Expired);
    }
    if exp > now + MAX_LIFETIME + CLOCK_LEEWAY {
        return Err(RequestObjectError::TooLong);
    }
    if time("nbf").is_some_and(|nbf| nbf > now + CLOCK_LEEWAY) {
        return Err(RequestObjectError::NotYetValid);
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(RequestObjectError::Nested);
    }
    const ENVELOPE: [&str; 6] = ["iss", "aud", "exp", "iat", "nbf", "jti"];
    let mut pairs: Pairs = claims
        .into_iter()
        .filter(|(name, _)| !ENVELOPE.contains(&name.as_str()))
        .map(|(name, value)| {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (name, value)
        })
        .collect();
    if !pairs.iter().any(|(name, _)| name == "client_id") {
        pairs.push(("client_id".into(), client_id.to_owned()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = serde_json::json!({
            "iss": "app", "aud": ISSUER, "exp": 1060, "iat": 1000, "nbf": 1000, "jti": "j",
            "client_id": "app", "response_type": "code", "scope": "openid",
            "max_age": 300, "claims": {"id_token": {"acr": null}},
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        base.as_object().unwrap().clone()
    }

    #[test]
    fn the_claims_become_the_request() {
        let pairs = parameters(claims(Value::Null), "app", ISSUER, 1000).unwrap();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("scope"), Some("openid"));
        assert_eq!(get("max_age"), Some("300"));
        assert_eq!(get("claims"), Some(r#"{"id_token":{"acr":null}}"#));
        assert_eq!(get("client_id"), Some("app"));
        assert_eq!(get("iss"), None);
        assert_eq!(get("jti"), None);
    }

    #[test]
    fn the_envelope_must_hold() {
        let check = |extra: Value, now: i64| parameters(claims(extra), "app", ISSUER, now);
        assert_eq!(
            check(serde_json::json!({"iss": "other"}), 1000),
            Err(RequestObjectError::WrongIssuer)
        );
        assert_eq!(
            check(serde_json::json!({"client_id": "other"}), 1000),
            Err(RequestObjectError::WrongIssuer)
        );
        assert_eq!(
            check(serde_json::json!({"aud": "https://other.example"}), 1000),
            Err(RequestObjectError::WrongAudience)
        );
        assert_eq!(
            check(serde_json::json!({"aud": [ISSUER, "x"]}), 1000).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            check(Value::Null, 1060 + CLOCK_LEEWAY),
            Err(RequestObjectError::Expired)
        );
        assert_eq!(
            check(serde_json::json!({"exp": 9999}), 1000),
            Err(RequestObjectError::TooLong)
        );
        assert_eq!(
            check(serde_json::json!({"nbf": 2000}), 1000),
            Err(RequestObjectError::NotYetValid)
        );
        assert_eq!(
            check(serde_json::json!({"request_uri": "x"}), 1000),
            Err(RequestObjectError::Nested)
        );
        let mut no_exp = claims(Value::Null);
        no_exp.remove("exp");
        assert_eq!(
            parameters(no_exp, "app", ISSUER, 1000),
            Err(RequestObjectError::Expired)
        );
        assert!(
            typ_allowed(None)
                && typ_allowed(Some("oauth-authz-req+jwt"))
                && !typ_allowed(Some("dpop+jwt"))
        );
    }
}
