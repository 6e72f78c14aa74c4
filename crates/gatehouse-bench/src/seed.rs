//! seed-users: fills a SQLite or PostgreSQL database with many users, fast, for the benchmarks
//! that need a large user base (dashboard, users-search) and for trying the admin panel at scale.
//!
//! Users are written with multi-row inserts, 50,000 to a transaction. Each is made from its
//! number `i` alone, so a run is the same every time: varied first and last names (a few in 20
//! without), emails of several shapes over a dozen domains, created over three years; a tenth
//! with TOTP, a tenth with email codes, one in 25 with TOTP and SMS, one in a hundred deleted. A
//! few roles go to one user in 20, and one in 10 belongs to (and works in) one of five
//! organizations.

use std::borrow::Cow;
use std::time::Instant;

use chrono::{Duration as Span, NaiveDateTime};
use gatehouse_store::now_utc;
use sqlx::migrate::Migrator;

pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../gatehouse-store/migrations/sqlite");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../gatehouse-store/migrations/postgres");

const PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
const ROWS_PER_INSERT: i64 = 1_000;
const INSERTS_PER_TRANSACTION: i64 = 50;

const FIRST_NAMES: [&str; 64] = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "Donald",
    "Hedy",
    "John",
    "Sophie",
    "Niklaus",
    "Mary",
    "Bjarne",
    "Annie",
    "Guido",
    "Joan",
    "James",
    "Evelyn",
    "Robert",
    "Carol",
    "Leslie",
    "Shafi",
    "Whitfield",
    "Lynn",
    "Butler",
    "Anita",
    "Martin",
    "Jean",
    "Charles",
    "Elizabeth",
    "Vint",
    "Susan",
    "Andrew",
    "Lucía",
    "Mateo",
    "Chloé",
    "Björn",
    "Zoë",
    "Nikolai",
    "Aiko",
    "Ravi",
    "Fatima",
    "Kwame",
    "Ingrid",
    "Pablo",
    "Mei",
    "Olusegun",
    "Dara",
    "Yusuf",
    "Amara",
    "Léa",
    "Tomás",
    "Priya",
    "Hiroshi",
    "Noor",
    "Emil",
    "Saoirse",
];

const LAST_NAMES: [&str; 64] = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "Knuth",
    "Lamarr",
    "McCarthy",
    "Wilson",
    "Wirth",
    "Keller",
    "Stroustrup",
    "Easley",
    "van Rossum",
    "Clarke",
    "Gosling",
    "Berezin",
    "Kahn",
    "Shaw",
    "Lamport",
    "Goldwasser",
    "Diffie",
    "Conway",
    "Lampson",
    "Borg",
    "Fowler",
    "Sammet",
    "Babbage",
    "Feinler",
    "Cerf",
    "Kare",
    "Tanenbaum",
    "García",
    "Müller",
    "O'Brien",
    "Nakamura",
    "Okafor",
    "Ivanova",
    "Dubois",
    "Kowalski",
    "Andersson",
    "Rossi",
    "Haddad",
    "Nguyen",
    "Singh",
    "Mensah",
    "Fernández",
    "Novak",
    "Yilmaz",
    "Costa",
    "Schmidt",
    "Kim",
    "Ahmed",
    "Murphy",
    "Papadopoulos",
    "Silva",
];

const DOMAINS: [&str; 12] = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "proton.me",
    "icloud.com",
    "fastmail.com",
    "acme-corp.com",
    "globex.example",
    "initech.io",
    "umbrella.org",
    "example.com",
    "mail.de",
];

const ROLES: [&str; 3] = ["seed-editor", "seed-support", "seed-auditor"];
const ORGS: [&str; 5] = ["northwind", "contoso", "fabrikam", "tailspin", "wingtip"];

/// The benchmark's database, through its own pool (bulk statements are not the store's).
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! on {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::seed::Pool::Sqlite($p) => $body,
            $crate::seed::Pool::Postgres($p) => $body,
        }
    };
}
impl Pool {
    /// Connects to `url` (a SQLite file is created when missing, in WAL mode as the server
    /// keeps it).
    pub async fn connect(url: &str) -> Result<Self, String> {
        if is_postgres(url) {
            let pool = sqlx::PgPool::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(Pool::Postgres(pool));
        }
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .map_err(|e| e.to_string())?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let pool = sqlx::SqlitePool::connect_with(options)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Pool::Sqlite(pool))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Pool::Postgres(_))
    }

    /// Runs the migrations before `version` (those already applied are skipped).
    pub async fn migrate_before(&self, version: i64) -> Result<(), String> {
        let all = if self.is_postgres() {
            &POSTGRES_MIGRATIONS
        } else {
            &SQLITE_MIGRATIONS
        };
        let before = Migrator {
            migrations: Cow::Owned(
                all.iter()
                    .filter(|m| m.version < version)
                    .cloned()
                    .collect(),
            ),
            // A database already past `version` is left as it is.
            ignore_missing: true,
            ..Migrator::DEFAULT
        };
        on!(self, |p| before.run(p).await.map_err(|e| e.to_string()))
    }

    pub async fn run(&self, sql: &str, users: Option<i64>) -> Result<(), String> {
        on!(self, |p| {
            let query = sqlx::query(sql);
            let query = match users {
                Some(n) => query.bind(n),
                None => query,
            };
            query
                .execute(p)
                .await
                .map(|_| ())
                .map_err(|e| format!("{e}: {sql}"))
        })
    }

    /// Runs each statement in one transaction.
    pub async fn run_in_transaction(&self, statements: &[String]) -> Result<(), String> {
        on!(self, |p| {
            let mut tx = p.begin().await.map_err(|e| e.to_string())?;
            for sql in statements {
                sqlx::query(sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| format!("{e}: {}", &sql[..sql.len().min(300)]))?;
            }
            tx.commit().await.map_err(|e| e.to_string())
        })
    }

    /// The first column of the first row of `sql`, with `$1` bound to `since` when given.
    pub async fn number(
        &self,
        sql: &str,
        since: Option<chrono::NaiveDateTime>,
    ) -> Result<i64, String> {
        on!(self, |p| {
            let query = sqlx::query_as::<_, (i64,)>(sql);
            let query = match since {
                Some(at) => query.bind(at),
                None => query,
            };
            query
                .fetch_one(p)
                .await
                .map(|(n,)| n)
                .map_err(|e| format!("{e}: {sql}"))
        })
    }

    /// Rows of (text, count) from `sql`, with `$1` bound to `since`.
    pub async fn pairs(
        &self,
        sql: &str,
        since: chrono::NaiveDateTime,
    ) -> Result<Vec<(String, i64)>, String> {
        on!(self, |p| sqlx::query_as::<_, (String, i64)>(sql)
            .bind(since)
            .fetch_all(p)
            .await
            .map_err(|e| format!("{e}: {sql}")))
    }

    pub async fn close(&self) {
        on!(self, |p| p.close().await)
    }
}

/// `base` with its database replaced by `database`.
fn with_database(base: &str, database: &str) -> Result<String, String> {
    let (head, query) = match base.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (base, String::new()),
    };
    let (server, _) = head
        .rsplit_once('/')
        .filter(|(server, _)| server.contains("://"))
        .ok_or("the PostgreSQL URL needs a database: postgres://user@host:port/database")?;
    Ok(format!("{server}/{database}{query}"))
}

/// Makes the empty database `database` on the server of `base`; returns its URL.
pub async fn scratch_postgres(base: &str, database: &str) -> Result<String, String> {
    let url = with_database(base, database)?;
    let admin = sqlx::PgPool::connect(base)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&admin)
        .await
        .map_err(|e| e.to_string())?;
    admin.close().await;
    Ok(url)
}

/// Drops what [`scratch_postgres`] made, whoever is still connected.
pub async fn drop_scratch_postgres(base: &str, database: &str) {
    if let Ok(admin) = sqlx::PgPool::connect(base).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .execute(&admin)
            .await;
        admin.close().await;
    }
}

pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A well-mixed number from `i` (SplitMix64), so that names and shapes do not repeat in step.
fn mix(i: i64) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], n: u64) -> &'a str {
    list[(n % list.len() as u64) as usize]
}

/// A name as the local part of an email: ASCII letters only, accents dropped.
fn local(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ë' => Some('e'),
            'í' => Some('i'),
            'ó' | 'ö' => Some('o'),
            'ú' | 'ü' => Some('u'),
            c if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The user numbered `i`, as a row of the `INSERT` below.
fn user_row(i: i64, batch: &str, now: NaiveDateTime) -> String {
    let r = mix(i);
    let first = pick(&FIRST_NAMES, r);
    let last = pick(&LAST_NAMES, r >> 8);
    let domain = pick(&DOMAINS, r >> 16);
    let (f, l) = (local(first), local(last));
    let email = match (r >> 24) % 5 {
        0 => format!("{f}.{l}{i}@{domain}"),
        1 => format!("{}{l}{i}@{domain}", &f[..1]),
        2 => format!("{f}_{l}.{i}@{domain}"),
        3 => format!("{l}.{f}{i}@{domain}"),
        _ => format!("{f}{i}@{domain}"),
    };
    let nameless = (r >> 32).is_multiple_of(20);
    let (first, last) = if nameless {
        ("NULL".to_owned(), "NULL".to_owned())
    } else {
        (quoted(first), quoted(last))
    };
    let mfa = match i % 10 {
        0 => "otp",
        1 => "email",
        _ if i % 25 == 2 => "otp,sms",
        _ => "",
    };
    let created = now - Span::days(i % 1095) - Span::seconds(i % 86_400);
    let created = quoted(&created.format("%Y-%m-%d %H:%M:%S").to_string());
    let deleted = if i % 100 == 50 {
        quoted(&now.format("%Y-%m-%d %H:%M:%S").to_string())
    } else {
        "NULL".to_owned()
    };
    let verified = if i % 3 == 0 { "FALSE" } else { "TRUE" };
    format!(
        "('{batch}-{i:09}', {}, '{PASSWORD_HASH}', {first}, {last}, {verified}, '{mfa}', \
         {created}, {created}, {deleted})",
        quoted(&email)
    )
}

/// Writes `count` users numbered from `first` on, with progress on stderr.
async fn insert_users(pool: &Pool, first: i64, count: i64, batch: &str) -> Result<(), String> {
    let now = now_utc();
    let started = Instant::now();
    let mut next = first;
    let end = first + count;
    let mut reported = 0;
    while next < end {
        let mut statements = Vec::new();
        for _ in 0..INSERTS_PER_TRANSACTION {
            if next >= end {
                break;
            }
            let upto = (next + ROWS_PER_INSERT).min(end);
            let rows: Vec<String> = (next..upto).map(|i| user_row(i, batch, now)).collect();
            statements.push(format!(
                "INSERT INTO users (auth_id, email, password_hash, first_name, last_name, \
                 email_verified, mfa_types, created_at, updated_at, deleted_at) VALUES {}",
                rows.join(", ")
            ));
            next = upto;
        }
        pool.run_in_transaction(&statements).await?;
        let done = next - first;
        if done - reported >= 100_000 || next >= end {
            reported = done;
            eprintln!(
                "  seed-users: {done} of {count} users ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Gives a few roles to one user in 20 and puts one in 10 into an organization, among the
/// users with ids from `from` on.
async fn add_roles_and_orgs(pool: &Pool, from: i64) -> Result<(), String> {
    let mut statements = Vec::new();
    for name in ROLES {
        statements.push(format!(
            "INSERT INTO roles (name, note) SELECT '{name}', 'seeded' \
             WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = '{name}' AND deleted_at IS NULL)"
        ));
    }
    for slug in ORGS {
        statements.push(format!(
            "INSERT INTO orgs (name, slug) SELECT '{slug}', '{slug}' \
             WHERE NOT EXISTS (SELECT 1 FROM orgs WHERE slug = '{slug}' AND deleted_at IS NULL)"
        ));
    }
    for (n, name) in ROLES.iter().enumerate() {
        statements.push(format!(
            "INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM users u, roles r \
             WHERE u.id >= {from} AND u.id % 20 = {n} AND u.deleted_at IS NULL \
             AND r.name = '{name}' AND r.deleted_at IS NULL"
        ));
    }
    for (n, slug) in ORGS.iter().enumerate() {
        statements.push(format!(
            "INSERT INTO user_orgs (user_id, org_id) SELECT u.id, o.id FROM users u, orgs o \
             WHERE u.id >= {from} AND u.id % 50 = {} AND u.deleted_at IS NULL \
             AND o.slug = '{slug}' AND o.deleted_at IS NULL",
            n * 10 + 5
        ));
        statements.push(format!(
            "UPDATE users SET org_slug = '{slug}' WHERE id >= {from} AND id % 50 = {} \
             AND deleted_at IS NULL",
            n * 10 + 5
        ));
    }
    pool.run_in_transaction(&statements).await
}

/// Adds `count` users (and their roles and organizations) to the database at `pool`, which is
/// migrated at least up to the users' table.
pub async fn seed_users(pool: &Pool, count: i64) -> Result<(), String> {
    let first = pool
        .number("SELECT COALESCE(MAX(id), 0) + 1 FROM users", None)
        .await?;
    // Unique among seedings of the same database: auth ids must not repeat.
    let batch = format!("seed{first}");
    insert_users(pool, first, count, &batch).await?;
    add_roles_and_orgs(pool, first).await?;
    if pool.is_postgres() {
        pool.run("ANALYZE", None).await?;
    }
    Ok(())
}

/// `seed-users N [--database-url URL]`: seeds a fresh database with the migrations before the
/// user counts (0018: their per-row triggers slow bulk inserts tenfold on PostgreSQL), then
/// migrates it to the end, which counts the users and builds the search index (0020) in bulk. A
/// database already migrated further is seeded as it is.
pub async fn run(count: i64, url: &str) -> Result<(), String> {
    const COUNTS: i64 = 18;
    let pool = Pool::connect(url).await?;
    pool.migrate_before(COUNTS).await?;
    let seeded = Instant::now();
    seed_users(&pool, count).await?;
    let seeding = seeded.elapsed();
    let store = gatehouse_store::Store::connect(url, 2)
        .await
        .map_err(|e| e.to_string())?;
    let migrated = Instant::now();
    store.migrate().await.map_err(|e| e.to_string())?;
    let migration = migrated.elapsed();
    store.close().await;
    let total = pool.number("SELECT COUNT(*) FROM users", None).await?;
    pool.close().await;
    println!(
        "seed-users: {count} users added in {:.1} s ({:.0} a second), {total} in the database",
        seeding.as_secs_f64(),
        count as f64 / seeding.as_secs_f64().max(0.001)
    );
    println!(
        "  remaining migrations (user counts, search index: built on them): {:.1} s",
        migration.as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_scratch_database_replaces_the_one_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b").as_deref(),
            Ok("postgres://postgres@127.0.0.1:5432/b")
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "b").as_deref(),
            Ok("postgres://u@h/b?sslmode=disable")
        );
        assert!(with_database("postgres://u@h", "b").is_err());
    }
}
