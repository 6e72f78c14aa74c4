//! The device authorization grant (RFC 8628): a device without a browser gets a device code to
//! poll the token endpoint with, and a short user code the user types on another device, where
//! they sign in and approve. This module decides each poll from plain facts.

use serde::{Deserialize, Serialize};

use crate::signin::Subject;
use crate::TokenError;

/// The token endpoint's `grant_type` for polling.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Consonants only: no vowels (no words), none that look like a digit, case does not matter
/// (RFC 8628 §6.1). 20 letters, 8 of them: about 2^34.6 codes.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 8;

/// A user code as typed (any case, with or without the dash and spaces), in its stored form:
/// eight letters of [`USER_CODE_ALPHABET`]. `None` when it cannot be a code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A stored user code as shown to people: `BCDF-GHJK`.
pub fn display_user_code(code: &str) -> String {
    match code.split_at_checked(USER_CODE_LEN / 2) {
        Some((head, tail)) => format!("{head}-{tail}"),
        None => code.to_owned(),
    }
}

/// A device authorization request, as kept until it is approved, denied or expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGrant {
    pub client_id: String,
    /// Requested scopes the app holds.
    pub scopes: Vec<String>,
    /// The user code, in its stored form.
    pub user_code: String,
    pub expires_at: i64,
}

/// What the user decided on the verification page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum DeviceDecision {
    Approved(Approval),
    Denied,
}

/// An approval: who signed in, and when they last proved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub user: Subject,
    pub auth_time: i64,
    /// How the user proved themselves (RFC 8176).
    #[serde(default)]
    pub amr: Vec<String>,
    /// The browser session the approval was made in, if any.
    pub session_id: Option<i64>,
}

/// The token request's view of a poll.
#[derive(Debug, Clone, Copy)]
pub struct Poll<'a> {
    /// The client the request identified.
    pub client_id: &'a str,
    pub now: i64,
    /// Whether the client polled again before the interval passed.
    pub too_soon: bool,
}

/// Decides a poll (RFC 8628 §3.5): tokens once approved, else why not yet (or not ever).
/// A code is only answered to the client it was issued to; an approval is honoured even when
/// the poll came early, since it ends the polling.
pub fn check_poll<'a>(
    grant: &DeviceGrant,
    decision: Option<&'a DeviceDecision>,
    poll: &Poll<'_>,
) -> Result<&'a Approval, TokenError> {
    if grant.client_id != poll.client_id {
        return Err(TokenError::DeviceCodeOfAnotherClient);
    }
    if grant.expires_at <= poll.now {
        return Err(TokenError::ExpiredDeviceCode);
    }
    match decision {
        Some(DeviceDecision::Approved(approval)) => Ok(approval),
        Some(DeviceDecision::Denied) => Err(TokenError::DeviceAccessDenied),
        None if poll.too_soon => Err(TokenError::SlowDown),
        None => Err(TokenError::AuthorizationPending),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn grant() -> DeviceGrant {
        DeviceGrant {
            client_id: "tv".into(),
            scopes: vec!["openid".into()],
            user_code: "BCDFGHJK".into(),
            expires_at: 1_000,
        }
    }

    fn poll(client_id: &str, now: i64, too_soon: bool) -> Poll<'_> {
        Poll {
            client_id,
            now,
            too_soon,
        }
    }

    fn approved() -> DeviceDecision {
        DeviceDecision::Approved(Approval {
            user: Subject {
                id: UserId::from(7),
                auth_id: "u-7".into(),
            },
            auth_time: 900,
            amr: vec!["pwd".into()],
            session_id: Some(3),
        })
    }

    #[test]
    fn user_codes_are_read_as_people_type_them() {
        for typed in ["BCDF-GHJK", "bcdfghjk", " bcdf ghjk ", "Bcdf-Ghjk"] {
            assert_eq!(normalize_user_code(typed).as_deref(), Some("BCDFGHJK"));
        }
        for wrong in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ0",
            "BCDF_GHJK",
            "ＢCDF-GHJK",
            &"B".repeat(100),
        ] {
            assert_eq!(normalize_user_code(wrong), None, "{wrong:?}");
        }
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    }

    #[test]
    fn polls_wait_slow_down_end_or_get_the_approval() {
        let grant = grant();
        assert_eq!(
            check_poll(&grant, None, &poll("tv", 10, false)),
            Err(TokenError::AuthorizationPending)
        );
        assert_eq!(
            check_poll(&grant, None, &poll("tv", 10, true)),
            Err(TokenError::SlowDown)
        );
        assert_eq!(
            check_poll(
                &grant,
                Some(&DeviceDecision::Denied),
                &poll("tv", 10, false)
            ),
            Err(TokenError::DeviceAccessDenied)
        );
        let decision = approved();
        let approval = check_poll(&grant, Some(&decision), &poll("tv", 10, true)).unwrap();
        assert_eq!(approval.user.auth_id, "u-7");
    }

    #[test]
    fn an_expired_code_or_another_client_gets_nothing() {
        let grant = grant();
        let decision = approved();
        assert_eq!(
            check_poll(&grant, Some(&decision), &poll("tv", 1_000, false)),
            Err(TokenError::ExpiredDeviceCode)
        );
        assert_eq!(
            check_poll(&grant, Some(&decision), &poll("other", 10, false)),
            Err(TokenError::DeviceCodeOfAnotherClient)
        );
    }
}
