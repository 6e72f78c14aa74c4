//! WebAuthn (passkeys) without I/O or cryptography: the CBOR the authenticator writes, the
//! authenticator data, the COSE public key, and the checks on the client data. The server
//! verifies signatures with the key this module extracts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebauthnError {
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("the challenge does not match")]
    Challenge,
    #[error("the origin {0} is not allowed")]
    Origin(String),
    #[error("the ceremony type is wrong")]
    Type,
    #[error("the relying party id does not match")]
    RpId,
    #[error("the user was not present")]
    UserPresence,
    #[error("the public key algorithm is not supported")]
    Algorithm,
}

/// A CBOR value: the subset authenticators write (RFC 8949 major types 0–5 and 7).
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor {
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Bool(bool),
    Null,
}

impl Cbor {
    pub fn get(&self, key: &Cbor) -> Option<&Cbor> {
        match self {
            Cbor::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_text(&self, key: &str) -> Option<&Cbor> {
        self.get(&Cbor::Text(key.to_owned()))
    }

    fn get_int(&self, key: i128) -> Option<&Cbor> {
        self.get(&Cbor::Int(key))
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Cbor::Bytes(b) => Some(b),
            _ => None,
        }
    }

    fn int(&self) -> Option<i128> {
        match self {
            Cbor::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Decodes one CBOR item from the front of `input`; returns it and the bytes after it.
pub fn decode_cbor(input: &[u8]) -> Result<(Cbor, &[u8]), WebauthnError> {
    decode_at(input, 0)
}

fn decode_at(input: &[u8], depth: usize) -> Result<(Cbor, &[u8]), WebauthnError> {
    const BAD: WebauthnError = WebauthnError::Malformed("CBOR");
    if depth > 16 {
        return Err(BAD);
    }
    let (&first, rest) = input.split_first().ok_or(BAD)?;
    let major = first >> 5;
    let info = first & 0x1f;
    let (arg, mut rest) = match info {
        0..=23 => (u64::from(info), rest),
        24 => (u64::from(*rest.first().ok_or(BAD)?), &rest[1..]),
        25 => {
            let b: [u8; 2] = rest.get(..2).ok_or(BAD)?.try_into().map_err(|_| BAD)?;
            (u64::from(u16::from_be_bytes(b)), &rest[2..])
        }
        26 => {
            let b: [u8; 4] = rest.get(..4).ok_or(BAD)?.try_into().map_err(|_| BAD)?;
            (u64::from(u32::from_be_bytes(b)), &rest[4..])
        }
        27 => {
            let b: [u8; 8] = rest.get(..8).ok_or(BAD)?.try_into().map_err(|_| BAD)?;
            (u64::from_be_bytes(b), &rest[8..])
        }
        _ => return Err(BAD),
    };
    let len = usize::try_from(arg).map_err(|_| BAD)?;
    Ok(match major {
        0 => (Cbor::Int(i128::from(arg)), rest),
        1 => (Cbor::Int(-1 - i128::from(arg)), rest),
        2 => {
            let bytes = rest.get(..len).ok_or(BAD)?.to_vec();
            (Cbor::Bytes(bytes), &rest[len..])
        }
        3 => {
            let text = std::str::from_utf8(rest.get(..len).ok_or(BAD)?).map_err(|_| BAD)?;
            (Cbor::Text(text.to_owned()), &rest[len..])
        }
        4 => {
            if len > rest.len() {
                return Err(BAD);
            }
            let mut items = Vec::with_capacity(len);
            for _ in 0..len {
                let (item, after) = decode_at(rest, depth + 1)?;
                items.push(item);
                rest = after;
            }
            (Cbor::Array(items), rest)
        }
        5 => {
            if len > rest.len() {
                return Err(BAD);
            }
            let mut entries = Vec::with_capacity(len);
            for _ in 0..len {
                let (key, after) = decode_at(rest, depth + 1)?;
                let (value, after) = decode_at(after, depth + 1)?;
                entries.push((key, value));
                rest = after;
            }
            (Cbor::Map(entries), rest)
        }
        7 => match info {
            20 => (Cbor::Bool(false), rest),
            21 => (Cbor::Bool(true), rest),
            22 | 23 => (Cbor::Null, rest),
            _ => return Err(BAD),
        },
        _ => return Err(BAD),
    })
}

/// A credential public key (from its COSE form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// ES256: the uncompressed P-256 point `04 ‖ x ‖ y`.
    Es256(Vec<u8>),
    /// RS256: modulus and exponent.
    Rs256 { n: Vec<u8>, e: Vec<u8> },
    /// EdDSA with Ed25519: the 32-byte key.
    Ed25519(Vec<u8>),
}

impl PublicKey {
    /// A self-describing text form for storage: `es256:<b64>`, `rs256:<n>.<e>`, `ed25519:<b64>`.
    pub fn to_stored(&self) -> String {
        match self {
            PublicKey::Es256(point) => format!("es256:{}", URL_SAFE_NO_PAD.encode(point)),
            PublicKey::Rs256 { n, e } => format!(
                "rs256:{}.{}",
                URL_SAFE_NO_PAD.encode(n),
                URL_SAFE_NO_PAD.encode(e)
            ),
            PublicKey::Ed25519(key) => format!("ed25519:{}", URL_SAFE_NO_PAD.encode(key)),
        }
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(':')?;
        let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).ok();
        match kind {
            "es256" => Some(PublicKey::Es256(b64(rest)?)),
            "rs256" => {
                let (n, e) = rest.split_once('.')?;
                Some(PublicKey::Rs256 {
                    n: b64(n)?,
                    e: b64(e)?,
                })
            }
            "ed25519" => Some(PublicKey::Ed25519(b64(rest)?)),
            _ => None,
        }
    }
}

/// A credential public key from its COSE encoding, as other WebAuthn servers store it.
pub fn public_key_from_cose(bytes: &[u8]) -> Result<PublicKey, WebauthnError> {
    let (key, _) = decode_cbor(bytes)?;
    cose_key(&key)
}

fn cose_key(key: &Cbor) -> Result<PublicKey, WebauthnError> {
    const BAD: WebauthnError = WebauthnError::Malformed("credential public key");
    let kty = key.get_int(1).and_then(Cbor::int).ok_or(BAD)?;
    let alg = key.get_int(3).and_then(Cbor::int).ok_or(BAD)?;
    match (kty, alg) {
        (2, -7) => {
            let x = key.get_int(-2).and_then(Cbor::bytes).ok_or(BAD)?;
            let y = key.get_int(-3).and_then(Cbor::bytes).ok_or(BAD)?;
            if x.len() != 32 || y.len() != 32 {
                return Err(BAD);
            }
            let mut point = vec![4u8];
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            Ok(PublicKey::Es256(point))
        }
        (3, -257) => {
            let n = key.get_int(-1).and_then(Cbor::bytes).ok_or(BAD)?;
            let e = key.get_int(-2).and_then(Cbor::bytes).ok_or(BAD)?;
            Ok(PublicKey::Rs256 {
                n: n.to_vec(),
                e: e.to_vec(),
            })
        }
        (1, -8) => {
            let x = key.get_int(-2).and_then(Cbor::bytes).ok_or(BAD)?;
            if x.len() != 32 {
                return Err(BAD);
            }
            Ok(PublicKey::Ed25519(x.to_vec()))
        }
        _ => Err(WebauthnError::Algorithm),
    }
}

/// The parts of the authenticator data the server checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData {
    pub rp_id_hash: [u8; 32],
    pub user_present: bool,
    pub user_verified: bool,
    pub sign_count: u32,
    /// Present at registration: the new credential's id and public key.
    pub credential: Option<(Vec<u8>, PublicKey)>,
}

pub fn parse_authenticator_data(data: &[u8]) -> Result<AuthenticatorData, WebauthnError> {
    const BAD: WebauthnError = WebauthnError::Malformed("authenticator data");
    if data.len() < 37 {
        return Err(BAD);
    }
    let rp_id_hash: [u8; 32] = data[..32].try_into().map_err(|_| BAD)?;
    let flags = data[32];
    let sign_count = u32::from_be_bytes(data[33..37].try_into().map_err(|_| BAD)?);
    let credential = if flags & 0x40 != 0 {
        let rest = &data[37..];
        let len = usize::from(u16::from_be_bytes(
            rest.get(16..18).ok_or(BAD)?.try_into().map_err(|_| BAD)?,
        ));
        let id = rest.get(18..18 + len).ok_or(BAD)?.to_vec();
        let (key, _) = decode_cbor(rest.get(18 + len..).ok_or(BAD)?)?;
        Some((id, cose_key(&key)?))
    } else {
        None
    };
    Ok(AuthenticatorData {
        rp_id_hash,
        user_present: flags & 0x01 != 0,
        user_verified: flags & 0x04 != 0,
        sign_count,
        credential,
    })
}

/// The authenticator data inside a registration's attestation object. The attestation
/// statement itself is not checked (Gatehouse asks for `attestation: "none"`).
pub fn attested_data(attestation_object: &[u8]) -> Result<AuthenticatorData, WebauthnError> {
    let (object, _) = decode_cbor(attestation_object)?;
    let auth_data = object
        .get_text("authData")
        .and_then(Cbor::bytes)
        .ok_or(WebauthnError::Malformed("attestation object"))?;
    parse_authenticator_data(auth_data)
}

/// What a ceremony's client data must say.
pub struct Expected<'a> {
    /// `webauthn.create` or `webauthn.get`.
    pub kind: &'a str,
    /// The challenge as sent (base64url).
    pub challenge: &'a str,
    pub origins: &'a [String],
    pub rp_id: &'a str,
}

/// Checks the client data JSON (type, challenge, origin) and the authenticator data (RP id,
/// user presence).
pub fn check_ceremony(
    client_data_json: &[u8],
    auth: &AuthenticatorData,
    expected: &Expected<'_>,
) -> Result<(), WebauthnError> {
    let data: serde_json::Value = serde_json::from_slice(client_data_json)
        .map_err(|_| WebauthnError::Malformed("client data"))?;
    if data["type"].as_str() != Some(expected.kind) {
        return Err(WebauthnError::Type);
    }
    if data["challenge"].as_str() != Some(expected.challenge) {
        return Err(WebauthnError::Challenge);
    }
    let origin = data["origin"].as_str().unwrap_or_default();
    if !expected
        .origins
        .iter()
        .any(|o| o.trim_end_matches('/') == origin)
    {
        return Err(WebauthnError::Origin(origin.to_owned()));
    }
    let rp_hash: [u8; 32] = Sha256::digest(expected.rp_id.as_bytes()).into();
    if auth.rp_id_hash != rp_hash {
        return Err(WebauthnError::RpId);
    }
    if !auth.user_present {
        return Err(WebauthnError::UserPresence);
    }
    Ok(())
}

/// The bytes an assertion signs: authenticator data ‖ SHA-256(client data JSON).
pub fn signed_bytes(authenticator_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
    let mut message = authenticator_data.to_vec();
    message.extend_from_slice(&Sha256::digest(client_data_json));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_decodes_maps_negative_ints_and_bytes() {
        // {1: 2, 3: -7, -2: h'0102'}
        let bytes = [0xa3, 0x01, 0x02, 0x03, 0x26, 0x21, 0x42, 0x01, 0x02];
        let (value, rest) = decode_cbor(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(value.get_int(3), Some(&Cbor::Int(-7)));
        assert_eq!(value.get_int(-2), Some(&Cbor::Bytes(vec![1, 2])));
        assert!(
            decode_cbor(&[0x5a, 0xff, 0xff, 0xff, 0xff]).is_err(),
            "length past the end"
        );
        assert!(decode_cbor(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn authenticator_data_with_an_es256_credential() {
        let mut key = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        key.extend([7u8; 32]);
        key.extend([0x22, 0x58, 0x20]);
        key.extend([9u8; 32]);
        let mut data = Sha256::digest(b"example.com").to_vec();
        data.push(0x45); // UP, UV, AT
        data.extend(5u32.to_be_bytes());
        data.extend([0u8; 16]);
        data.extend(3u16.to_be_bytes());
        data.extend([1, 2, 3]);
        data.extend(&key);
        let parsed = parse_authenticator_data(&data).unwrap();
        assert!(parsed.user_present && parsed.user_verified);
        assert_eq!(parsed.sign_count, 5);
        let (id, key) = parsed.credential.clone().unwrap();
        assert_eq!(id, vec![1, 2, 3]);
        assert_eq!(PublicKey::from_stored(&key.to_stored()), Some(key.clone()));
        let PublicKey::Es256(point) = key else {
            panic!("not ES256")
        };
        assert_eq!((point[0], point[1], point[33]), (4, 7, 9));

        let client = br#"{"type":"webauthn.get","challenge":"abc","origin":"https://example.com"}"#;
        let origins = vec!["https://example.com".to_owned()];
        let expected = |kind, challenge| Expected {
            kind,
            challenge,
            origins: &origins,
            rp_id: "example.com",
        };
        assert_eq!(
            check_ceremony(client, &parsed, &expected("webauthn.get", "abc")),
            Ok(())
        );
        assert_eq!(
            check_ceremony(client, &parsed, &expected("webauthn.create", "abc")),
            Err(WebauthnError::Type)
        );
        assert_eq!(
            check_ceremony(client, &parsed, &expected("webauthn.get", "abd")),
            Err(WebauthnError::Challenge)
        );
    }
}
