//! What the admin dashboard shows, from the counts the store keeps: the days a chart covers,
//! a count per day with the missing days filled in, and active users from the days users last
//! signed in. Days are UTC calendar days; `today` is given.

use chrono::{Days, NaiveDate};

/// How many days the daily charts cover, today included.
pub const CHART_DAYS: u32 = 30;

/// The first day of the `days` days that end with `today`.
pub fn first_day(today: NaiveDate, days: u32) -> NaiveDate {
    today
        .checked_sub_days(Days::new(u64::from(days.saturating_sub(1))))
        .unwrap_or(today)
}

/// One value per day for the `days` days from `first`: the count stored for the day, zero for a
/// day without one. Counts outside those days are left out, and a negative count (a running
/// count whose decrement came before its increment) shows as zero.
pub fn per_day(first: NaiveDate, days: u32, counts: &[(NaiveDate, i64)]) -> Vec<u64> {
    let mut values = vec![0u64; days as usize];
    for (day, count) in counts {
        let offset = day.signed_duration_since(first).num_days();
        if let Some(value) = usize::try_from(offset).ok().and_then(|i| values.get_mut(i)) {
            *value = value.saturating_add(u64::try_from(*count).unwrap_or(0));
        }
    }
    values
}

/// Distinct users who signed in today, in the last 7 days and in the last 30 days (today
/// included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveUsers {
    pub today: u64,
    pub week: u64,
    pub month: u64,
}

impl ActiveUsers {
    /// From how many users last signed in on each day: a user active in a period is one whose
    /// last sign-in falls in it, so each period is a sum of days.
    pub fn from_last_sign_ins(today: NaiveDate, last_sign_ins: &[(NaiveDate, i64)]) -> Self {
        let since = |days: u32| {
            let first = first_day(today, days);
            per_day(first, days, last_sign_ins)
                .into_iter()
                .fold(0u64, u64::saturating_add)
        };
        Self {
            today: since(1),
            week: since(7),
            month: since(CHART_DAYS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn thirty_days_end_today() {
        assert_eq!(first_day(day("2026-03-01"), 30), day("2026-01-31"));
        assert_eq!(first_day(day("2026-03-01"), 1), day("2026-03-01"));
        assert_eq!(first_day(day("2026-03-01"), 0), day("2026-03-01"));
    }

    #[test]
    fn missing_days_are_zero_and_days_outside_are_left_out() {
        let first = day("2026-12-01");
        let counts = [
            (day("2026-11-30"), 9),
            (day("2026-12-01"), 2),
            (day("2026-12-03"), 5),
            (day("2026-12-04"), -1),
            (day("2026-12-05"), 7),
        ];
        assert_eq!(per_day(first, 4, &counts), [2, 0, 5, 0]);
        assert_eq!(per_day(first, 0, &counts), Vec::<u64>::new());
        assert_eq!(per_day(first, 2, &[]), [0, 0]);
    }

    #[test]
    fn active_users_sum_the_days_users_last_signed_in() {
        let today = day("2026-12-31");
        let last = [
            (day("2026-12-31"), 3),
            (day("2026-12-30"), 4),
            (day("2026-12-25"), 5),
            (day("2026-12-24"), 6),
            (day("2026-12-02"), 7),
            (day("2026-12-01"), 100),
        ];
        assert_eq!(
            ActiveUsers::from_last_sign_ins(today, &last),
            ActiveUsers {
                today: 3,
                week: 12,
                month: 25
            }
        );
        assert_eq!(
            ActiveUsers::from_last_sign_ins(today, &[]),
            ActiveUsers::default()
        );
    }
}
