//! Cryptography on aws-lc-rs: the fastest sound RSA on this hardware (see docs/benchmarks.md),
//! and it generates RSA, P-256 and Ed25519 keys alike.
//!
//! AES-256-GCM (the master key's sealing, the ePass sauce) is ring's, the library rustls
//! already links for TLS: the same cipher and format, so data sealed by either opens with the
//! other. On a CPU with AVX-512, aws-lc seals and opens through two unrolled functions of
//! 330 KiB each; a start opens the signing keys, and those pages then stayed resident for the
//! life of the process. ring's functions for the same CPUs are 2 KiB.

pub mod jws;
mod master_key;
mod password;
mod signing_key;
pub mod xmldsig;

pub use master_key::{MasterKey, MasterKeyError};
pub use password::{PasswordCheck, PasswordHasher};
pub use signing_key::{Algorithm, SigningKey, SigningKeyError};

use aws_lc_rs::digest;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system RNG failing is unrecoverable for an auth server; refuse to go on.
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random number generator failed");
    bytes
}

/// A random value as lowercase hex, `N` bytes of entropy.
pub fn random_hex<const N: usize>() -> String {
    hex::encode(random_bytes::<N>())
}

/// A random value as unpadded base64url, `N` bytes of entropy.
pub fn random_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// A six-digit one-time code, uniform over 000000–999999 (rejection sampling, no modulo bias).
pub fn random_code() -> String {
    // The largest multiple of 10^6 that fits in a u32.
    const LIMIT: u32 = 4_294_000_000;
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        if n < LIMIT {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The TOTP code of `secret` at time step `step` (HMAC-SHA1, as authenticator apps compute it).
pub fn totp_code(secret: &[u8], step: i64) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &gatehouse_core::mfa::step_counter(step));
    gatehouse_core::mfa::truncate(tag.as_ref()).unwrap_or_default()
}

/// Whether `signature` over `message` verifies with a passkey's public key.
pub fn passkey_signature_valid(
    key: &gatehouse_core::webauthn::PublicKey,
    message: &[u8],
    signature: &[u8],
) -> bool {
    use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
    use gatehouse_core::webauthn::PublicKey;
    match key {
        PublicKey::Es256(point) => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                .verify(message, signature)
                .is_ok()
        }
        PublicKey::Ed25519(key) => UnparsedPublicKey::new(&signature::ED25519, key)
            .verify(message, signature)
            .is_ok(),
        PublicKey::Rs256 { n, e } => RsaPublicKeyComponents { n, e }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
            .is_ok(),
    }
}

/// The ePass "sauce": base64url(12-byte IV ‖ AES-256-GCM ciphertext ‖ 16-byte tag) of
/// `plaintext` under `key` (an app secret's 32 bytes), no associated data.
pub fn seal_sauce(key: &[u8], plaintext: &[u8]) -> Option<String> {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let iv = random_bytes::<12>();
    let mut sealed = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut sealed)
        .ok()?;
    Some(gatehouse_core::connect::encode_sauce(&iv, &sealed))
}

/// A secret of `len` letters and digits, uniform.
pub fn random_alphanumeric(len: usize) -> String {
    random_from(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        len,
    )
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 ASCII characters), by
/// rejection sampling: bytes at or above the largest multiple of its size would bias the draw.
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let size = alphabet.len();
    let limit = 256 - 256 % size;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<32>() {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % size]));
            }
        }
    }
    out
}

/// Lowercase hex SHA-256: how client secrets (high-entropy, server-generated) are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// Compares two byte strings without leaking where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_differ_and_have_the_right_size() {
        assert_eq!(random_hex::<16>().len(), 32);
        assert_ne!(random_hex::<16>(), random_hex::<16>());
        assert_eq!(random_token::<32>().len(), 43);
    }

    #[test]
    fn sha256_matches_the_known_answer() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_sealed_sauce_opens_with_the_apps_recipe() {
        use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
        use gatehouse_core::connect::decode_sauce;
        let key = *b"0123456789abcdefghijklmnopqrstuv";
        let sauce = seal_sauce(&key, br#"{"userId":1}"#).unwrap();
        let parts = decode_sauce(&sauce).unwrap();
        let opener = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
        let mut sealed = [parts.ciphertext, parts.tag.to_vec()].concat();
        let nonce = Nonce::assume_unique_for_key(parts.iv);
        let plain = opener
            .open_in_place(nonce, Aad::empty(), &mut sealed)
            .unwrap();
        assert_eq!(plain, br#"{"userId":1}"#);
    }

    #[test]
    fn constant_time_eq_compares_contents_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
