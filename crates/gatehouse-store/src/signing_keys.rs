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
    /// From this moment the key signs; before it, it is only published. `None`: from
    /// `created_at`.
    pub activate_at: Option<NaiveDateTime>,
    /// The key this one succeeds on the rotation schedule (`None`: made by hand or first).
    pub predecessor_id: Option<i64>,
}

impl SigningKeyRecord {
    /// When the key starts (or started) signing.
    pub fn active_from(&self) -> NaiveDateTime {
        self.activate_at.unwrap_or(self.created_at)
    }
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
    /// Publishes `key` as the scheduled successor of key `predecessor_id`, signing from
    /// `activate_at`, and schedules every other live key of its algorithm without a retirement
    /// time to retire at `retire_others_at` — in one transaction. A key has at most one
    /// successor and a key with a newer one has none, so of instances racing to publish it one
    /// wins; the others get `None` and their key is dropped.
    fn publish_next_signing_key(
        &self,
        key: NewSigningKey,
        predecessor_id: i64,
        activate_at: NaiveDateTime,
        retire_others_at: NaiveDateTime,
    ) -> impl StoreFuture<Option<SigningKeyRecord>>;
}

const COLUMNS: &str = "id, kid, algorithm, public_key, private_key_encrypted, created_at, \
    retire_at, activate_at, predecessor_id";

impl SigningKeyStore for Store {
    async fn live_signing_keys(
        &self,
        now: NaiveDateTime,
    ) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM signing_keys \
             WHERE deleted_at IS NULL AND (retire_at IS NULL OR retire_at > $1) ORDER BY id DESC"
        );
        self.fetch_all(&sql, (now,)).await
    }

    async fn all_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM signing_keys WHERE deleted_at IS NULL ORDER BY id DESC");
        self.fetch_all(&sql, ()).await
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
            RETURNING id, kid, algorithm, public_key, private_key_encrypted, created_at, retire_at, \
            activate_at, predecessor_id";
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
            self.commit(tx).await?;
            Ok::<_, StoreError>(record)
        })?;
        Ok(record)
    }

    async fn publish_next_signing_key(
        &self,
        key: NewSigningKey,
        predecessor_id: i64,
        activate_at: NaiveDateTime,
        retire_others_at: NaiveDateTime,
    ) -> Result<Option<SigningKeyRecord>, StoreError> {
        // The unique index on predecessor_id is the compare-and-set: a racing instance's insert
        // waits for the winner's, then does nothing.
        let insert = format!(
            "INSERT INTO signing_keys (kid, algorithm, public_key, private_key_encrypted, \
             predecessor_id, activate_at, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $7 WHERE NOT EXISTS (SELECT 1 FROM signing_keys \
             WHERE algorithm = $2 AND id > $5 AND deleted_at IS NULL) \
             ON CONFLICT (predecessor_id) DO NOTHING RETURNING {COLUMNS}"
        );
        const RETIRE: &str = "UPDATE signing_keys SET retire_at = $1, updated_at = $2 \
            WHERE retire_at IS NULL AND deleted_at IS NULL AND algorithm = $3 AND id <> $4";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let record: Option<SigningKeyRecord> = sql::fetch_optional(
                &mut *tx,
                &insert,
                (
                    &key.kid,
                    &key.algorithm,
                    &key.public_key,
                    &key.private_key_encrypted,
                    predecessor_id,
                    activate_at,
                    now,
                ),
            )
            .await?;
            let Some(record) = record else {
                return Ok::<_, StoreError>(None);
            };
            sql::execute(
                &mut *tx,
                RETIRE,
                (retire_others_at, now, &key.algorithm, record.id),
            )
            .await?;
            self.commit(tx).await?;
            Ok(Some(record))
        })
    }
}
