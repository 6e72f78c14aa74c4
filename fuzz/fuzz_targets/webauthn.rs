//! Passkey registration and sign-in input: authenticator data, attestation objects, COSE keys,
//! the stored key text and the client data JSON. A key read from any of them survives the
//! stored form unchanged.
#![no_main]

use gatehouse_core::webauthn::{
    attested_data, check_ceremony, parse_authenticator_data, public_key_from_cose,
    AuthenticatorData, Expected, PublicKey,
};
use libfuzzer_sys::fuzz_target;

fn stored_form_round_trips(key: &PublicKey) {
    assert_eq!(PublicKey::from_stored(&key.to_stored()).as_ref(), Some(key));
}

fn check_parsed(parsed: &AuthenticatorData) {
    if let Some((_, key)) = &parsed.credential {
        stored_form_round_trips(key);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_authenticator_data(data) {
        check_parsed(&parsed);
        let origins = ["https://id.example".to_owned()];
        let expected = Expected {
            kind: "webauthn.get",
            challenge: "Y2hhbGxlbmdl",
            origins: &origins,
            rp_id: "id.example",
        };
        // The same bytes as client data: the JSON checks must refuse cleanly, never panic.
        let _ = check_ceremony(data, &parsed, &expected);
    }
    if let Ok(parsed) = attested_data(data) {
        check_parsed(&parsed);
    }
    if let Ok(key) = public_key_from_cose(data) {
        stored_form_round_trips(&key);
    }
    if let Some(key) = std::str::from_utf8(data)
        .ok()
        .and_then(PublicKey::from_stored)
    {
        // The stored text may be non-canonical base64 that still decodes; the key must not change.
        stored_form_round_trips(&key);
    }
});
