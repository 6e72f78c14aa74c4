//! The cache for short-lived items (codes, counters, challenges): in-process with TTLs by
//! default, Redis when configured so that every instance sees the same items.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis could not be reached, or refused the connection (TLS, timeout).
    #[error("cannot connect to Redis at {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("Redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// No answer in time: Redis is away and the connection is being made again.
    #[error("Redis did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("could not encode a cache item: {0}")]
    Encode(#[from] serde_json::Error),
}

/// How to connect to Redis, beyond its URL.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// How long one attempt to connect (TCP, TLS handshake and greeting) may take, and how long
    /// a command waits for a connection while Redis is away before it fails.
    pub connect_timeout: Duration,
    /// PEM certificates of the authorities that signed the server's certificate, trusted
    /// instead of the system's (`rediss://` only).
    pub ca_pem: Option<Vec<u8>>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            ca_pem: None,
        }
    }
}

/// One cache, chosen at start-up. Cheap to clone.
#[derive(Clone)]
pub enum Cache {
    Memory(Arc<MemoryCache>),
    Redis(RedisCache),
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cache::Memory(_) => "Cache::Memory",
            Cache::Redis(_) => "Cache::Redis",
        })
    }
}

impl Cache {
    pub fn in_memory() -> Self {
        Cache::Memory(Arc::new(MemoryCache::default()))
    }

    /// Connects to Redis; every key is stored under `prefix` so several deployments can share one
    /// server.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        Self::redis_with(url, prefix, &RedisOptions::default()).await
    }

    /// Connects to Redis at `url` (`redis://…`, or `rediss://…` over TLS) with `options`, and
    /// checks the connection with a PING.
    pub async fn redis_with(
        url: &str,
        prefix: &str,
        options: &RedisOptions,
    ) -> Result<Self, CacheError> {
        let client = match &options.ca_pem {
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
            None => redis::Client::open(url),
        }
        .map_err(|e| CacheError::InvalidUrl(e.to_string()))?;
        // The host and port only: the URL may hold a password.
        let target = client.get_connection_info().addr().to_string();
        // While Redis is away the manager keeps trying, at least every half second, so a
        // returning Redis is used again within that; commands meanwhile fail after `wait`.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_max_delay(RECONNECT_MAX_DELAY);
        // One attempt first, so a wrong URL, certificate or CA stops the start at once rather
        // than after the manager's retries; from then on the manager reconnects by itself.
        let probe = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.connect_timeout));
        let connected = async {
            let mut first = client
                .get_multiplexed_async_connection_with_config(&probe)
                .await?;
            let _: String = redis::cmd("PING").query_async(&mut first).await?;
            ConnectionManager::new_with_config(client, config).await
        };
        let manager = connected.await.map_err(|err| CacheError::Connect {
            target,
            reason: err.to_string(),
        })?;
        Ok(Cache::Redis(RedisCache {
            manager,
            prefix: prefix.to_owned(),
            wait: options.connect_timeout,
        }))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Cache::Memory(_) => "memory",
            Cache::Redis(_) => "redis",
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.get(key)),
            Cache::Redis(r) => r.run(r.conn().get(r.key(key))).await,
        }
    }

    /// The values at two keys, read in one round trip.
    pub async fn get_two(
        &self,
        first: &str,
        second: &str,
    ) -> Result<(Option<String>, Option<String>), CacheError> {
        match self {
            Cache::Memory(m) => Ok((m.get(first), m.get(second))),
            Cache::Redis(r) => {
                let command = redis::cmd("MGET")
                    .arg(r.key(first))
                    .arg(r.key(second))
                    .to_owned();
                let (a, b): (Option<String>, Option<String>) =
                    r.run(command.query_async(&mut r.conn())).await?;
                Ok((a, b))
            }
        }
    }

    /// Stores `value` with no end: it goes only when deleted or when the cache loses it.
    pub async fn set_forever(&self, key: &str, value: &str) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.set(key, value, FOREVER);
                Ok(())
            }
            Cache::Redis(r) => r.run(r.conn().set(r.key(key), value)).await,
        }
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
            Cache::Redis(r) => {
                r.run(r.conn().set_ex(r.key(key), value, ttl_secs(ttl)))
                    .await
            }
        }
    }

    /// Stores `value` as JSON (a pending sign-in, a redeemed code, a session).
    pub async fn set_json<T: serde::Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.set(key, &serde_json::to_string(value)?, ttl).await
    }

    /// Stores the value only when the key is absent; returns whether it was stored. This is the
    /// "use once" primitive (a TOTP step, a one-time challenge).
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.set_if_absent(key, value, ttl)),
            Cache::Redis(r) => {
                let set = redis::cmd("SET")
                    .arg(r.key(key))
                    .arg(value)
                    .arg("EX")
                    .arg(ttl_secs(ttl))
                    .arg("NX")
                    .to_owned();
                let stored: Option<String> = r.run(set.query_async(&mut r.conn())).await?;
                Ok(stored.is_some())
            }
        }
    }

    /// Reads and deletes in one step, so a single-use item is consumed exactly once.
    pub async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.take(key)),
            Cache::Redis(r) => {
                let take = redis::cmd("GETDEL").arg(r.key(key)).to_owned();
                r.run(take.query_async(&mut r.conn())).await
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.take(key);
                Ok(())
            }
            Cache::Redis(r) => r.run(r.conn().del(r.key(key))).await,
        }
    }

    /// The current value of a counter made by [`Cache::increment`]: 0 when there is none.
    pub async fn counter(&self, key: &str) -> Result<i64, CacheError> {
        Ok(self
            .get(key)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Adds one to a counter and returns the new value. The window (`ttl`) starts with the first
    /// increment and is not extended by later ones.
    pub async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.increment(key, ttl)),
            Cache::Redis(r) => {
                let key = r.key(key);
                let pipe = redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&key)
                    .arg(0)
                    .arg("EX")
                    .arg(ttl_secs(ttl))
                    .arg("NX")
                    .ignore()
                    .incr(&key, 1)
                    .to_owned();
                let (count,): (i64,) = r.run(pipe.query_async(&mut r.conn())).await?;
                Ok(count)
            }
        }
    }

    /// Keys (without the deployment prefix) that start with `prefix`.
    pub async fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.keys_with_prefix(prefix)),
            Cache::Redis(r) => {
                let pattern = format!("{}*", escape_glob(&r.key(prefix)));
                let scan = async {
                    let mut conn = r.conn();
                    let mut found = Vec::new();
                    let mut iter: redis::AsyncIter<'_, String> = conn.scan_match(pattern).await?;
                    while let Some(item) = iter.next_item().await {
                        let key = item?;
                        if let Some(stripped) = key.strip_prefix(&r.prefix) {
                            found.push(stripped.to_owned());
                        }
                    }
                    Ok(found)
                };
                let mut found = r.run(scan).await?;
                found.sort();
                Ok(found)
            }
        }
    }

    /// How long the item under `key` has left, or `None` when there is none.
    pub async fn time_left(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.time_left(key)),
            Cache::Redis(r) => {
                let pttl = redis::cmd("PTTL").arg(r.key(key)).to_owned();
                let millis: i64 = r.run(pttl.query_async(&mut r.conn())).await?;
                // -2: no such key; -1: a key without expiry (`set_forever`): neither has a time.
                Ok(u64::try_from(millis).ok().map(Duration::from_millis))
            }
        }
    }

    /// Marks `member` of the set `set` for `ttl` from now; a mark that already ends later
    /// stays. A set of marks is counted in one step, however many keys the cache holds.
    pub async fn mark(&self, set: &str, member: &str, ttl: Duration) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.mark(set, member, ttl);
                Ok(())
            }
            Cache::Redis(r) => {
                // A sorted set scored by the end of each mark (Unix milliseconds).
                let now = unix_millis();
                let end = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
                let pipe = redis::pipe()
                    .atomic()
                    .cmd("ZADD")
                    .arg(r.key(set))
                    .arg("GT")
                    .arg(end)
                    .arg(member)
                    .ignore()
                    .cmd("ZREMRANGEBYSCORE")
                    .arg(r.key(set))
                    .arg("-inf")
                    .arg(now)
                    .ignore()
                    .to_owned();
                r.run(pipe.query_async(&mut r.conn())).await
            }
        }
    }

    /// Removes the mark of `member` in `set`.
    pub async fn unmark(&self, set: &str, member: &str) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.unmark(set, member);
                Ok(())
            }
            Cache::Redis(r) => r.run(r.conn().zrem(r.key(set), member)).await,
        }
    }

    /// How many members of `set` are marked now.
    pub async fn count_marked(&self, set: &str) -> Result<i64, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.count_marked(set)),
            Cache::Redis(r) => {
                let zcount = redis::cmd("ZCOUNT")
                    .arg(r.key(set))
                    .arg(format!("({}", unix_millis()))
                    .arg("+inf")
                    .to_owned();
                r.run(zcount.query_async(&mut r.conn())).await
            }
        }
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        match self {
            Cache::Memory(_) => Ok(()),
            Cache::Redis(r) => {
                let _: String = r.run(redis::cmd("PING").query_async(&mut r.conn())).await?;
                Ok(())
            }
        }
    }
}

/// Milliseconds since the Unix epoch by this machine's clock: marks in Redis are shared by
/// every instance, so they end at a wall-clock time rather than at an `Instant`.
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// "No end" for the in-process cache: a century.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The longest pause between two attempts to reconnect to Redis (the manager's backoff).
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct RedisCache {
    manager: ConnectionManager,
    prefix: String,
    /// The longest a command waits, for the connection (made again while Redis is away) and
    /// for its answer.
    wait: Duration,
}

impl RedisCache {
    fn conn(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// Runs one command, or fails after `wait`: without the bound a command waits for the
    /// manager's whole round of reconnection attempts (seconds) while Redis is away.
    async fn run<T>(
        &self,
        command: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(self.wait, command).await {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(CacheError::Timeout(self.wait)),
        }
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }
}

struct Entry {
    value: String,
    expires_at: Instant,
}

/// The in-process cache: a map with deadlines, swept of expired entries as it grows, and the
/// sets of marks ([`Cache::mark`]), each a map of member to deadline.
#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<Entries>,
    marks: Mutex<HashMap<String, HashMap<String, Instant>>>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    writes_since_sweep: usize,
}

impl Entries {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|e| e.expires_at <= now) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    fn insert(&mut self, key: &str, value: String, ttl: Duration, now: Instant) {
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= 1024 {
            self.map.retain(|_, e| e.expires_at > now);
            self.writes_since_sweep = 0;
        }
        let expires_at = now + ttl.max(Duration::from_secs(1));
        self.map.insert(key.to_owned(), Entry { value, expires_at });
    }
}

impl MemoryCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave a half-written entry, so keep going.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &str) -> Option<String> {
        self.lock()
            .live(key, Instant::now())
            .map(|e| e.value.clone())
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) {
        self.lock()
            .insert(key, value.to_owned(), ttl, Instant::now());
    }

    fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.live(key, now).is_some() {
            return false;
        }
        entries.insert(key, value.to_owned(), ttl, now);
        true
    }

    fn take(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.live(key, now)?;
        entries.map.remove(key).map(|e| e.value)
    }

    fn increment(&self, key: &str, ttl: Duration) -> i64 {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some(entry) = entries.live(key, now) {
            let count = entry.value.parse::<i64>().unwrap_or(0) + 1;
            entry.value = count.to_string();
            return count;
        }
        entries.insert(key, "1".to_owned(), ttl, now);
        1
    }

    fn time_left(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        self.lock()
            .live(key, now)
            .map(|e| e.expires_at.saturating_duration_since(now))
    }

    fn lock_marks(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Instant>>> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark(&self, set: &str, member: &str, ttl: Duration) {
        let now = Instant::now();
        let end = now + ttl;
        let mut marks = self.lock_marks();
        let members = marks.entry(set.to_owned()).or_default();
        members.retain(|_, until| *until > now);
        let until = members.entry(member.to_owned()).or_insert(end);
        *until = (*until).max(end);
    }

    fn unmark(&self, set: &str, member: &str) {
        if let Some(members) = self.lock_marks().get_mut(set) {
            members.remove(member);
        }
    }

    fn count_marked(&self, set: &str) -> i64 {
        let now = Instant::now();
        self.lock_marks().get(set).map_or(0, |members| {
            let live = members.values().filter(|until| **until > now).count();
            i64::try_from(live).unwrap_or(i64::MAX)
        })
    }

    fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let now = Instant::now();
        let entries = self.lock();
        let mut keys: Vec<String> = entries
            .map
            .iter()
            .filter(|(k, e)| k.starts_with(prefix) && e.expires_at > now)
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn marks_are_counted_once_per_member_until_they_end_or_are_removed() {
        let cache = Cache::in_memory();
        let hour = Duration::from_secs(3600);
        assert_eq!(cache.count_marked("locked").await.unwrap(), 0);
        cache.mark("locked", "a@example.com", hour).await.unwrap();
        cache.mark("locked", "a@example.com", hour).await.unwrap();
        cache.mark("locked", "b@example.com", hour).await.unwrap();
        cache.mark("other", "a@example.com", hour).await.unwrap();
        assert_eq!(cache.count_marked("locked").await.unwrap(), 2);
        cache.unmark("locked", "a@example.com").await.unwrap();
        assert_eq!(cache.count_marked("locked").await.unwrap(), 1);
        cache
            .mark("locked", "c@example.com", Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(cache.count_marked("locked").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn time_left_is_that_of_the_item_and_none_without_one() {
        let cache = Cache::in_memory();
        assert_eq!(cache.time_left("FLA-x").await.unwrap(), None);
        cache
            .increment("FLA-x", Duration::from_secs(600))
            .await
            .unwrap();
        let left = cache.time_left("FLA-x").await.unwrap().unwrap();
        assert!(left <= Duration::from_secs(600) && left > Duration::from_secs(590));
    }
}
