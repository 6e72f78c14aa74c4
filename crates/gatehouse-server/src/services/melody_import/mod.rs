//! `gatehouse import melody`: reads a whole Melody Auth database, maps each row (core), and
//! writes what is not there yet in one transaction — rolled back for a dry run.

mod report;

use std::path::PathBuf;

use gatehouse_core::ids::UserId;
use gatehouse_core::melody::{
    map_row, AdminApp, Cell, IdMap, Mapped, Record, Skip, SourceTable, Table, APP, USER,
};
use gatehouse_store::{
    ImportOutcome, ImportTx, MelodySource, MelodySourceError, SettingsStore, SourceTableRows, Store,
};

pub use report::{ImportReport, TableReport};

use crate::error::ServiceError;
use crate::keys::KeyRing;
use crate::services::bootstrap::{ADMIN_S2S_APP_NAME, ADMIN_SPA_APP_NAME, BOOTSTRAP_SETTING};
use crate::services::mfa::otp_seal_context;

/// Where the Melody data comes from.
#[derive(Debug, Clone)]
pub enum MelodyLocation {
    /// Melody's PostgreSQL database (`postgres://…`).
    Postgres(String),
    /// A SQLite file: Melody's D1 database exported, or its local SQLite.
    Sqlite(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] MelodySourceError),
    #[error(
        "the Gatehouse database has not been set up yet: start `gatehouse serve` once (it \
         creates the built-in scopes, the super_admin role and the admin apps), then import"
    )]
    NotBootstrapped,
    #[error("{0}")]
    Service(#[from] ServiceError),
}

impl From<gatehouse_store::StoreError> for ImportError {
    fn from(err: gatehouse_store::StoreError) -> Self {
        ImportError::Service(err.into())
    }
}

/// Reads the whole source (nothing is written if that fails), then imports it.
pub async fn read_source(location: &MelodyLocation) -> Result<Vec<SourceTableRows>, ImportError> {
    let source = match location {
        MelodyLocation::Postgres(url) => MelodySource::open_postgres(url).await?,
        MelodyLocation::Sqlite(path) => MelodySource::open_sqlite(path).await?,
    };
    let tables = source.read_all().await;
    source.close().await;
    Ok(tables?)
}

/// The target must have been bootstrapped, so Melody's built-in scopes, role and admin apps map
/// onto Gatehouse's own.
pub async fn ensure_target_ready(store: &Store) -> Result<(), ImportError> {
    if store.setting(BOOTSTRAP_SETTING).await?.is_none() {
        return Err(ImportError::NotBootstrapped);
    }
    Ok(())
}

/// How far an import has come: `done` of the `total` rows of `table`. Handed to the caller
/// every [`PROGRESS_EVERY`] rows and at each table's end, so a long import can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    pub table: &'static str,
    pub done: usize,
    pub total: usize,
}

/// Rows between two progress reports.
pub const PROGRESS_EVERY: usize = 10_000;

/// Imports what `read_source` read into the target, telling `progress` how far it has come.
pub async fn import(
    store: &Store,
    keys: &KeyRing,
    tables: &[SourceTableRows],
    dry_run: bool,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport, ImportError> {
    ensure_target_ready(store).await?;
    let mut ids = IdMap::default();
    for row in tables
        .iter()
        .filter(|t| t.table.name == USER.name)
        .flat_map(|t| t.rows.iter().flatten())
        .filter(|row| !row.is_deleted())
    {
        if let Some(auth_id) = row.non_empty("authId") {
            ids.add_source_auth_id(auth_id);
        }
    }
    let mut tx = store.begin_import().await?;
    let mut report = ImportReport {
        dry_run,
        tables: Vec::with_capacity(tables.len()),
    };
    for source in tables {
        let table_report = match import_table(&mut tx, keys, source, &mut ids, progress).await {
            Ok(table_report) => table_report,
            Err(err) => {
                tx.rollback().await?;
                return Err(err);
            }
        };
        report.tables.push(table_report);
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(report)
}

async fn import_table(
    tx: &mut ImportTx,
    keys: &KeyRing,
    source: &SourceTableRows,
    ids: &mut IdMap,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<TableReport, ImportError> {
    let table = source.table;
    let total = source.rows.as_ref().map_or(0, Vec::len);
    let mut tell = |done: usize| {
        progress(ImportProgress {
            table: table.name,
            done,
            total,
        })
    };
    let mut report = TableReport {
        table: table.name,
        present_in_source: source.rows.is_some(),
        absent_columns: source.absent_columns.clone(),
        ..TableReport::default()
    };
    for (done, row) in source.rows.iter().flatten().enumerate() {
        if done > 0 && done % PROGRESS_EVERY == 0 {
            tell(done);
        }
        report.read += 1;
        let melody_id = row.id();
        match map_row(table, row, ids) {
            Err(skip) => report.skip(skip.0),
            Ok(Mapped::AdminApp(admin)) => match admin_app_id(tx, admin).await? {
                Some(id) => {
                    if let Some(melody_id) = melody_id {
                        ids.insert(APP, melody_id, id);
                        ids.mark_admin_app(melody_id);
                    }
                    report.already_present += 1;
                    report.note(
                        "Melody's admin-panel app maps onto Gatehouse's own; its client id and \
                         secret are not carried",
                    );
                }
                None => report.skip("Melody's admin-panel app, and Gatehouse's own is missing"),
            },
            Ok(Mapped::Record(record)) => {
                write(tx, table, &record, melody_id, ids, &mut report).await?;
            }
            Ok(Mapped::User(user)) => {
                let Some(id) = write(tx, table, &user.record, melody_id, ids, &mut report).await?
                else {
                    continue;
                };
                for note in &user.notes {
                    report.note(format!("{}: {}", note.field, note.reason));
                }
                if let Some(secret) = &user.otp_secret {
                    // The imported row's id is a user's: typed here, where it comes back.
                    let id = UserId::new(id);
                    let sealed = keys.seal_secret(secret, &otp_seal_context(id));
                    tx.set_otp_secret(id, &sealed).await?;
                }
            }
        }
    }
    tell(total);
    Ok(report)
}

/// Writes one record, counts the outcome and remembers the id; returns the id when the row was
/// inserted by this call.
async fn write(
    tx: &mut ImportTx,
    table: SourceTable,
    record: &Record,
    melody_id: Option<i64>,
    ids: &mut IdMap,
    report: &mut TableReport,
) -> Result<Option<i64>, ImportError> {
    let outcome = tx.import(record).await.map_err(|err| {
        let row = melody_id.map(|id| format!(" {id}")).unwrap_or_default();
        ServiceError::Internal(format!(
            "writing Melody {}{row} into {}: {err}",
            table.name,
            record.table.as_str()
        ))
    })?;
    let (id, inserted) = match outcome {
        ImportOutcome::Inserted(id) => {
            report.imported += 1;
            (id, true)
        }
        ImportOutcome::Present(id) => {
            report.already_present += 1;
            (id, false)
        }
        ImportOutcome::Conflict(columns) => {
            report.skip(Skip::conflict(record.table, &columns).0);
            return Ok(None);
        }
    };
    if let Some(melody_id) = melody_id {
        ids.insert(table, melody_id, id);
    }
    Ok(inserted.then_some(id))
}

/// Gatehouse's own admin app standing in for one of Melody's.
async fn admin_app_id(tx: &mut ImportTx, admin: AdminApp) -> Result<Option<i64>, ImportError> {
    let (name, kind) = match admin {
        AdminApp::Spa => (ADMIN_SPA_APP_NAME, "spa"),
        AdminApp::S2s => (ADMIN_S2S_APP_NAME, "s2s"),
    };
    let key = [("name", Cell::text(name)), ("type", Cell::text(kind))];
    Ok(tx.find(Table::Apps, &key).await?)
}
