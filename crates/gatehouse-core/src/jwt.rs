//! JSON Web Tokens as data: building the signing input and reading a compact token back.
//! Signing and verifying the bytes is the server's job; this module never touches a key.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtHeader {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// Claims of an access token. S2S tokens have `sub` = `azp` = the client id and no `roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub azp: String,
    pub aud: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(
        default,
        rename = "impersonatedBy",
        skip_serializing_if = "Option::is_none"
    )]
    pub impersonated_by: Option<String>,
    /// Claims the authorization's `claims` parameter asked for at userinfo (OIDC Core §5.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_claims: Option<Vec<String>>,
    /// The DPoP key the token is bound to (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// A token's confirmation claim (RFC 7800): the thumbprint of the key it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

impl Confirmation {
    pub fn of(thumbprint: &str) -> Self {
        Self {
            jkt: thumbprint.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token signature does not verify")]
    BadSignature,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
}

/// `base64url(header) . base64url(claims)`: the bytes a signature covers.
pub fn signing_input<C: Serialize>(header: &JwtHeader, claims: &C) -> String {
    // Serializing these plain structs cannot fail; an empty object would fail verification anyway.
    let header = serde_json::to_vec(header).unwrap_or_default();
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    let mut out = String::with_capacity((header.len() + claims.len()) * 4 / 3 + 8);
    URL_SAFE_NO_PAD.encode_string(header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut out);
    out
}

/// Appends the signature to a signing input, giving the compact token.
pub fn compact(mut signing_input: String, signature: &[u8]) -> String {
    signing_input.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut signing_input);
    signing_input
}

/// A compact token split into its parts, signature not yet checked.
#[derive(Debug)]
pub struct UnverifiedJwt<'a> {
    pub header: JwtHeader,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
    pub payload: Vec<u8>,
}

pub fn split(token: &str) -> Result<UnverifiedJwt<'_>, JwtError> {
    let last_dot = token.rfind('.').ok_or(JwtError::Malformed)?;
    let signing_input = &token[..last_dot];
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(JwtError::Malformed)?;
    if payload_b64.contains('.') {
        return Err(JwtError::Malformed);
    }
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwtError::Malformed)
    };
    let header: JwtHeader =
        serde_json::from_slice(&decode(header_b64)?).map_err(|_| JwtError::Malformed)?;
    Ok(UnverifiedJwt {
        header,
        signing_input,
        signature: decode(&token[last_dot + 1..])?,
        payload: decode(payload_b64)?,
    })
}

/// Checks the issuer and expiry of verified access-token claims at `now` (unix seconds).
pub fn check_access_token(
    claims: &AccessTokenClaims,
    issuer: &str,
    now: i64,
) -> Result<(), JwtError> {
    if claims.iss != issuer {
        return Err(JwtError::WrongIssuer);
    }
    // This server's own tokens name it as their audience; a resource server's do not.
    if claims.aud != issuer {
        return Err(JwtError::WrongAudience);
    }
    if claims.exp <= now {
        return Err(JwtError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> JwtHeader {
        JwtHeader {
            alg: "RS256".into(),
            typ: Some("JWT".into()),
            kid: Some("abc".into()),
        }
    }

    #[test]
    fn compact_token_splits_back_into_its_parts() {
        let claims = serde_json::json!({"sub": "x", "exp": 10});
        let input = signing_input(&header(), &claims);
        let token = compact(input.clone(), b"sig");
        let parts = split(&token).unwrap();
        assert_eq!(parts.header, header());
        assert_eq!(parts.signing_input, input);
        assert_eq!(parts.signature, b"sig");
        let payload: serde_json::Value = serde_json::from_slice(&parts.payload).unwrap();
        assert_eq!(payload, claims);
    }

    #[test]
    fn split_rejects_garbage() {
        for token in ["", "a", "a.b", "a.b.c.d", "!!.e30.sig", "e30.e30.!!"] {
            assert_eq!(split(token).unwrap_err(), JwtError::Malformed, "{token}");
        }
    }

    #[test]
    fn access_token_checks_issuer_and_expiry() {
        let claims = AccessTokenClaims {
            iss: "https://id.example".into(),
            sub: "c".into(),
            azp: "c".into(),
            aud: "https://id.example".into(),
            scope: "root".into(),
            iat: 100,
            exp: 200,
            jti: "j".into(),
            roles: None,
            impersonated_by: None,
            userinfo_claims: None,
            cnf: None,
        };
        assert_eq!(
            check_access_token(&claims, "https://id.example", 199),
            Ok(())
        );
        assert_eq!(
            check_access_token(&claims, "https://id.example", 200),
            Err(JwtError::Expired)
        );
        assert_eq!(
            check_access_token(&claims, "https://other.example", 150),
            Err(JwtError::WrongIssuer)
        );
    }
}
