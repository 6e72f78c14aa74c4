//! Password hashing: Argon2id with configured parameters, off the async executor and with a
//! bounded number of hashes at once, so a burst of sign-ins cannot take all memory or starve
//! other requests. bcrypt hashes (imported from Melody Auth) verify and are flagged for
//! rehashing.
//!
//! Hashes run on a fixed set of hashing threads (`concurrency` of them, one per core by
//! default) that take jobs from one queue. Each thread owns its working memory (`memory_kib`),
//! allocated at its first job and reused, so memory stays `concurrency` buffers; and a thread
//! that finishes a hash starts the next queued one at once, with no hop through the async
//! runtime in between. A job whose request has gone away while queued is skipped.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::ServiceError;

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Mismatch,
    /// Right password; `rehash` when the stored hash is bcrypt or has other parameters.
    Match {
        rehash: bool,
    },
}

/// A hash to compute, given a hashing thread's working memory.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

pub struct PasswordHasher {
    params: Params,
    /// The hashing threads' queue; they stop when it is dropped with the hasher.
    jobs: mpsc::Sender<Job>,
    /// Working buffers the hashing threads have allocated (one each, at most).
    buffers: Arc<AtomicUsize>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .field("working_buffers", &self.buffers.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// The raw Argon2id output for `password` and `salt`, computed in the lent `memory`.
fn argon2id_output(
    params: &Params,
    password: &[u8],
    salt: argon2::password_hash::Salt<'_>,
    memory: &mut [Block],
) -> argon2::password_hash::Result<Output> {
    let mut salt_buffer = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buffer)?;
    let length = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    Output::init_with(length, |out| {
        argon2(params)
            .hash_password_into_with_memory(password, salt, out, &mut *memory)
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
}

/// Checks an Argon2 hash: in the lent memory when it has the configured parameters (every
/// hash this server made), otherwise the library's own way (other parameters, older variants).
fn verify_argon2(
    params: &Params,
    password: &[u8],
    parsed: &PasswordHash<'_>,
    memory: &mut [Block],
) -> bool {
    let same_params = Params::try_from(parsed).is_ok_and(|p| {
        p.m_cost() == params.m_cost()
            && p.t_cost() == params.t_cost()
            && p.p_cost() == params.p_cost()
    });
    let is_current = parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into())
        && same_params;
    match (&parsed.hash, parsed.salt) {
        (Some(expected), Some(salt))
            if is_current && expected.len() == Params::DEFAULT_OUTPUT_LEN =>
        {
            // `Output` compares in constant time.
            argon2id_output(params, password, salt, memory)
                .is_ok_and(|computed| computed == *expected)
        }
        _ => argon2(params).verify_password(password, parsed).is_ok(),
    }
}

/// One hashing thread: takes jobs until the hasher is dropped, lending each its memory.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>, blocks: usize, buffers: &AtomicUsize) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // Holding the lock while waiting is fine: only one thread can take the next job anyway.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if memory.len() != blocks {
            memory = vec![Block::default(); blocks];
            buffers.fetch_add(1, Ordering::Relaxed);
        }
        // A panicking job drops its reply (its caller gets an error); the thread goes on.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

fn salt() -> SaltString {
    let bytes = super::random_bytes::<16>();
    // 16 bytes always encode to a valid salt.
    SaltString::encode_b64(&bytes).expect("a 16-byte salt encodes")
}

impl PasswordHasher {
    /// `concurrency` = how many hashes may run at once (0: one per CPU core).
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        concurrency: usize,
    ) -> Result<Self, String> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|err| format!("invalid Argon2id parameters: {err}"))?;
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            concurrency
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let buffers = Arc::new(AtomicUsize::new(0));
        let blocks = params.block_count();
        for index in 0..concurrency {
            let (queue, buffers) = (Arc::clone(&queue), Arc::clone(&buffers));
            std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || hashing_thread(&queue, blocks, &buffers))
                .map_err(|err| format!("cannot start a password hashing thread: {err}"))?;
        }
        Ok(Self {
            params,
            jobs,
            buffers,
        })
    }

    /// Queues `work` for the next free hashing thread and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (reply, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The request was cancelled (its client went away) while it waited.
            if reply.is_closed() {
                return;
            }
            let _ = reply.send(work(memory));
        });
        self.jobs
            .send(job)
            .map_err(|_| ServiceError::Internal("password hashing threads stopped".into()))?;
        result
            .await
            .map_err(|_| ServiceError::Internal("password hashing failed".into()))
    }

    /// A PHC-format Argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, ServiceError> {
        let params = self.params.clone();
        self.run(move |memory| {
            let salt = salt();
            let hash = argon2id_output(&params, password.as_bytes(), salt.as_salt(), memory)
                .and_then(|output| {
                    Ok(PasswordHash {
                        algorithm: Algorithm::Argon2id.ident(),
                        version: Some(Version::V0x13.into()),
                        params: ParamsString::try_from(&params)?,
                        salt: Some(salt.as_salt()),
                        hash: Some(output),
                    }
                    .to_string())
                });
            hash.map_err(|err| ServiceError::Internal(format!("password hashing failed: {err}")))
        })
        .await?
    }

    /// Checks `password` against `stored`; with no stored hash it spends the same time and
    /// answers `Mismatch`.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<PasswordCheck, ServiceError> {
        let params = self.params.clone();
        let Some(stored) = stored else {
            // No account: the work of checking a hash this server made (with a fresh salt), so
            // the answer's timing does not say whether the account exists.
            return self
                .run(move |memory| {
                    let _ = argon2id_output(&params, password.as_bytes(), salt().as_salt(), memory);
                    PasswordCheck::Mismatch
                })
                .await;
        };
        self.run(move |memory| {
            if stored.starts_with("$2") {
                return match bcrypt::verify(password.as_bytes(), &stored) {
                    Ok(true) => PasswordCheck::Match { rehash: true },
                    _ => PasswordCheck::Mismatch,
                };
            }
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return PasswordCheck::Mismatch;
            };
            if !verify_argon2(&params, password.as_bytes(), &parsed, memory) {
                return PasswordCheck::Mismatch;
            }
            let current = Params::try_from(&parsed).ok();
            let rehash = parsed.algorithm.as_str() != "argon2id"
                || current.is_none_or(|p| {
                    p.m_cost() != params.m_cost()
                        || p.t_cost() != params.t_cost()
                        || p.p_cost() != params.p_cost()
                });
            PasswordCheck::Match { rehash }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    fn small() -> PasswordHasher {
        PasswordHasher::new(1024, 1, 1, 2).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let hasher = small();
        let hash = hasher.hash("Passw0rd!".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            hasher
                .verify("Passw0rd!".into(), Some(hash.clone()))
                .await
                .unwrap(),
            PasswordCheck::Match { rehash: false }
        );
        assert_eq!(
            hasher.verify("passw0rd!".into(), Some(hash)).await.unwrap(),
            PasswordCheck::Mismatch
        );
        assert_eq!(
            hasher.verify("Passw0rd!".into(), None).await.unwrap(),
            PasswordCheck::Mismatch
        );
        assert_eq!(
            hasher
                .verify("x".into(), Some("garbage".into()))
                .await
                .unwrap(),
            PasswordCheck::Mismatch
        );
    }

    #[tokio::test]
    async fn an_unknown_account_costs_a_hash_as_a_known_one_does() {
        let hasher = small();
        assert_eq!(
            hasher.buffers.load(Ordering::Relaxed),
            0,
            "nothing hashed at start"
        );
        assert_eq!(
            hasher.verify("Passw0rd!".into(), None).await.unwrap(),
            PasswordCheck::Mismatch
        );
        // The check ran on a hashing thread in its working memory, as a real one does.
        assert_eq!(hasher.buffers.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn bcrypt_and_old_parameters_ask_for_a_rehash() {
        let hasher = small();
        let bcrypt_hash = bcrypt::hash("Passw0rd!", 4).unwrap();
        assert_eq!(
            hasher
                .verify("Passw0rd!".into(), Some(bcrypt_hash.clone()))
                .await
                .unwrap(),
            PasswordCheck::Match { rehash: true }
        );
        assert_eq!(
            hasher
                .verify("wrong".into(), Some(bcrypt_hash))
                .await
                .unwrap(),
            PasswordCheck::Mismatch
        );
        let older = PasswordHasher::new(2048, 1, 1, 1).unwrap();
        let old_hash = older.hash("Passw0rd!".into()).await.unwrap();
        assert_eq!(
            hasher
                .verify("Passw0rd!".into(), Some(old_hash))
                .await
                .unwrap(),
            PasswordCheck::Match { rehash: true }
        );
    }

    #[tokio::test]
    async fn pooled_hashes_match_the_reference_implementation() {
        let hasher = small();
        // A hash made by the library's own allocating path verifies through the pooled one...
        let reference = argon2(&hasher.params)
            .hash_password(b"Passw0rd!", &salt())
            .unwrap()
            .to_string();
        assert_eq!(
            hasher
                .verify("Passw0rd!".into(), Some(reference))
                .await
                .unwrap(),
            PasswordCheck::Match { rehash: false }
        );
        // ...and a pooled hash verifies through the library's.
        let pooled = hasher.hash("Passw0rd!".into()).await.unwrap();
        let parsed = PasswordHash::new(&pooled).unwrap();
        assert!(argon2(&hasher.params)
            .verify_password(b"Passw0rd!", &parsed)
            .is_ok());
    }

    #[tokio::test]
    async fn working_memory_is_reused_not_multiplied() {
        let hasher = Arc::new(small());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let hasher = Arc::clone(&hasher);
                tokio::spawn(async move { hasher.hash(format!("Passw0rd!{i}")).await.unwrap() })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // Two hashing threads: never more than two buffers, however many hashes ran.
        assert!(hasher.buffers.load(Ordering::Relaxed) <= 2);
    }

    #[tokio::test]
    async fn a_hash_whose_request_went_away_is_skipped() {
        let hasher = Arc::new(PasswordHasher::new(1024, 1, 1, 1).unwrap());
        // Hold the one hashing thread until the cancelled job is queued behind it.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, holder_started) = tokio::sync::oneshot::channel::<()>();
        let holder = Arc::clone(&hasher);
        let holding = tokio::spawn(async move {
            holder
                .run(move |_| {
                    let _ = started.send(());
                    held.recv().is_ok()
                })
                .await
        });
        holder_started.await.unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let cancelled = hasher.run(move |_| flag.store(true, Ordering::SeqCst));
        // Queue the job, then drop it as a disconnected client's request would be.
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), cancelled).await;
        assert!(waited.is_err(), "the queued job cannot have finished");
        release.send(()).unwrap();
        assert!(holding.await.unwrap().unwrap());
        // A later job runs after the skipped one, on the same thread.
        assert!(hasher.hash("Passw0rd!".into()).await.is_ok());
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_request_and_the_thread_goes_on() {
        let hasher = PasswordHasher::new(1024, 1, 1, 1).unwrap();
        let failed = hasher.run(|_| -> bool { panic!("boom") }).await;
        assert!(matches!(failed, Err(ServiceError::Internal(_))));
        assert!(hasher.hash("Passw0rd!".into()).await.is_ok());
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(PasswordHasher::new(1, 0, 0, 1).is_err());
    }
}
