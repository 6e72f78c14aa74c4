//! Token signing keys. Private keys arrive here already encrypted with the master key.

use chrono::NaiveDateTime;

use crate::{now_utc, on_pool, sql, Store, StoreError, StoreFuture};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningKeyRecord {
    pub id: i64,
    pub kid: String,
    pub algorithm: String,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    pub private_key_encrypted: Vec<u8>,
    pub created_at: NaiveDateTime,
    /// From this moment the key is neither published nor accepted.
    pub retire_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub kid: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub private_key_encrypted: Vec<u8>,
}

pub trait SigningKeyStore {
    /// Every key not yet retired at `now`, newest first: the first one signs, all of them verify.
    fn live_signing_keys(&self, now: NaiveDateTime) -> impl StoreFuture<Vec<SigningKeyRecord>>;
    /// Every key ever made, newest first.
    fn all_signing_keys(&self) -> impl StoreFuture<Vec<SigningKeyRecord>>;
    /// Adds a key that becomes the signing key of its algorithm, and schedules every other live
    /// key of that algorithm without a retirement time to retire at `retire_others_at` — in one
    /// transaction. Keys of other algorithms are left as they are.
    fn rotate_in_signing_key(
        &self,
        key: NewSigningKey,
        retire_others_at: NaiveDateTime,
    ) -> impl StoreFuture<SigningKeyRecord>;
}

impl SigningKeyStore for Store {
    async fn live_signing_keys(
        &self,
        now: NaiveDateTime,
    ) -> Result<Vec<SigningKeyRecord>, StoreError> {
        const SQL: &str = "SELECT id, kid, algorithm, public_key, private_key_encrypted, \
            created_at, retire_at FROM signing_keys \
            WHERE deleted_at IS NULL AND (retire_at IS NULL OR retire_at > $1) ORDER BY id DESC";
        self.fetch_all(SQL, (now,)).await
    }

    async fn all_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        const SQL: &str = "SELECT id, kid, algorithm, public_key, private_key_encrypted, \
            created_at, retire_at FROM signing_keys WHERE deleted_at IS NULL ORDER BY id DESC";
        self.fetch_all(SQL, ()).await
    }

    async fn rotate_in_signing_key(
        &self,
        key: NewSigningKey,
        retire_others_at: NaiveDateTime,
    ) -> Result<SigningKeyRecord, StoreError> {
        const RETIRE: &str = "UPDATE signing_keys SET retire_at = $1, updated_at = $2 \
            WHERE retire_at IS NULL AND deleted_at IS NULL AND algorithm = $3";
        const INSERT: &str = "INSERT INTO signing_keys (kid, algorithm, public_key, \
            private_key_encrypted, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
            RETURNING id, kid, algorithm, public_key, private_key_encrypted, created_at, retire_at";
        let now = now_utc();
        let record = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, RETIRE, (retire_others_at, now, &key.algorithm)).await?;
            let record: SigningKeyRecord = sql::fetch_one(
                &mut *tx,
                INSERT,
                (
                    &key.kid,
                    &key.algorithm,
                    &key.public_key,
                    &key.private_key_encrypted,
                    now,
                ),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(record)
        })?;
        Ok(record)
    }
}
