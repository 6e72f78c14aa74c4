//! Denials that must outlive the cache (a lockout, a revoked access token): the cache holds
//! them for speed, this table so that a cache that lost its contents can be given them back.

use chrono::NaiveDateTime;

use crate::{Store, StoreError, StoreFuture};

/// What a held denial refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    /// Sign-ins of an email (from one IP) after too many wrong secrets.
    Lockout,
    /// An access token revoked before its expiry.
    RevokedAccessToken,
}

impl DenialKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Lockout => "lockout",
            Self::RevokedAccessToken => "revoked_access_token",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "lockout" => Some(Self::Lockout),
            "revoked_access_token" => Some(Self::RevokedAccessToken),
            _ => None,
        }
    }
}

/// A denial in force: the cache key it is read under, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldDenial {
    pub kind: DenialKind,
    pub key: String,
    pub subject: String,
    pub expires_at: NaiveDateTime,
}

pub trait DenialStore {
    /// Keeps a denial until `expires_at` (a later call for the same key moves the end), and
    /// forgets the denials that ended before `now`.
    fn hold_denial(&self, denial: &HeldDenial, now: NaiveDateTime) -> impl StoreFuture<()>;
    /// Ends every denial of `kind` on `subject` (an admin's unlock); how many there were.
    fn lift_denials(&self, kind: DenialKind, subject: &str) -> impl StoreFuture<u64>;
    /// Every denial still in force at `now`.
    fn denials_in_force(&self, now: NaiveDateTime) -> impl StoreFuture<Vec<HeldDenial>>;
}

impl DenialStore for Store {
    async fn hold_denial(&self, denial: &HeldDenial, now: NaiveDateTime) -> Result<(), StoreError> {
        const HOLD: &str = "INSERT INTO held_denials (kind, key, subject, expires_at) \
            VALUES ($1, $2, $3, $4) ON CONFLICT (kind, key) DO UPDATE \
            SET subject = excluded.subject, expires_at = excluded.expires_at";
        const FORGET_ENDED: &str = "DELETE FROM held_denials WHERE expires_at <= $1";
        self.execute(
            HOLD,
            (
                denial.kind.as_str(),
                denial.key.as_str(),
                denial.subject.as_str(),
                denial.expires_at,
            ),
        )
        .await?;
        // Denials are few and written rarely: each write sweeps the ended ones.
        self.execute(FORGET_ENDED, (now,)).await?;
        Ok(())
    }

    async fn lift_denials(&self, kind: DenialKind, subject: &str) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM held_denials WHERE kind = $1 AND subject = $2";
        self.execute(SQL, (kind.as_str(), subject)).await
    }

    async fn denials_in_force(&self, now: NaiveDateTime) -> Result<Vec<HeldDenial>, StoreError> {
        const SQL: &str = "SELECT kind, key, subject, expires_at FROM held_denials \
            WHERE expires_at > $1";
        let rows: Vec<(String, String, String, NaiveDateTime)> =
            self.fetch_all(SQL, (now,)).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, key, subject, expires_at)| {
                Some(HeldDenial {
                    kind: DenialKind::parse(&kind)?,
                    key,
                    subject,
                    expires_at,
                })
            })
            .collect())
    }
}
