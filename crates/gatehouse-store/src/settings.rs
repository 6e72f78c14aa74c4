//! Small named values the server keeps about itself (for example when it was bootstrapped).

use crate::{now_utc, Store, StoreError, StoreFuture};

pub trait SettingsStore {
    fn setting(&self, name: &str) -> impl StoreFuture<Option<String>>;
    /// Stores a value unless the name already has one; returns whether this call stored it.
    fn insert_setting_if_absent(&self, name: &str, value: &str) -> impl StoreFuture<bool>;
}

impl SettingsStore for Store {
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT value FROM server_settings WHERE name = $1";
        let value: Option<(String,)> = self.fetch_optional(SQL, (name,)).await?;
        Ok(value.map(|(v,)| v))
    }

    async fn insert_setting_if_absent(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        const SQL: &str =
            "INSERT INTO server_settings (name, value, updated_at) VALUES ($1, $2, $3) \
                           ON CONFLICT (name) DO NOTHING";
        let done = self.execute(SQL, (name, value, now_utc())).await?;
        Ok(done == 1)
    }
}
