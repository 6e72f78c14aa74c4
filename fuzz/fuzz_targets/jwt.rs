//! Compact JWS/JWT input: our own access tokens coming back and outside providers' ID tokens.
//! A token that splits is exactly its parts joined again; its header, claims and the provider's
//! key set are read and checked without panicking.
#![no_main]

use std::sync::OnceLock;

use gatehouse_core::federation::{check_claims, select_key, Expected, IdTokenClaims, JwkSet};
use gatehouse_core::jwt::{check_access_token, compact, split, AccessTokenClaims};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://id.example";

fn provider_keys() -> &'static JwkSet {
    static KEYS: OnceLock<JwkSet> = OnceLock::new();
    KEYS.get_or_init(|| {
    serde_json::from_value(serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "kid": "e1", "crv": "P-256",
         "x": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE", "y": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"},
        {"kty": "OKP", "kid": "o1", "crv": "Ed25519", "x": "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM"},
    ]}))
    .expect("a valid key set")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parts) = split(token) else {
        return;
    };
    assert_eq!(
        compact(parts.signing_input.to_owned(), &parts.signature),
        token
    );

    let _ = select_key(provider_keys(), &parts.header);
    // A provider's JWKS document arrives as JSON like the payload; read it the same way.
    if let Ok(keys) = serde_json::from_slice::<JwkSet>(&parts.payload) {
        let _ = select_key(&keys, &parts.header);
    }
    // The server reads an ID token's claims into the same type once the signature verifies.
    if let Ok(claims) = serde_json::from_slice::<IdTokenClaims>(&parts.payload) {
        let expected = Expected {
            issuer: ISSUER,
            bare_issuer_too: true,
            client_id: "client",
            nonce: "n-1",
        };
        let _ = check_claims(&claims, expected, 1_800_000_000);
    }
    if let Ok(claims) = serde_json::from_slice::<AccessTokenClaims>(&parts.payload) {
        let _ = check_access_token(&claims, ISSUER, 1_800_000_000);
    }
});
