//! The master key: AES-256-GCM over secrets kept at rest (signing keys today).

// ring, not aws-lc, for AES-GCM: see the notes of `crate::crypto`.
use base64::{engine::general_purpose::STANDARD, Engine};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    #[error("the master key must be 32 bytes written as 64 hex characters or base64")]
    BadFormat,
    #[error("a stored secret does not decrypt with this master key (wrong key, or the data was altered)")]
    Decrypt,
}

pub struct MasterKey {
    key: LessSafeKey,
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Reads 32 bytes written as hex or base64 (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| MasterKeyError::BadFormat)?
        } else {
            STANDARD
                .decode(text)
                .map_err(|_| MasterKeyError::BadFormat)?
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| MasterKeyError::BadFormat)?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn generate() -> Self {
        Self::from_bytes(super::random_bytes::<32>())
    }

    fn from_bytes(bytes: [u8; 32]) -> Self {
        // 32 bytes is always a valid AES-256 key.
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).expect("AES-256 takes 32-byte keys");
        Self {
            key: LessSafeKey::new(unbound),
            bytes,
        }
    }

    /// The key as 64 hex characters, for writing the generated key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    /// `nonce ‖ ciphertext ‖ tag`; `context` is bound as associated data so a ciphertext cannot
    /// be moved to another purpose.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce_bytes = super::random_bytes::<NONCE_LEN>();
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&nonce_bytes);
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context),
                &mut in_out,
            )
            .expect("AES-GCM sealing of an in-memory buffer cannot fail");
        out.extend_from_slice(&in_out);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(MasterKeyError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Decrypt)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut in_out)
            .map_err(|_| MasterKeyError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_the_same_key_and_context() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"private key", b"signing_key:abc");
        assert_eq!(
            key.open(&sealed, b"signing_key:abc").unwrap(),
            b"private key"
        );
        assert_eq!(
            key.open(&sealed, b"signing_key:xyz"),
            Err(MasterKeyError::Decrypt)
        );
        let other = MasterKey::generate();
        assert_eq!(
            other.open(&sealed, b"signing_key:abc"),
            Err(MasterKeyError::Decrypt)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            key.open(&tampered, b"signing_key:abc"),
            Err(MasterKeyError::Decrypt)
        );
    }

    /// Keys stored by earlier releases were sealed with aws-lc: they must still open, and what
    /// is sealed now must open with aws-lc too (the same AES-256-GCM, nonce ‖ ciphertext ‖ tag).
    #[test]
    fn seals_as_aws_lc_does_both_ways() {
        use aws_lc_rs::aead as lc;
        let key = MasterKey::generate();
        let theirs =
            lc::LessSafeKey::new(lc::UnboundKey::new(&lc::AES_256_GCM, &key.bytes).unwrap());

        let nonce = [7u8; NONCE_LEN];
        let mut sealed_by_aws_lc = b"old private key".to_vec();
        theirs
            .seal_in_place_append_tag(
                lc::Nonce::assume_unique_for_key(nonce),
                lc::Aad::from(b"signing_key:old"),
                &mut sealed_by_aws_lc,
            )
            .unwrap();
        let stored = [nonce.as_slice(), &sealed_by_aws_lc].concat();
        assert_eq!(
            key.open(&stored, b"signing_key:old").unwrap(),
            b"old private key"
        );

        let sealed = key.seal(b"new private key", b"signing_key:new");
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let mut body = body.to_vec();
        let plain = theirs
            .open_in_place(
                lc::Nonce::try_assume_unique_for_key(nonce).unwrap(),
                lc::Aad::from(b"signing_key:new"),
                &mut body,
            )
            .unwrap();
        assert_eq!(plain, b"new private key");
    }

    #[test]
    fn parses_hex_and_base64() {
        let key = MasterKey::generate();
        let hex = key.to_hex();
        let again = MasterKey::parse(&hex).unwrap();
        assert_eq!(again.to_hex(), hex);
        let b64 = STANDARD.encode(hex::decode(&hex).unwrap());
        assert_eq!(MasterKey::parse(&b64).unwrap().to_hex(), hex);
        assert_eq!(
            MasterKey::parse("abcd").unwrap_err(),
            MasterKeyError::BadFormat
        );
    }
}
