//! Leases on background jobs that one instance at a time should run.

use chrono::NaiveDateTime;

use crate::{Store, StoreError, StoreFuture};

pub trait LeaseStore {
    /// Takes the lease on job `name` for `holder` until `until`, if nobody holds it at `now`;
    /// returns whether it was taken. Of instances racing for a free lease, one gets it.
    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> impl StoreFuture<bool>;
}

impl LeaseStore for Store {
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        // An upsert whose update happens only when the lease has run out: one statement, so
        // the database decides between racing instances.
        const SQL: &str = "INSERT INTO job_leases (name, holder, lease_until) VALUES ($1, $2, $3) \
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
            lease_until = excluded.lease_until WHERE job_leases.lease_until <= $4";
        Ok(self.execute(SQL, (name, holder, until, now)).await? == 1)
    }
}
