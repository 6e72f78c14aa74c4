//! `gatehouse backup` and `gatehouse restore` for the embedded (SQLite) database: a consistent
//! copy while the server runs, and a checked, atomic replacement while it is stopped. A
//! PostgreSQL deployment is backed up with its own tools (docs/operations.md).

use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use gatehouse_store::{check_sqlite_file, latest_sqlite_schema, SchemaVersion, Store};

use crate::config::Config;
use crate::startup::{database_url, StartError};

fn setup(message: String) -> StartError {
    StartError::Setup(message)
}

/// The SQLite file the configuration points at; PostgreSQL is refused with where to look.
pub fn sqlite_file(config: &Config) -> Result<PathBuf, StartError> {
    let url = database_url(config)?;
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(setup(
            "database_url is PostgreSQL: back it up with pg_dump and restore it with pg_restore \
             (see docs/operations.md)"
                .into(),
        ));
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(setup(format!("database_url {url} is not a database file")));
    }
    Ok(PathBuf::from(path))
}

/// The file `serve` holds a shared lock on and `restore` an exclusive one, so a restore
/// cannot replace the database under a running server (SQLite's own locks are not held
/// by an idle one).
fn lock_file(database: &Path) -> Result<File, StartError> {
    let path = with_suffix(database, ".lock");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| setup(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| setup(format!("cannot open {}: {e}", path.display())))
}

/// Marks the embedded database as served for as long as the returned file is held (none with
/// PostgreSQL). Fails while a restore is replacing it.
pub fn hold_serving_lock(config: &Config) -> Result<Option<File>, StartError> {
    if !config.database_url.is_empty() && !config.database_url.expose().starts_with("sqlite:") {
        return Ok(None);
    }
    let database = sqlite_file(config)?;
    let file = lock_file(&database)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(setup(format!(
            "{} is being restored; start the server when `gatehouse restore` has finished",
            database.display()
        ))),
        Err(TryLockError::Error(e)) => {
            Err(setup(format!("cannot lock {}: {e}", database.display())))
        }
    }
}

/// Where the master key is read from (never the key itself).
pub fn master_key_place(config: &Config) -> String {
    if config.master_key.is_empty() {
        format!(
            "the file {}",
            Path::new(&config.data_dir).join("master.key").display()
        )
    } else {
        "the configuration (master_key / GATEHOUSE_MASTER_KEY)".to_owned()
    }
}

/// Where the master key is, and why it matters: it is not in the backup.
pub fn master_key_reminder(config: &Config) -> String {
    let place = master_key_place(config);
    format!(
        "The master key is not in the backup; it is in {place}. Signing keys and app secrets in \
         the backup are sealed with it, so the backup is useless without it: keep a copy of the \
         key somewhere safe, apart from the backup."
    )
}

/// Writes a consistent copy of the running database to `to`: first to a partial file beside
/// it, renamed into place when complete. An existing `to` is replaced only with `force`.
pub async fn backup(config: &Config, to: &Path, force: bool) -> Result<PathBuf, StartError> {
    let database = sqlite_file(config)?;
    if !database.is_file() {
        return Err(setup(format!(
            "there is no database at {}: nothing to back up",
            database.display()
        )));
    }
    if to.exists() && !force {
        return Err(setup(format!(
            "{} already exists; choose another file or pass --force to replace it",
            to.display()
        )));
    }
    let partial = with_suffix(to, ".partial");
    remove_if_present(&partial)?;
    // No migrations: the running server's schema is left as it is.
    let store = Store::connect(&database_url(config)?, 1).await?;
    let copied = store.backup_into(&partial).await;
    store.close().await;
    if let Err(err) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(err.into());
    }
    sync(&partial)?;
    std::fs::rename(&partial, to).map_err(|e| {
        setup(format!(
            "cannot rename {} to {}: {e}",
            partial.display(),
            to.display()
        ))
    })?;
    Ok(database)
}

/// What a restore did.
pub struct Restored {
    pub database: PathBuf,
    /// The database it replaced, kept under another name.
    pub kept: Option<PathBuf>,
    pub version: SchemaVersion,
    pub supported: SchemaVersion,
}

/// Replaces the database with the backup at `from`, after checking it is whole and no newer
/// than this binary's schema. The database replaced is kept as
/// `<name>.before-restore-<UTC time>`; the swap is one rename.
pub async fn restore(config: &Config, from: &Path) -> Result<Restored, StartError> {
    let database = sqlite_file(config)?;
    if !from.is_file() {
        return Err(setup(format!("{} is not a file", from.display())));
    }
    let lock = lock_file(&database)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(setup(format!(
                "a Gatehouse server is running on {}; stop it, then restore",
                database.display()
            )))
        }
        Err(TryLockError::Error(e)) => {
            return Err(setup(format!("cannot lock {}: {e}", database.display())))
        }
    }
    // The copy checked is the copy installed, beside the database so the rename is atomic.
    let incoming = with_suffix(&database, ".restoring");
    remove_if_present(&incoming)?;
    std::fs::copy(from, &incoming).map_err(|e| {
        setup(format!(
            "cannot copy {} to {}: {e}",
            from.display(),
            incoming.display()
        ))
    })?;
    let checked = check_incoming(&incoming, from).await;
    let (version, supported) = match checked {
        Ok(versions) => versions,
        Err(err) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(err);
        }
    };
    sync(&incoming)?;
    let kept = if database.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let kept = with_suffix(&database, &format!(".before-restore-{stamp}"));
        // A log left by an unclean stop belongs to the old file: it goes with it, and must not
        // be replayed into the restored one.
        for log in ["-wal", "-shm"] {
            let from_log = with_suffix(&database, log);
            if from_log.exists() {
                std::fs::rename(&from_log, with_suffix(&kept, log))
                    .map_err(|e| setup(format!("cannot move {}: {e}", from_log.display())))?;
            }
        }
        std::fs::hard_link(&database, &kept)
            .or_else(|_| std::fs::copy(&database, &kept).map(|_| ()))
            .map_err(|e| {
                setup(format!(
                    "cannot keep {} as {}: {e}",
                    database.display(),
                    kept.display()
                ))
            })?;
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, &database).map_err(|e| {
        setup(format!(
            "cannot rename {} to {}: {e}",
            incoming.display(),
            database.display()
        ))
    })?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    drop(lock);
    Ok(Restored {
        database,
        kept,
        version,
        supported,
    })
}

async fn check_incoming(
    incoming: &Path,
    from: &Path,
) -> Result<(SchemaVersion, SchemaVersion), StartError> {
    let version = check_sqlite_file(incoming).await.map_err(|e| {
        // Name the file the operator gave, not the working copy.
        setup(
            e.to_string()
                .replace(&incoming.display().to_string(), &from.display().to_string()),
        )
    })?;
    let supported = latest_sqlite_schema();
    if version > supported {
        return Err(setup(format!(
            "{} has schema version {}, newer than this binary's {}: restore it with the \
             Gatehouse release that made it, or a later one",
            from.display(),
            version.0,
            supported.0
        )));
    }
    Ok((version, supported))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), StartError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(setup(format!("cannot remove {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}

fn sync(path: &Path) -> Result<(), StartError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| setup(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(database_url: &str) -> Config {
        let mut config = Config::default();
        config.database_url = crate::config::Secret::new(database_url);
        config
    }

    #[test]
    fn the_database_file_is_read_from_the_url() {
        for (url, path) in [
            (
                "sqlite:/var/lib/gh/gatehouse.db",
                "/var/lib/gh/gatehouse.db",
            ),
            ("sqlite:///var/lib/gh/g.db?mode=rwc", "/var/lib/gh/g.db"),
            ("sqlite:data/g.db", "data/g.db"),
        ] {
            assert_eq!(sqlite_file(&config_with(url)).unwrap(), Path::new(path));
        }
        let refused = sqlite_file(&config_with("postgres://db/gatehouse")).unwrap_err();
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
        assert!(sqlite_file(&config_with("sqlite::memory:")).is_err());
    }
}
