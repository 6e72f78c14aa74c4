//! TOTP (RFC 6238) decisions without the clock or the HMAC: base32 secrets, the `otpauth://`
//! URI, which time steps a code may come from, and the code a step's HMAC makes.

/// Seconds per TOTP step.
pub const TOTP_PERIOD: i64 = 30;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps read secrets.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (case-insensitive, spaces and padding ignored); `None` for other characters.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let c = c.to_ascii_uppercase() as u8;
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URI an authenticator app scans: `otpauth://totp/<issuer>:<account>?secret=…`.
pub fn otp_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret_base32}&issuer={issuer}&algorithm=SHA1&digits=6&period={TOTP_PERIOD}",
        percent_encode(account)
    )
}

/// The steps a code presented at `now` may belong to: the current one and one either side.
pub fn acceptable_steps(now: i64) -> [i64; 3] {
    let current = now.div_euclid(TOTP_PERIOD);
    [current, current - 1, current + 1]
}

/// The 8-byte counter a step's HMAC is computed over.
pub fn step_counter(step: i64) -> [u8; 8] {
    (step.max(0) as u64).to_be_bytes()
}

/// RFC 4226 dynamic truncation of an HMAC-SHA1 into a six-digit code.
pub fn truncate(hmac: &[u8]) -> Option<String> {
    let offset = usize::from(*hmac.last()? & 0x0f);
    let bytes: [u8; 4] = hmac.get(offset..offset + 4)?.try_into().ok()?;
    let value = u32::from_be_bytes(bytes) & 0x7fff_ffff;
    Some(format!("{:06}", value % 1_000_000))
}

/// A presented code is six ASCII digits.
pub fn is_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a password alone may stand for the user, as a password-only API (Simple-OAuth) asks:
/// only when the user has enrolled no second factor and the server requires none, since such an
/// API would otherwise be a way around the sign-in's second step.
pub fn password_alone_suffices(
    required: &crate::signin::MfaRequirement,
    enrolled: &[crate::signin::MfaType],
    otp_verified: bool,
) -> bool {
    let none_required =
        !required.otp && !required.email && !required.sms && required.enforce_one_of.is_empty();
    none_required && enrolled.is_empty() && !otp_verified
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_alone_suffices_only_without_any_second_factor() {
        use crate::signin::{MfaRequirement, MfaType};
        let none = MfaRequirement::default();
        assert!(password_alone_suffices(&none, &[], false));
        assert!(!password_alone_suffices(&none, &[MfaType::Otp], false));
        assert!(!password_alone_suffices(&none, &[MfaType::Email], false));
        assert!(!password_alone_suffices(&none, &[], true));
        for required in [
            MfaRequirement {
                otp: true,
                ..MfaRequirement::default()
            },
            MfaRequirement {
                email: true,
                ..MfaRequirement::default()
            },
            MfaRequirement {
                sms: true,
                ..MfaRequirement::default()
            },
            MfaRequirement {
                enforce_one_of: vec![MfaType::Sms],
                ..MfaRequirement::default()
            },
        ] {
            assert!(
                !password_alone_suffices(&required, &[], false),
                "{required:?}"
            );
        }
    }

    #[test]
    fn base32_round_trips_rfc_4648_vectors() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_decode("mzxw6ytboi====").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZXW 6YTB OI").unwrap(), b"foobar");
        assert!(base32_decode("MZ1").is_none());
    }

    #[test]
    fn truncation_matches_rfc_4226() {
        // RFC 4226 appendix D: HMAC-SHA1 of counter 0 with the ASCII secret "12345678901234567890".
        let hmac = [
            0xcc, 0x93, 0xcf, 0x18, 0x50, 0x8d, 0x94, 0x93, 0x4c, 0x64, 0xb6, 0x5d, 0x8b, 0xa7,
            0x66, 0x7f, 0xb7, 0xcd, 0xe4, 0xb0,
        ];
        assert_eq!(truncate(&hmac).unwrap(), "755224");
    }

    #[test]
    fn steps_and_uri() {
        assert_eq!(acceptable_steps(59), [1, 0, 2]);
        assert_eq!(step_counter(1), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            otp_uri("Acme ID", "a@b.co", "ABC"),
            "otpauth://totp/Acme%20ID:a@b.co?secret=ABC&issuer=Acme%20ID&algorithm=SHA1&digits=6&period=30"
        );
        assert!(is_code("012345") && !is_code("12345a") && !is_code("1234567"));
    }
}
