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
    entries: RwLock<HashMap<Box<str>, (V, Instant)>>,
}

impl<V: Clone> Memo<V> {
    /// Keeps up to `capacity` values for `ttl` each; a zero `ttl` keeps nothing. Past the
    /// capacity it is cleared rather than grown (a flood of distinct keys).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The value kept for `key`, while it is younger than the time to live.
    pub fn get(&self, key: &str) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (value, kept) = entries.get(key)?;
        (kept.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: &str, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            entries.clear();
        }
        entries.insert(key.into(), (value, Instant::now()));
    }

    pub fn forget(&self, key: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
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
