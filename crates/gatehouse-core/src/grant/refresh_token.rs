//! The refresh-token grant: rotation with reuse detection (RFC 9700 §4.14.2), switchable per
//! app for clients that keep their first refresh token (Melody's SDKs).

use crate::TokenError;

/// A stored refresh token as the grant sees it.
#[derive(Debug, Clone, Copy)]
pub struct StoredRefreshToken<'a> {
    pub client_id: &'a str,
    pub expires_at: i64,
    pub used: bool,
    pub revoked: bool,
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshAction {
    /// Mark it used and issue its successor in the same family.
    Rotate,
    /// Keep using it (rotation off for this app).
    Reuse,
}

/// Decides a refresh request. `Err(InvalidRefreshToken)` with `revoke_family = true` means a
/// rotated-out token came back: somebody holds a copy, so the whole family must end.
pub fn decide(
    token: Option<StoredRefreshToken<'_>>,
    presented_client: Option<&str>,
    rotate: bool,
    now: i64,
) -> Result<RefreshAction, (TokenError, bool)> {
    let token = token.ok_or((TokenError::InvalidRefreshToken, false))?;
    if presented_client.is_some_and(|c| c != token.client_id) {
        return Err((TokenError::InvalidRefreshToken, false));
    }
    if token.revoked || token.expires_at <= now {
        return Err((TokenError::InvalidRefreshToken, false));
    }
    if token.used {
        return Err((TokenError::InvalidRefreshToken, true));
    }
    Ok(if rotate {
        RefreshAction::Rotate
    } else {
        RefreshAction::Reuse
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> StoredRefreshToken<'static> {
        StoredRefreshToken {
            client_id: "spa1",
            expires_at: 1000,
            used: false,
            revoked: false,
        }
    }

    #[test]
    fn live_tokens_rotate_or_stay_as_the_app_says() {
        assert_eq!(
            decide(Some(token()), None, true, 10),
            Ok(RefreshAction::Rotate)
        );
        assert_eq!(
            decide(Some(token()), Some("spa1"), false, 10),
            Ok(RefreshAction::Reuse)
        );
    }

    #[test]
    fn reuse_of_a_rotated_token_revokes_the_family() {
        let used = StoredRefreshToken {
            used: true,
            ..token()
        };
        assert_eq!(
            decide(Some(used), None, true, 10),
            Err((TokenError::InvalidRefreshToken, true))
        );
    }

    #[test]
    fn unknown_expired_revoked_or_foreign_tokens_are_refused() {
        let refused = Err((TokenError::InvalidRefreshToken, false));
        assert_eq!(decide(None, None, true, 10), refused);
        assert_eq!(decide(Some(token()), None, true, 1000), refused);
        let revoked = StoredRefreshToken {
            revoked: true,
            ..token()
        };
        assert_eq!(decide(Some(revoked), None, true, 10), refused);
        assert_eq!(decide(Some(token()), Some("web1"), true, 10), refused);
    }
}
