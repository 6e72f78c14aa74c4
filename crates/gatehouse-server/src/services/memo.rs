//! What an instance keeps in memory for a short, configured time instead of asking the database
//! or the shared cache on every request: apps, users as userinfo shows them, whether a token
//! was revoked. Each owner says how a change it makes is seen at once on this instance; a
//! change made elsewhere is seen once the copy is older than the time to live.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub struct Memo<V> {
    ttl: Duration,
    capacity: usize,
    entries: RwLock<Entries<V>>,
}

/// The fewest entries a sweep waits for: below it, a sweep would cost more than it frees.
const FIRST_SWEEP_AT: usize = 64;

struct Entries<V> {
    map: HashMap<Box<str>, (V, Instant)>,
    /// The size at which expired entries are next swept out: twice what the last sweep kept,
    /// so sweeping costs O(1) per insert while the memo holds about what its time to live
    /// covers. Without it, a memo of per-token answers grew to its capacity under a steady
    /// load, one entry per token, although all but the last second's had expired.
    sweep_at: usize,
}

impl<V: Clone> Memo<V> {
    /// Keeps up to `capacity` values for `ttl` each; a zero `ttl` keeps nothing. Past the
    /// capacity it is cleared rather than grown (a flood of distinct keys).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: RwLock::new(Entries {
                map: HashMap::new(),
                sweep_at: FIRST_SWEEP_AT,
            }),
        }
    }

    /// The value kept for `key`, while it is younger than the time to live.
    pub fn get(&self, key: &str) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (value, kept) = entries.map.get(key)?;
        (kept.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: &str, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let Entries { map, sweep_at } = &mut *entries;
        if map.len() >= *sweep_at && !map.contains_key(key) {
            let ttl = self.ttl;
            map.retain(|_, (_, kept)| kept.elapsed() < ttl);
            // Give back the table a burst left behind, keeping room to grow.
            map.shrink_to(map.len() * 2);
            *sweep_at = (map.len() * 2).max(FIRST_SWEEP_AT);
        }
        if map.len() >= self.capacity && !map.contains_key(key) {
            map.clear();
        }
        map.insert(key.into(), (value, Instant::now()));
    }

    pub fn forget(&self, key: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_for_its_time_and_can_be_forgotten() {
        let memo = Memo::new(Duration::from_millis(40), 10);
        memo.insert("a", 1);
        assert_eq!(memo.get("a"), Some(1));
        memo.forget("a");
        assert_eq!(memo.get("a"), None);
        memo.insert("b", 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(memo.get("b"), None);
    }

    #[test]
    fn expired_entries_are_swept_out_as_new_ones_come_so_a_steady_load_stays_small() {
        let memo = Memo::new(Duration::from_millis(30), 1_000_000);
        for round in 0..5 {
            for i in 0..1_000 {
                memo.insert(&format!("{round}-{i}"), i);
            }
            std::thread::sleep(Duration::from_millis(40));
        }
        memo.insert("last", 0);
        let held = memo.entries.read().unwrap().map.len();
        // The last round and what its sweeps could not yet drop, not all 5,000.
        assert!(held <= 2_001, "{held} entries held");
        assert_eq!(memo.get("last"), Some(0));
    }

    #[test]
    fn nothing_is_kept_without_a_time_to_live_and_a_full_memo_starts_over() {
        let off = Memo::new(Duration::ZERO, 10);
        off.insert("a", 1);
        assert_eq!(off.get("a"), None);
        let small = Memo::new(Duration::from_secs(60), 2);
        small.insert("a", 1);
        small.insert("b", 2);
        small.insert("b", 3);
        assert_eq!((small.get("a"), small.get("b")), (Some(1), Some(3)));
        small.insert("c", 4);
        assert_eq!((small.get("a"), small.get("c")), (None, Some(4)));
    }
}
