//! melody-import: `gatehouse import melody` of a large Melody Auth database, timed through the
//! real binary.
//!
//! It makes a Melody SQLite database (a D1 export's shape: the tables every Melody database
//! has, with N users — bcrypt hashes, names, one in ten with email MFA, one in 50 with a TOTP
//! secret, one in 20 with a role, one in a hundred deleted), starts the server once on a fresh
//! target (SQLite in a data folder, or a scratch PostgreSQL database) so it is set up, then runs
//! `gatehouse import melody --from-sqlite` against it, its progress lines passed through, and
//! checks the report: every live user imported.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Executor;

use crate::seed;

/// A bcrypt hash of Melody's shape (cost 12); the import keeps it for the first sign-in.
const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
/// The master key of a PostgreSQL target (a scratch database, dropped at the end).
const MASTER_KEY: &str = "6d656c6f64792d696d706f72742d62656e63682d6d61737465722d6b65792121";
/// A base32 TOTP secret of 20 bytes, as Melody keeps it.
const OTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// The tables every Melody database has, with the columns the import reads from them.
const SCHEMA: [&str; 6] = [
    "CREATE TABLE \"role\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL, \
     \"note\" TEXT NOT NULL DEFAULT '', \"createdAt\" TEXT, \"updatedAt\" TEXT, \"deletedAt\" TEXT)",
    "CREATE TABLE \"scope\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL, \
     \"type\" TEXT NOT NULL, \"note\" TEXT NOT NULL DEFAULT '', \"createdAt\" TEXT, \
     \"updatedAt\" TEXT, \"deletedAt\" TEXT)",
    "CREATE TABLE \"app\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL, \
     \"type\" TEXT NOT NULL, \"clientId\" TEXT NOT NULL, \"secret\" TEXT NOT NULL, \
     \"createdAt\" TEXT, \"updatedAt\" TEXT, \"deletedAt\" TEXT)",
    "CREATE TABLE \"app_scope\" (\"id\" INTEGER PRIMARY KEY, \"appId\" INTEGER NOT NULL, \
     \"scopeId\" INTEGER NOT NULL, \"createdAt\" TEXT, \"updatedAt\" TEXT, \"deletedAt\" TEXT)",
    "CREATE TABLE \"user\" (\"id\" INTEGER PRIMARY KEY, \"authId\" TEXT NOT NULL, \
     \"email\" TEXT, \"password\" TEXT, \"firstName\" TEXT, \"lastName\" TEXT, \
     \"emailVerified\" INTEGER NOT NULL DEFAULT 0, \"isActive\" INTEGER NOT NULL DEFAULT 1, \
     \"loginCount\" INTEGER NOT NULL DEFAULT 0, \"locale\" TEXT NOT NULL DEFAULT 'en', \
     \"otpSecret\" TEXT NOT NULL DEFAULT '', \"mfaTypes\" TEXT NOT NULL DEFAULT '', \
     \"otpVerified\" INTEGER NOT NULL DEFAULT 0, \"createdAt\" TEXT, \"updatedAt\" TEXT, \
     \"deletedAt\" TEXT)",
    "CREATE TABLE \"user_role\" (\"id\" INTEGER PRIMARY KEY, \"userId\" INTEGER NOT NULL, \
     \"roleId\" INTEGER NOT NULL, \"createdAt\" TEXT, \"updatedAt\" TEXT, \"deletedAt\" TEXT)",
];

/// Writes the Melody database of `users` users at `path`.
async fn make_source(path: &Path, users: i64) -> Result<(), String> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .map_err(|e| e.to_string())?;
    let fill = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users}) \
         INSERT INTO \"user\" (\"id\", \"authId\", \"email\", \"password\", \"firstName\", \
         \"lastName\", \"emailVerified\", \"loginCount\", \"otpSecret\", \"mfaTypes\", \
         \"otpVerified\", \"createdAt\", \"updatedAt\", \"deletedAt\") \
         SELECT i, printf('6f1c2a9e-5b3d-4c7e-9a10-%012d', i), 'melody' || i || '@example.com', \
         '{BCRYPT}', 'First' || i, 'Last' || (i % 5000), i % 2, i % 7, \
         CASE WHEN i % 50 = 0 THEN '{OTP_SECRET}' ELSE '' END, \
         CASE WHEN i % 50 = 0 THEN 'otp' WHEN i % 10 = 1 THEN 'email' ELSE '' END, \
         CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, '2024-01-02 03:04:05', '2024-01-03 03:04:05', \
         CASE WHEN i % 100 = 37 THEN '2024-06-01 00:00:00' END FROM n"
    );
    let roles = "INSERT INTO \"role\" (\"id\", \"name\") VALUES (1, 'super_admin'), \
                 (2, 'editor'), (3, 'viewer')";
    let user_roles = "INSERT INTO \"user_role\" (\"userId\", \"roleId\") \
                      SELECT \"id\", 2 + \"id\" % 2 FROM \"user\" WHERE \"id\" % 20 = 3";
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    for sql in SCHEMA
        .iter()
        .copied()
        .chain([fill.as_str(), roles, user_roles])
    {
        tx.execute(sql).await.map_err(|e| format!("{e}: {sql}"))?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    pool.close().await;
    Ok(())
}

/// The users a Melody database of `users` has alive (one in a hundred is deleted).
fn live_users(users: i64) -> i64 {
    users - (users + 63) / 100
}

pub async fn run(server: &Path, users: i64, postgres: Option<String>) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let database = format!("gh_bench_import_{}", std::process::id());
    let target = match &postgres {
        Some(base) => Some(seed::scratch_postgres(base, &database).await?),
        None => None,
    };
    let result = measure(server, &dir, target.as_deref(), users).await;
    if let Some(base) = &postgres {
        seed::drop_scratch_postgres(base, &database).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(
    server: &Path,
    dir: &Path,
    target: Option<&str>,
    users: i64,
) -> Result<(), String> {
    let data_dir = dir.join("data");
    let source = dir.join("melody.sqlite");
    let made = Instant::now();
    make_source(&source, users).await?;
    println!(
        "melody-import: a Melody database of {users} users made in {:.1} s",
        made.elapsed().as_secs_f64()
    );
    if let Some(url) = target {
        // PostgreSQL needs the key every instance shares; the import opens the same keys.
        std::env::set_var("GATEHOUSE_DATABASE_URL", url);
        std::env::set_var("GATEHOUSE_MASTER_KEY", MASTER_KEY);
    }
    // Started once, the server sets the target up (scopes, roles, admin apps) as an import needs.
    let (mut child, _) = crate::start_server(server, &data_dir)?;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();

    let binary = server
        .canonicalize()
        .map_err(|e| format!("cannot find {}: {e}", server.display()))?;
    let started = Instant::now();
    let output = Command::new(&binary)
        .current_dir(&data_dir)
        .env("GATEHOUSE_DATA_DIR", &data_dir)
        .args(["import", "melody", "--json", "--from-sqlite"])
        .arg(&source)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let took = started.elapsed();
    if !output.status.success() {
        return Err(format!("the import failed ({})", output.status));
    }
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("the report: {e}"))?;
    let user_table = report["tables"]
        .as_array()
        .and_then(|tables| tables.iter().find(|t| t["table"] == "user"))
        .ok_or("the report has no user table")?;
    let imported = user_table["imported"].as_i64().unwrap_or(0);
    let expected = live_users(users);
    println!(
        "  {} target: {imported} users imported in {:.1} s ({:.0} a second)",
        if target.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        took.as_secs_f64(),
        imported as f64 / took.as_secs_f64().max(0.001)
    );
    if imported != expected {
        return Err(format!(
            "{imported} users imported where {expected} are live in the source"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_in_a_hundred_is_deleted() {
        // Deleted: the ids ending in 37.
        assert_eq!(live_users(36), 36);
        assert_eq!(live_users(37), 36);
        assert_eq!(live_users(100), 99);
        assert_eq!(live_users(137), 135);
        assert_eq!(live_users(1_000_000), 990_000);
    }
}
