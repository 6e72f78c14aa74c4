//! Scheduled rotation of signing keys, decided from the keys of one algorithm and `now`.
//!
//! A rotation is one write: the next key is published with the time it starts signing, and the
//! keys it replaces get the time they retire (its activation plus the overlap). Activation and
//! retirement then happen by the clock alone — each instance sees them at its next key reload —
//! so the only step instances can race on is publishing, which the store makes happen once.

/// What the schedule needs to know of one live key (not retired at `now`). Times are unix
/// seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimes {
    /// Ascending with creation: the newest active key signs.
    pub id: i64,
    /// When it starts (or started) signing.
    pub active_from: i64,
    pub retire_at: Option<i64>,
}

/// The rotation settings, in seconds; an `interval` of 0 turns scheduled rotation off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationSchedule {
    pub interval: i64,
    /// How long before it signs the next key is published, so that relying parties' cached
    /// key sets hold it before the first token it signs.
    pub prepublish: i64,
    /// How long a replaced key stays published and accepted after its successor starts.
    pub overlap: i64,
}

impl RotationSchedule {
    pub fn is_on(&self) -> bool {
        self.interval > 0
    }
}

/// What is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    Nothing,
    /// Publish a new key succeeding `predecessor`: it signs from `activate_at`, and the keys it
    /// replaces retire at `retire_replaced_at`.
    PublishNext {
        predecessor: i64,
        activate_at: i64,
        retire_replaced_at: i64,
    },
}

/// The schedule as an operator sees it (the panel's keys page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPlan {
    /// The key that signs at `now`.
    pub signing: Option<i64>,
    /// A published key that has not started signing, and when it starts.
    pub next: Option<(i64, i64)>,
    /// When the next key will be published (when none is yet), on schedule.
    pub publish_at: Option<i64>,
    /// When a key published on schedule next starts signing.
    pub next_rotation_at: Option<i64>,
    /// Keys still published that will retire, and when.
    pub retiring: Vec<(i64, i64)>,
    pub step: RotationStep,
}

fn is_active(key: &KeyTimes, now: i64) -> bool {
    key.active_from <= now && key.retire_at.is_none_or(|at| at > now)
}

/// The key that signs at `now`: the newest active one.
pub fn signing_key(keys: &[KeyTimes], now: i64) -> Option<&KeyTimes> {
    keys.iter()
        .filter(|k| is_active(k, now))
        .max_by_key(|k| k.id)
}

/// Whether a live key is published but does not sign yet.
pub fn is_pending(key: &KeyTimes, now: i64) -> bool {
    key.active_from > now
}

/// Plans the rotation of one algorithm's live keys at `now`.
pub fn plan(keys: &[KeyTimes], now: i64, schedule: RotationSchedule) -> KeyPlan {
    let signing = signing_key(keys, now);
    let next = keys
        .iter()
        .filter(|k| is_pending(k, now) && k.retire_at.is_none())
        .max_by_key(|k| k.id)
        .map(|k| (k.id, k.active_from));
    let mut retiring: Vec<(i64, i64)> = keys
        .iter()
        .filter_map(|k| k.retire_at.filter(|&at| at > now).map(|at| (k.id, at)))
        .collect();
    retiring.sort_by_key(|&(id, at)| (at, id));
    let mut plan = KeyPlan {
        signing: signing.map(|k| k.id),
        next,
        publish_at: None,
        next_rotation_at: next.map(|(_, at)| at),
        retiring,
        step: RotationStep::Nothing,
    };
    let Some(signing) = signing else {
        return plan;
    };
    if !schedule.is_on() || next.is_some() {
        return plan;
    }
    let due = signing.active_from.saturating_add(schedule.interval);
    let publish_at = due.saturating_sub(schedule.prepublish);
    // Late (no instance ran at the publishing time): still published a full prepublish ahead.
    let activate_at = due.max(now.saturating_add(schedule.prepublish));
    plan.publish_at = Some(publish_at);
    plan.next_rotation_at = Some(activate_at);
    if now >= publish_at {
        plan.step = RotationStep::PublishNext {
            predecessor: signing.id,
            activate_at,
            retire_replaced_at: activate_at.saturating_add(schedule.overlap),
        };
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const SCHEDULE: RotationSchedule = RotationSchedule {
        interval: 90 * DAY,
        prepublish: 3600,
        overlap: DAY,
    };

    fn key(id: i64, active_from: i64, retire_at: Option<i64>) -> KeyTimes {
        KeyTimes {
            id,
            active_from,
            retire_at,
        }
    }

    #[test]
    fn nothing_is_due_before_the_prepublish_time() {
        let keys = [key(1, 0, None)];
        let plan = plan(&keys, 90 * DAY - 3601, SCHEDULE);
        assert_eq!(plan.step, RotationStep::Nothing);
        assert_eq!(plan.signing, Some(1));
        assert_eq!(plan.publish_at, Some(90 * DAY - 3600));
        assert_eq!(plan.next_rotation_at, Some(90 * DAY));
    }

    #[test]
    fn the_next_key_is_published_one_prepublish_ahead_of_its_activation() {
        let keys = [key(1, 0, None)];
        assert_eq!(
            plan(&keys, 90 * DAY - 3600, SCHEDULE).step,
            RotationStep::PublishNext {
                predecessor: 1,
                activate_at: 90 * DAY,
                retire_replaced_at: 91 * DAY,
            }
        );
    }

    #[test]
    fn a_late_publication_still_waits_a_full_prepublish_before_signing() {
        let keys = [key(1, 0, None)];
        let now = 100 * DAY;
        assert_eq!(
            plan(&keys, now, SCHEDULE).step,
            RotationStep::PublishNext {
                predecessor: 1,
                activate_at: now + 3600,
                retire_replaced_at: now + 3600 + DAY,
            }
        );
    }

    #[test]
    fn a_published_next_key_is_not_published_again_and_signs_from_its_activation() {
        let published = [key(1, 0, Some(91 * DAY)), key(2, 90 * DAY, None)];
        let before = plan(&published, 90 * DAY - 1, SCHEDULE);
        assert_eq!(before.step, RotationStep::Nothing);
        assert_eq!(before.signing, Some(1));
        assert_eq!(before.next, Some((2, 90 * DAY)));
        assert_eq!(before.retiring, vec![(1, 91 * DAY)]);
        let after = plan(&published, 90 * DAY, SCHEDULE);
        assert_eq!(after.signing, Some(2));
        assert_eq!(after.next, None);
        assert_eq!(after.step, RotationStep::Nothing);
        // The schedule now counts from the new key's activation.
        assert_eq!(after.next_rotation_at, Some(180 * DAY));
    }

    #[test]
    fn a_key_made_by_hand_restarts_the_schedule() {
        let keys = [key(1, 0, Some(11 * DAY)), key(2, 10 * DAY, None)];
        let plan = plan(&keys, 50 * DAY, SCHEDULE);
        assert_eq!(plan.signing, Some(2));
        assert_eq!(plan.publish_at, Some(100 * DAY - 3600));
        assert_eq!(plan.step, RotationStep::Nothing);
    }

    #[test]
    fn rotation_off_plans_nothing_but_still_reports_the_keys() {
        let off = RotationSchedule {
            interval: 0,
            ..SCHEDULE
        };
        let keys = [key(1, 0, Some(2 * DAY)), key(2, DAY, None)];
        let plan = plan(&keys, 1000 * DAY - 1, off);
        assert_eq!(plan.step, RotationStep::Nothing);
        assert_eq!(
            (plan.signing, plan.publish_at, plan.next_rotation_at),
            (Some(2), None, None)
        );
    }

    #[test]
    fn a_retired_key_never_signs_and_without_an_active_key_nothing_is_planned() {
        let keys = [key(1, 0, Some(DAY))];
        assert_eq!(signing_key(&keys, DAY), None);
        assert_eq!(
            plan(&keys, 1000 * DAY, SCHEDULE).step,
            RotationStep::Nothing
        );
    }

    #[test]
    fn the_newest_active_key_signs_even_beside_an_older_one_without_retirement() {
        let keys = [key(1, 0, None), key(2, 5, None), key(3, 50, None)];
        assert_eq!(signing_key(&keys, 10).map(|k| k.id), Some(2));
        assert!(is_pending(&keys[2], 10));
    }
}
