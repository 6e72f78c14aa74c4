//! Internal ids of records, typed so that one kind of id cannot be passed where another is meant.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user's internal id (the `users.id` column). It is parsed once, where it enters (a path, a
/// form, a stored row or transaction), and travels as this type to the store. Serialized as the
/// bare number, so JSON, stored transactions and URLs keep their shape.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
pub struct UserId(i64);

impl UserId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for UserId {
    fn from(id: i64) -> Self {
        Self(id)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::UserId;

    #[test]
    fn a_user_id_reads_and_writes_as_its_bare_number() {
        let id: UserId = serde_json::from_str("42").expect("a number");
        assert_eq!(id, UserId::new(42));
        assert_eq!(serde_json::to_string(&id).expect("json"), "42");
        assert_eq!(id.to_string(), "42");
        assert!(serde_json::from_str::<UserId>("\"42\"").is_err());
    }
}
