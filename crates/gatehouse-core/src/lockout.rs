//! Cache keys of the brute-force counters, shared by the code that counts (sign-in) and the
//! code that lists and clears them (the admin API). Melody's key names, so an operator reading
//! Redis finds what Melody's documentation describes.

use crate::ids::UserId;

/// The cache's set of marks of locked accounts: each account (its email) locked out from some
/// IP is marked until that lockout ends, so the admin dashboard counts them in one step.
pub const LOCKED_ACCOUNTS: &str = "LOCKED-ACCOUNTS";

/// The failed-password counter of an email, per client IP when the IP is known.
pub fn failed_login_key(email: &str, ip: Option<&str>) -> String {
    match ip {
        Some(ip) if !ip.is_empty() => format!("FLA-{email}-{ip}"),
        _ => format!("FLA-{email}"),
    }
}

/// The failed-PKCE-verifier counter of a user, per client IP when the IP is known.
pub fn failed_verifier_key(user_id: UserId, ip: Option<&str>) -> String {
    match ip {
        Some(ip) if !ip.is_empty() => format!("FAV-{user_id}-{ip}"),
        _ => format!("FAV-{user_id}"),
    }
}

/// The other counters of melody.md §11, each per subject (a user id or an email) and client IP
/// when the IP is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Wrong password-reset codes (`FPRCA`).
    FailedResetCode,
    /// Password-reset emails asked for (`PRA`).
    ResetRequests,
    /// Wrong email-verification codes (`FEVCA`).
    FailedVerificationCode,
    /// Wrong change-email codes (`FCECA`).
    FailedChangeEmailCode,
    /// Change-email codes sent, per current email (`CEA`).
    ChangeEmailSends,
    /// Emailed sign-in codes sent (`EMEA`).
    EmailCodeSends,
    /// Wrong MFA or passwordless codes (`FMA`).
    FailedMfaCode,
    /// SMS codes sent (`SMMA`).
    SmsSends,
}

impl Counter {
    fn prefix(self) -> &'static str {
        match self {
            Self::FailedResetCode => "FPRCA",
            Self::ResetRequests => "PRA",
            Self::FailedVerificationCode => "FEVCA",
            Self::FailedChangeEmailCode => "FCECA",
            Self::ChangeEmailSends => "CEA",
            Self::EmailCodeSends => "EMEA",
            Self::FailedMfaCode => "FMA",
            Self::SmsSends => "SMMA",
        }
    }

    /// The counter's cache key for `subject`, per IP when known.
    pub fn key(self, subject: &str, ip: Option<&str>) -> String {
        match ip {
            Some(ip) if !ip.is_empty() => format!("{}-{subject}-{ip}", self.prefix()),
            _ => format!("{}-{subject}", self.prefix()),
        }
    }
}

/// The prefix under which every failed-password counter of an email lives.
pub fn failed_login_prefix(email: &str) -> String {
    format!("FLA-{email}")
}

/// The IP a failed-password key belongs to (`""` for the IP-less counter), or `None` when the
/// key belongs to another email that merely shares the prefix.
pub fn failed_login_ip<'a>(email: &str, key: &'a str) -> Option<&'a str> {
    let rest = key.strip_prefix("FLA-")?.strip_prefix(email)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_to_their_ip() {
        let key = failed_login_key("a@b.co", Some("2001:db8::1"));
        assert_eq!(failed_login_ip("a@b.co", &key), Some("2001:db8::1"));
        let plain = failed_login_key("a@b.co", None);
        assert_eq!(failed_login_ip("a@b.co", &plain), Some(""));
        // Another email with the same beginning is not this one's.
        assert_eq!(failed_login_ip("a@b.co", "FLA-a@b.com-1.2.3.4"), None);
    }
}
