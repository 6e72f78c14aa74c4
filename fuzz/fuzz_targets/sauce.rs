//! The ePass sauce: any text an app's back end is handed splits cleanly or not at all, and a
//! sauce sealed from a user's claims opens with the app's secret to the same claims.
#![no_main]

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use arbitrary::{Arbitrary, Unstructured};
use gatehouse_core::connect::{
    decode_sauce, encode_sauce, read_sauce_claims, sauce_claims, SAUCE_IV_LEN,
};
use gatehouse_core::ids::UserId;
use libfuzzer_sys::fuzz_target;

/// What is sealed: the app's secret, the IV and the user behind the claims.
#[derive(Debug, Arbitrary)]
struct Sealing<'a> {
    secret: [u8; 32],
    iv: [u8; SAUCE_IV_LEN],
    user_id: i64,
    email: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    now: i64,
}

fn open(
    cipher: &Aes256Gcm,
    iv: &[u8; SAUCE_IV_LEN],
    ciphertext: &[u8],
    tag: &[u8],
) -> Option<Vec<u8>> {
    let sealed = [ciphertext, tag].concat();
    cipher
        .decrypt(Nonce::from_slice(iv), sealed.as_slice())
        .ok()
}

// The input: a sauce as received on the first line; the bytes after it drive the sealing.
fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (received, rest) = data.split_at(split);
    let Ok(sealing) = Sealing::arbitrary_take_rest(Unstructured::new(rest)) else {
        return;
    };
    let cipher = Aes256Gcm::new(&sealing.secret.into());

    if let Some(parts) = std::str::from_utf8(received).ok().and_then(decode_sauce) {
        let sealed = [parts.ciphertext.as_slice(), &parts.tag].concat();
        assert_eq!(
            decode_sauce(&encode_sauce(&parts.iv, &sealed)).as_ref(),
            Some(&parts)
        );
        // Another key opens nothing; should it, the claims are read like any other.
        if let Some(plain) = open(&cipher, &parts.iv, &parts.ciphertext, &parts.tag) {
            let _ = read_sauce_claims(&plain);
        }
    }

    let claims = sauce_claims(
        UserId::new(sealing.user_id),
        sealing.email,
        sealing.first_name,
        sealing.last_name,
        sealing.now,
    );
    let plaintext = serde_json::to_vec(&claims).expect("claims serialize");
    let sealed = cipher
        .encrypt(Nonce::from_slice(&sealing.iv), plaintext.as_slice())
        .expect("AES-GCM seals");
    let sauce = encode_sauce(&sealing.iv, &sealed);
    let parts = decode_sauce(&sauce).expect("a sealed sauce splits");
    assert_eq!(parts.iv, sealing.iv);
    let opened = open(&cipher, &parts.iv, &parts.ciphertext, &parts.tag)
        .expect("the app's secret opens its sauce");
    assert_eq!(read_sauce_claims(&opened), Some(claims));
});
