//! The admin dashboard's figures: counts kept as things happen (migration 0018), read in one
//! short query each. Per-day counts live in `daily_counts` under their name; running totals of
//! live users in `user_counts`, kept by triggers on `users` and `user_passkeys`.

use chrono::{NaiveDate, NaiveDateTime};
use gatehouse_core::ids::UserId;

use crate::{on_pool, sql, Store, StoreError, StoreFuture};

/// A count kept per UTC day. Stored under [`DailyCount::name`], never its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DailyCount {
    /// Codes exchanged for tokens after a sign-in ([`StatsStore::record_sign_in`]).
    SignIns,
    /// Passwords refused at sign-in.
    FailedSignIns,
    /// Users created (by a trigger on `users`).
    SignUps,
    /// Users whose latest sign-in was that day (by a trigger on `users.last_sign_in_at`).
    LastSignIns,
    EmailsSent,
    EmailsFailed,
    SmsSent,
    SmsFailed,
}

impl DailyCount {
    pub fn name(self) -> &'static str {
        match self {
            Self::SignIns => "sign_ins",
            Self::FailedSignIns => "sign_in_failures",
            Self::SignUps => "sign_ups",
            Self::LastSignIns => "last_sign_ins",
            Self::EmailsSent => "emails_sent",
            Self::EmailsFailed => "emails_failed",
            Self::SmsSent => "sms_sent",
            Self::SmsFailed => "sms_failed",
        }
    }
}

/// What the server counts itself, one at a time (the other daily counts are kept as the rows
/// they count are written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedEvent {
    FailedSignIn,
    EmailSent,
    EmailFailed,
    SmsSent,
    SmsFailed,
}

impl CountedEvent {
    pub fn daily_count(self) -> DailyCount {
        match self {
            Self::FailedSignIn => DailyCount::FailedSignIns,
            Self::EmailSent => DailyCount::EmailsSent,
            Self::EmailFailed => DailyCount::EmailsFailed,
            Self::SmsSent => DailyCount::SmsSent,
            Self::SmsFailed => DailyCount::SmsFailed,
        }
    }
}

/// Live (not deleted) users, and how many of them hold each second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserTotals {
    pub users: i64,
    pub with_otp: i64,
    pub with_sms_mfa: i64,
    pub with_email_mfa: i64,
    /// Users with at least one of the three factors above.
    pub with_mfa: i64,
    pub with_passkeys: i64,
}

pub trait StatsStore {
    /// Counts a sign-in of `user_id` at `at` (UTC): the user's login count and latest sign-in,
    /// and the day's sign-ins.
    fn record_sign_in(&self, user_id: UserId, at: NaiveDateTime) -> impl StoreFuture<()>;
    /// Adds one to the count of `event` on `day`.
    fn count_event(&self, event: CountedEvent, day: NaiveDate) -> impl StoreFuture<()>;
    /// The stored values of `count` from `first` to `last` (both included), oldest first; days
    /// without a value are left out.
    fn daily_counts(
        &self,
        count: DailyCount,
        first: NaiveDate,
        last: NaiveDate,
    ) -> impl StoreFuture<Vec<(NaiveDate, i64)>>;
    fn user_totals(&self) -> impl StoreFuture<UserTotals>;
    /// Webhook deliveries neither delivered nor given up on, counted up to `cap` (so a huge
    /// backlog costs no more to count than `cap`).
    fn webhook_backlog(&self, cap: i64) -> impl StoreFuture<i64>;
}

/// Adds `$3` to the count `$1` of day `$2`.
const ADD_TO_DAY: &str = "INSERT INTO daily_counts (name, day, count) VALUES ($1, $2, $3) \
    ON CONFLICT (name, day) DO UPDATE SET count = daily_counts.count + excluded.count";

impl StatsStore for Store {
    async fn record_sign_in(&self, user_id: UserId, at: NaiveDateTime) -> Result<(), StoreError> {
        const USER: &str = "UPDATE users SET login_count = login_count + 1, \
            last_sign_in_at = $2 WHERE id = $1";
        let sign_ins = DailyCount::SignIns.name();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, USER, (user_id, at)).await?;
            sql::execute(&mut *tx, ADD_TO_DAY, (sign_ins, at.date(), 1i64)).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn count_event(&self, event: CountedEvent, day: NaiveDate) -> Result<(), StoreError> {
        let name = event.daily_count().name();
        self.execute(ADD_TO_DAY, (name, day, 1i64)).await?;
        Ok(())
    }

    async fn daily_counts(
        &self,
        count: DailyCount,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        const SQL: &str = "SELECT day, count FROM daily_counts \
            WHERE name = $1 AND day >= $2 AND day <= $3 ORDER BY day";
        self.fetch_all(SQL, (count.name(), first, last)).await
    }

    async fn user_totals(&self) -> Result<UserTotals, StoreError> {
        const SQL: &str = "SELECT name, count FROM user_counts";
        let rows: Vec<(String, i64)> = self.fetch_all(SQL, ()).await?;
        let mut totals = UserTotals::default();
        for (name, count) in rows {
            let total = match name.as_str() {
                "users" => &mut totals.users,
                "users_with_otp" => &mut totals.with_otp,
                "users_with_sms_mfa" => &mut totals.with_sms_mfa,
                "users_with_email_mfa" => &mut totals.with_email_mfa,
                "users_with_mfa" => &mut totals.with_mfa,
                "users_with_passkeys" => &mut totals.with_passkeys,
                _ => continue,
            };
            *total = count;
        }
        Ok(totals)
    }

    async fn webhook_backlog(&self, cap: i64) -> Result<i64, StoreError> {
        // Walks the partial index of due deliveries (migration 0016), at most `cap` entries.
        const SQL: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries \
            WHERE delivered_at IS NULL AND abandoned_at IS NULL LIMIT $1) AS waiting";
        let (count,): (i64,) = self.fetch_one(SQL, (cap,)).await?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{at, store, user};
    use crate::{AccountStore, MfaStore, UserStore};

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[tokio::test]
    async fn events_add_up_per_day_and_are_read_back_by_range() {
        let store = store().await;
        for d in ["2030-01-01", "2030-01-01", "2030-01-03"] {
            store
                .count_event(CountedEvent::FailedSignIn, day(d))
                .await
                .expect("count");
        }
        store
            .count_event(CountedEvent::EmailSent, day("2030-01-02"))
            .await
            .expect("count");
        let failed =
            |first, last| store.daily_counts(DailyCount::FailedSignIns, day(first), day(last));
        assert_eq!(
            failed("2030-01-01", "2030-01-03").await.expect("read"),
            [(day("2030-01-01"), 2), (day("2030-01-03"), 1)]
        );
        assert_eq!(failed("2030-01-02", "2030-01-02").await.expect("read"), []);
        let sent = store
            .daily_counts(DailyCount::EmailsSent, day("2029-12-01"), day("2030-12-01"))
            .await
            .expect("read");
        assert_eq!(sent, [(day("2030-01-02"), 1)]);
    }

    #[tokio::test]
    async fn a_sign_in_counts_for_the_day_and_moves_the_user_to_their_latest_day() {
        let store = store().await;
        let ada = user(&store, "ada@example.com").await;
        let grace = user(&store, "grace@example.com").await;
        let next_day = at(9) + chrono::Duration::days(1);
        store.record_sign_in(ada.id, at(9)).await.expect("sign-in");
        store.record_sign_in(ada.id, at(10)).await.expect("again");
        store
            .record_sign_in(grace.id, at(11))
            .await
            .expect("sign-in");
        store
            .record_sign_in(ada.id, next_day)
            .await
            .expect("next day");
        let range = (at(0).date(), next_day.date());
        let read = |count| store.daily_counts(count, range.0, range.1);
        assert_eq!(
            read(DailyCount::SignIns).await.expect("read"),
            [(at(0).date(), 3), (next_day.date(), 1)]
        );
        // Ada's latest sign-in is the next day now; Grace's stays on the first.
        assert_eq!(
            read(DailyCount::LastSignIns).await.expect("read"),
            [(at(0).date(), 1), (next_day.date(), 1)]
        );
        let ada = store.user_by_id(ada.id).await.expect("read").expect("ada");
        assert_eq!(ada.login_count, 3);
    }

    #[tokio::test]
    async fn user_totals_follow_sign_ups_factors_passkeys_and_deletion() {
        let store = store().await;
        let empty = store.user_totals().await.expect("totals");
        assert_eq!(empty, UserTotals::default());
        let ada = user(&store, "ada@example.com").await;
        let grace = user(&store, "grace@example.com").await;
        let _alan = user(&store, "alan@example.com").await;
        store.confirm_otp(ada.id, "otp").await.expect("otp");
        store.confirm_sms(grace.id, "sms,email").await.expect("sms");
        store
            .insert_passkey(ada.id, "cred-1", "key", 0)
            .await
            .expect("passkey");
        store
            .insert_passkey(ada.id, "cred-2", "key", 0)
            .await
            .expect("second passkey");
        assert_eq!(
            store.user_totals().await.expect("totals"),
            UserTotals {
                users: 3,
                with_otp: 1,
                with_sms_mfa: 1,
                with_email_mfa: 1,
                with_mfa: 2,
                with_passkeys: 1,
            }
        );
        // Grace drops SMS but keeps email; Ada is deleted with her passkeys.
        store
            .set_mfa_types(grace.id, "email", false, true)
            .await
            .expect("drop sms");
        store.delete_user(ada.id).await.expect("delete");
        assert_eq!(
            store.user_totals().await.expect("totals"),
            UserTotals {
                users: 2,
                with_otp: 0,
                with_sms_mfa: 0,
                with_email_mfa: 1,
                with_mfa: 1,
                with_passkeys: 0,
            }
        );
        // Sign-ups are counted on the day each user was created.
        let today = crate::now_utc().date();
        let sign_ups = store
            .daily_counts(DailyCount::SignUps, today, today)
            .await
            .expect("read");
        assert_eq!(sign_ups, [(today, 3)]);
    }
}
