//! Importing a Melody Auth database: which Melody tables and columns are read, the plain rows
//! they arrive as, and the Gatehouse rows they become (`mapping`). Reading the source and writing
//! the target are the store's work; the decisions are here, without I/O.

mod mapping;
mod tables;
mod user;

use std::collections::{HashMap, HashSet};

pub use mapping::*;
pub use tables::*;
pub use user::{user, MappedUser};

/// One Melody row as read: every value as text (`NULL` and absent columns are missing), which is
/// how both Melody dialects can be read with the same query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRow {
    values: HashMap<&'static str, String>,
}

impl SourceRow {
    pub fn new(values: impl IntoIterator<Item = (&'static str, Option<String>)>) -> Self {
        Self {
            values: values
                .into_iter()
                .filter_map(|(column, value)| value.map(|v| (column, v)))
                .collect(),
        }
    }

    pub fn text(&self, column: &str) -> Option<&str> {
        self.values.get(column).map(String::as_str)
    }

    /// A text value, trimmed, with the empty string read as missing.
    pub fn non_empty(&self, column: &str) -> Option<&str> {
        self.text(column).map(str::trim).filter(|s| !s.is_empty())
    }

    pub fn int(&self, column: &str) -> Option<i64> {
        self.text(column).and_then(|s| s.trim().parse().ok())
    }

    /// Melody's booleans: 0/1 (smallint in PostgreSQL), or `true`/`false` if a column was made
    /// boolean by hand.
    pub fn flag(&self, column: &str, default: bool) -> bool {
        match self.text(column).map(str::trim) {
            Some("1" | "t" | "true" | "TRUE") => true,
            Some("0" | "f" | "false" | "FALSE") => false,
            Some(other) => other.parse::<i64>().map(|n| n != 0).unwrap_or(default),
            None => default,
        }
    }

    pub fn id(&self) -> Option<i64> {
        self.int("id")
    }

    pub fn is_deleted(&self) -> bool {
        self.non_empty("deletedAt").is_some()
    }
}

/// A Gatehouse table an imported row goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Roles,
    Scopes,
    ScopeLocales,
    Apps,
    AppScopes,
    Orgs,
    OrgGroups,
    Users,
    UserRoles,
    UserOrgs,
    UserOrgGroups,
    UserPasskeys,
    UserAttributes,
    UserAttributeValues,
    UserAppConsents,
    Banners,
    AppBanners,
}

impl Table {
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Roles => "roles",
            Table::Scopes => "scopes",
            Table::ScopeLocales => "scope_locales",
            Table::Apps => "apps",
            Table::AppScopes => "app_scopes",
            Table::Orgs => "orgs",
            Table::OrgGroups => "org_groups",
            Table::Users => "users",
            Table::UserRoles => "user_roles",
            Table::UserOrgs => "user_orgs",
            Table::UserOrgGroups => "user_org_groups",
            Table::UserPasskeys => "user_passkeys",
            Table::UserAttributes => "user_attributes",
            Table::UserAttributeValues => "user_attribute_values",
            Table::UserAppConsents => "user_app_consents",
            Table::Banners => "banners",
            Table::AppBanners => "app_banners",
        }
    }
}

/// A value for one Gatehouse column. Missing values keep their type, since PostgreSQL checks
/// the type of a NULL parameter too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(Option<String>),
    Int(i64),
    Bool(bool),
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    Time(Option<String>),
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Self {
        Cell::Text(Some(value.into()))
    }
}

/// A row to write, found again by `key` (its natural key among live rows), so a second run
/// finds what the first one wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub table: Table,
    pub key: Vec<(&'static str, Cell)>,
    pub values: Vec<(&'static str, Cell)>,
    /// Other unique rules of the table: a live row matching one of these but not `key` is a
    /// different record holding the same name, and the imported row is skipped.
    pub other_keys: Vec<Vec<(&'static str, Cell)>>,
    /// Melody's `createdAt` and `updatedAt`; the import time when missing.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl Record {
    fn new(table: Table, row: &SourceRow, key: Vec<(&'static str, Cell)>) -> Self {
        Self {
            table,
            key,
            values: Vec::new(),
            other_keys: Vec::new(),
            created_at: row.text("createdAt").and_then(timestamp),
            updated_at: row.text("updatedAt").and_then(timestamp),
        }
    }

    fn with(mut self, values: Vec<(&'static str, Cell)>) -> Self {
        self.values = values;
        self
    }
}

/// Why a Melody row was not imported; rows skipped for the same reason are counted together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skip(pub String);

impl Skip {
    pub fn deleted() -> Self {
        Skip("deleted in Melody (deletedAt is set)".into())
    }

    fn missing(field: &str) -> Self {
        Skip(format!("{field} is empty"))
    }

    fn invalid(field: &str, why: &str) -> Self {
        Skip(format!("{field} {why}"))
    }

    fn unresolved(what: &str) -> Self {
        let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        Skip(format!(
            "references {article} {what} that is not imported (deleted, skipped or missing)"
        ))
    }

    pub fn conflict(table: Table, columns: &[&str]) -> Self {
        Skip(format!(
            "another {} row already has this {}",
            table.as_str(),
            columns.join(" and ")
        ))
    }
}

/// A value of an imported row that was left out while the row itself was imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNote {
    /// `table.column` in Melody's names, e.g. `user.recoveryCodeHash`.
    pub field: &'static str,
    pub reason: String,
}

/// Melody's two seeded admin-panel apps, which map onto Gatehouse's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminApp {
    Spa,
    S2s,
}

/// Melody id → Gatehouse id for every imported (or already present) row, per Melody table, so
/// link rows connect the right records.
#[derive(Debug, Clone, Default)]
pub struct IdMap {
    ids: HashMap<(&'static str, i64), i64>,
    admin_apps: HashSet<i64>,
    /// `authId`s of the live Melody users, for `linkedAuthId`.
    source_auth_ids: HashSet<String>,
}

impl IdMap {
    pub fn insert(&mut self, table: SourceTable, melody_id: i64, gatehouse_id: i64) {
        self.ids.insert((table.name, melody_id), gatehouse_id);
    }

    pub fn get(&self, table: SourceTable, melody_id: i64) -> Option<i64> {
        self.ids.get(&(table.name, melody_id)).copied()
    }

    /// Marks a Melody app as one of its admin-panel apps (mapped onto Gatehouse's own).
    pub fn mark_admin_app(&mut self, melody_id: i64) {
        self.admin_apps.insert(melody_id);
    }

    pub fn is_admin_app(&self, melody_id: i64) -> bool {
        self.admin_apps.contains(&melody_id)
    }

    pub fn add_source_auth_id(&mut self, auth_id: &str) {
        self.source_auth_ids.insert(auth_id.to_owned());
    }

    fn resolve(
        &self,
        row: &SourceRow,
        column: &str,
        table: SourceTable,
        what: &str,
    ) -> Result<i64, Skip> {
        row.int(column)
            .and_then(|id| self.get(table, id))
            .ok_or_else(|| Skip::unresolved(what))
    }
}

/// Melody's timestamp text (`YYYY-MM-DD HH:MM:SS`, ISO 8601 with `T`, fractions or an offset
/// after it) as Gatehouse stores it; Melody writes UTC, so an offset is dropped.
pub fn timestamp(text: &str) -> Option<String> {
    let head = text.trim().get(..19)?;
    let normal: String = head
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 10 && c == 'T' { ' ' } else { c })
        .collect();
    let shape_ok = normal.chars().enumerate().all(|(i, c)| match i {
        4 | 7 => c == '-',
        10 => c == ' ',
        13 | 16 => c == ':',
        _ => c.is_ascii_digit(),
    });
    shape_ok.then_some(normal)
}

/// Lowercase hex SHA-256, how Gatehouse stores client secrets and invitation tokens.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
