//! WebAuthn (passkeys) without I/O or cryptography: the CBOR the authenticator writes (read by
//! `ciborium`), the authenticator data, the COSE public key (read by `coset`), and the checks on
//! the client data. The server verifies signatures with the key this module extracts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value;
use coset::{iana, Algorithm, AsCborValue, CoseKey, KeyType, Label};
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

/// How deeply arrays and maps may nest in what an authenticator sends: a COSE key nests one
/// level, an attestation object two; the limit keeps hostile input from exhausting the stack.
const MAX_CBOR_DEPTH: usize = 16;

/// Decodes one CBOR item from the front of `input` (nested at most [`MAX_CBOR_DEPTH`] deep);
/// returns it and the bytes after it, which authenticator data uses for its extensions.
/// Tagged items are refused: CTAP2's canonical form has none, and the decoder reads some tags
/// (bignums) into plain values, so a tagged item would not mean one thing.
pub fn decode_cbor(input: &[u8]) -> Result<(Value, &[u8]), WebauthnError> {
    let mut rest = input;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_CBOR_DEPTH)
        .map_err(|_| WebauthnError::Malformed("CBOR"))?;
    if has_tag(&value) {
        return Err(WebauthnError::Malformed("CBOR"));
    }
    Ok((value, rest))
}

/// Whether a tag appears anywhere in `value` (bounded by the decoder's nesting limit).
fn has_tag(value: &Value) -> bool {
    match value {
        Value::Tag(..) => true,
        Value::Array(items) => items.iter().any(has_tag),
        Value::Map(entries) => entries.iter().any(|(k, v)| has_tag(k) || has_tag(v)),
        _ => false,
    }
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
    cose_key(key)
}

/// The key of an ES256, RS256 or EdDSA (Ed25519) COSE key; any other algorithm is refused.
fn cose_key(value: Value) -> Result<PublicKey, WebauthnError> {
    const BAD: WebauthnError = WebauthnError::Malformed("credential public key");
    let key = CoseKey::from_cbor_value(value).map_err(|_| BAD)?;
    let param = |label: i64| {
        key.params
            .iter()
            .find(|(l, _)| *l == Label::Int(label))
            .and_then(|(_, v)| v.as_bytes())
            .ok_or(BAD)
    };
    let (KeyType::Assigned(kty), Some(Algorithm::Assigned(alg))) = (&key.kty, &key.alg) else {
        return Err(BAD);
    };
    match (kty, alg) {
        (iana::KeyType::EC2, iana::Algorithm::ES256) => {
            let x = param(iana::Ec2KeyParameter::X as i64)?;
            let y = param(iana::Ec2KeyParameter::Y as i64)?;
            if x.len() != 32 || y.len() != 32 {
                return Err(BAD);
            }
            let mut point = Vec::with_capacity(65);
            point.push(4u8);
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            Ok(PublicKey::Es256(point))
        }
        (iana::KeyType::RSA, iana::Algorithm::RS256) => Ok(PublicKey::Rs256 {
            n: param(iana::RsaKeyParameter::N as i64)?.clone(),
            e: param(iana::RsaKeyParameter::E as i64)?.clone(),
        }),
        (iana::KeyType::OKP, iana::Algorithm::EdDSA) => {
            let x = param(iana::OkpKeyParameter::X as i64)?;
            if x.len() != 32 {
                return Err(BAD);
            }
            Ok(PublicKey::Ed25519(x.clone()))
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
        Some((id, cose_key(key)?))
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
        .as_map()
        .and_then(|entries| {
            entries
                .iter()
                .find(|(key, _)| key.as_text() == Some("authData"))
        })
        .and_then(|(_, value)| value.as_bytes())
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

    fn entry(value: &Value, key: i64) -> Option<&Value> {
        value
            .as_map()?
            .iter()
            .find(|(k, _)| *k == Value::from(key))
            .map(|(_, v)| v)
    }

    #[test]
    fn cbor_decodes_maps_negative_ints_and_bytes() {
        // {1: 2, 3: -7, -2: h'0102'}
        let bytes = [0xa3, 0x01, 0x02, 0x03, 0x26, 0x21, 0x42, 0x01, 0x02];
        let (value, rest) = decode_cbor(&bytes).unwrap();
        assert!(rest.is_empty());
        assert_eq!(entry(&value, 3), Some(&Value::from(-7)));
        assert_eq!(entry(&value, -2), Some(&Value::Bytes(vec![1, 2])));
        assert!(
            decode_cbor(&[0x5a, 0xff, 0xff, 0xff, 0xff]).is_err(),
            "length past the end"
        );
        assert!(decode_cbor(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn cbor_returns_the_bytes_after_the_item() {
        let (value, rest) = decode_cbor(&[0x42, 0x01, 0x02, 0xa0, 0xff]).unwrap();
        assert_eq!(value, Value::Bytes(vec![1, 2]));
        assert_eq!(rest, [0xa0, 0xff]);
        assert_eq!(decode_cbor(&[]), Err(WebauthnError::Malformed("CBOR")));
        // Tags, at the top or nested: a tagged tag of zero once re-encoded differently.
        for tagged in [
            &[0xc2, 0xc2, 0x00][..],
            &[0xc1, 0x00],
            &[0x81, 0xc1, 0x00],
            &[0xa1, 0x01, 0xc1, 0x00],
        ] {
            assert_eq!(
                decode_cbor(tagged),
                Err(WebauthnError::Malformed("CBOR")),
                "{tagged:?}"
            );
        }
    }

    #[test]
    fn cbor_nested_past_the_limit_is_refused() {
        let nested = |depth: usize| {
            let mut bytes = vec![0x81; depth];
            bytes.push(0x00);
            bytes
        };
        assert!(decode_cbor(&nested(MAX_CBOR_DEPTH - 1)).is_ok());
        assert_eq!(
            decode_cbor(&nested(MAX_CBOR_DEPTH + 1)),
            Err(WebauthnError::Malformed("CBOR"))
        );
        assert!(decode_cbor(&nested(100_000)).is_err());
    }

    /// A COSE key map: `{1: kty, 3: alg, params…}`.
    fn cose(kty: i64, alg: i64, params: &[(i64, Value)]) -> Vec<u8> {
        let mut entries = vec![
            (Value::from(1), Value::from(kty)),
            (Value::from(3), Value::from(alg)),
        ];
        entries.extend(params.iter().map(|(k, v)| (Value::from(*k), v.clone())));
        let mut bytes = Vec::new();
        ciborium::ser::into_writer(&Value::Map(entries), &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn cose_keys_of_the_three_algorithms_are_read() {
        let rsa = cose(
            3,
            -257,
            &[
                (-1, Value::Bytes(vec![0xc5; 256])),
                (-2, Value::Bytes(vec![1, 0, 1])),
            ],
        );
        assert_eq!(
            public_key_from_cose(&rsa),
            Ok(PublicKey::Rs256 {
                n: vec![0xc5; 256],
                e: vec![1, 0, 1]
            })
        );
        let ed = cose(
            1,
            -8,
            &[(-1, Value::from(6)), (-2, Value::Bytes(vec![3; 32]))],
        );
        assert_eq!(
            public_key_from_cose(&ed),
            Ok(PublicKey::Ed25519(vec![3; 32]))
        );
        let ec = cose(
            2,
            -7,
            &[
                (-1, Value::from(1)),
                (-2, Value::Bytes(vec![1; 32])),
                (-3, Value::Bytes(vec![2; 32])),
            ],
        );
        let Ok(PublicKey::Es256(point)) = public_key_from_cose(&ec) else {
            panic!("not ES256")
        };
        assert_eq!((point.len(), point[0], point[1], point[64]), (65, 4, 1, 2));
    }

    #[test]
    fn cose_keys_that_are_wrong_are_refused() {
        const BAD: WebauthnError = WebauthnError::Malformed("credential public key");
        let x = (-2, Value::Bytes(vec![3; 32]));
        // ES384 and an RSA key claiming EdDSA: algorithms not accepted.
        assert_eq!(
            public_key_from_cose(&cose(2, -35, &[])),
            Err(WebauthnError::Algorithm)
        );
        assert_eq!(
            public_key_from_cose(&cose(3, -8, std::slice::from_ref(&x))),
            Err(WebauthnError::Algorithm)
        );
        // A short Ed25519 key, a missing coordinate, a coordinate that is not bytes.
        assert_eq!(
            public_key_from_cose(&cose(1, -8, &[(-2, Value::Bytes(vec![3; 31]))])),
            Err(BAD)
        );
        assert_eq!(
            public_key_from_cose(&cose(2, -7, std::slice::from_ref(&x))),
            Err(BAD)
        );
        assert_eq!(
            public_key_from_cose(&cose(1, -8, &[(-2, Value::from(3))])),
            Err(BAD)
        );
        // No algorithm, a repeated label, not a map at all.
        let mut no_alg = Vec::new();
        ciborium::ser::into_writer(
            &Value::Map(vec![
                (Value::from(1), Value::from(1)),
                (Value::from(-2), x.1),
            ]),
            &mut no_alg,
        )
        .unwrap();
        assert_eq!(public_key_from_cose(&no_alg), Err(BAD));
        assert_eq!(
            public_key_from_cose(&[0xa2, 0x01, 0x01, 0x01, 0x01]),
            Err(BAD)
        );
        assert_eq!(public_key_from_cose(&[0x80]), Err(BAD));
        assert_eq!(
            public_key_from_cose(&[0xa1]),
            Err(WebauthnError::Malformed("CBOR"))
        );
    }

    #[test]
    fn the_attestation_object_carries_the_authenticator_data() {
        let mut data = Sha256::digest(b"example.com").to_vec();
        data.push(0x01);
        data.extend(9u32.to_be_bytes());
        let object = Value::Map(vec![
            (Value::from("fmt"), Value::from("none")),
            (Value::from("attStmt"), Value::Map(vec![])),
            (Value::from("authData"), Value::Bytes(data)),
        ]);
        let mut bytes = Vec::new();
        ciborium::ser::into_writer(&object, &mut bytes).unwrap();
        let parsed = attested_data(&bytes).unwrap();
        assert!(parsed.user_present && !parsed.user_verified);
        assert_eq!((parsed.sign_count, parsed.credential), (9, None));
        let mut without = Vec::new();
        ciborium::ser::into_writer(&Value::Map(vec![]), &mut without).unwrap();
        assert_eq!(
            attested_data(&without),
            Err(WebauthnError::Malformed("attestation object"))
        );
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
