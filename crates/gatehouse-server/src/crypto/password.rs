//! Password hashing: Argon2id with configured parameters, off the async executor and behind a
//! semaphore so a burst of sign-ins cannot take all memory or starve other requests. bcrypt
//! hashes (imported from Melody Auth) verify and are flagged for rehashing.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

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

pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when there is no account so timing says nothing.
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
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
        let dummy = argon2(&params)
            .hash_password(super::random_hex::<16>().as_bytes(), &salt())
            .map_err(|err| format!("cannot hash with these Argon2id parameters: {err}"))?
            .to_string();
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            concurrency
        };
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("password hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| ServiceError::Internal(format!("password hashing failed: {err}")))
    }

    /// A PHC-format Argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, ServiceError> {
        let params = self.params.clone();
        self.run(move || {
            argon2(&params)
                .hash_password(password.as_bytes(), &salt())
                .map(|h| h.to_string())
                .map_err(|err| ServiceError::Internal(format!("password hashing failed: {err}")))
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
        let (stored, known) = match stored {
            Some(hash) => (hash, true),
            None => (self.dummy.clone(), false),
        };
        self.run(move || {
            if stored.starts_with("$2") {
                return match bcrypt::verify(password.as_bytes(), &stored) {
                    Ok(true) if known => PasswordCheck::Match { rehash: true },
                    _ => PasswordCheck::Mismatch,
                };
            }
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return PasswordCheck::Mismatch;
            };
            let ok = argon2(&params)
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            if !ok || !known {
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

    #[test]
    fn bad_parameters_are_refused() {
        assert!(PasswordHasher::new(1, 0, 0, 1).is_err());
    }
}
