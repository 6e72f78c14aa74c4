//! users-search: the admin user search and the user list's deep pages, as the store answers
//! `GET /api/v1/users` and the panel's search, at a million users (`seed-users`) on SQLite or
//! PostgreSQL.
//!
//! The database is made with the migrations before the user counts (0018), seeded, then
//! migrated to the end, so the run also times the search index's build (0020) on existing users. The search
//! terms are taken from a seeded user: a prefix of their email, a piece from its middle, their
//! full name, and a common last name (more than 10,000 matches: the estimated count). Each is a
//! first page of 20 with the count (median of 51); each count under the threshold is checked
//! against a plain count of the rows.

use std::time::{Duration, Instant};

use gatehouse_core::ids::UserId;
use gatehouse_store::{Page, Store, UserList, UserPage, UserSearchStore};

use crate::seed::{self, Pool};

/// The first migration the database is not made with: the user counts (0018), whose per-row
/// triggers would slow the seeding tenfold on PostgreSQL; it and the search index (0020) are
/// then built on the seeded users in bulk.
const COUNTS: i64 = 18;
const RUNS: usize = 51;
const PAGE: u32 = 20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median time of `runs` calls of the store's list, and what the last one gave.
async fn timed(
    store: &Store,
    runs: usize,
    search: Option<&str>,
    page: UserPage,
) -> Result<(Duration, UserList), String> {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let found = store
            .search_users(search, page)
            .await
            .map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
        last = Some(found);
    }
    Ok((median(samples), last.ok_or("no run")?))
}

pub async fn run(postgres_url: Option<String>, users: i64) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let database = format!("gh_bench_users_{}", std::process::id());
    let (label, url) = match &postgres_url {
        Some(base) => ("PostgreSQL", seed::scratch_postgres(base, &database).await?),
        None => (
            "SQLite",
            format!("sqlite:{}", dir.join("bench.db").display()),
        ),
    };
    let result = measure(label, &url, users).await;
    if let Some(base) = &postgres_url {
        seed::drop_scratch_postgres(base, &database).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A row-by-row count of the users matching `term`, to check the store's against.
async fn plain_count(pool: &Pool, term: &str) -> Result<i64, String> {
    // `instr`/`strpos` take the term literally and no index can answer them.
    let find = if pool.is_postgres() {
        "strpos"
    } else {
        "instr"
    };
    let sql = format!(
        "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL AND {find}(LOWER(COALESCE(first_name, '') \
         || ' ' || COALESCE(last_name, '') || ' ' || COALESCE(email, '')), '{}') > 0",
        term.to_lowercase().replace('\'', "''")
    );
    pool.number(&sql, None).await
}

async fn measure(label: &str, url: &str, users: i64) -> Result<(), String> {
    let pool = Pool::connect(url).await?;
    pool.migrate_before(COUNTS).await?;
    let seeded = Instant::now();
    seed::seed_users(&pool, users).await?;
    let seeding = seeded.elapsed();
    let store = Store::connect(url, 4).await.map_err(|e| e.to_string())?;
    let migrated = Instant::now();
    store.migrate().await.map_err(|e| e.to_string())?;
    let migration = migrated.elapsed();
    if pool.is_postgres() {
        pool.run("ANALYZE", None).await?;
    }
    println!("users-search benchmark ({label}, {users} users)");
    println!(
        "  seeded in                                  : {:>9.1} s",
        seeding.as_secs_f64()
    );
    println!(
        "  migrations 0018-0020 (counts, search index) : {:>9.1} s",
        migration.as_secs_f64()
    );

    // The terms, from a live user in the middle.
    let middle = pool
        .number(
            &format!(
                "SELECT MIN(id) FROM users WHERE id >= {} AND deleted_at IS NULL \
                 AND first_name IS NOT NULL",
                users / 2
            ),
            None,
        )
        .await?;
    let one = store
        .search_users(
            None,
            UserPage::After {
                after: Some(UserId::new(middle - 1)),
                size: 1,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let user = one.users.first().ok_or("no user in the middle")?;
    let email = user.email.clone().unwrap_or_default();
    let chars: Vec<char> = email.chars().collect();
    let prefix: String = chars.iter().take(10).collect();
    let start = chars.len().saturating_sub(10) / 2;
    let fragment: String = chars.iter().skip(start).take(8).collect();
    let first = user.first_name.clone().unwrap_or_default();
    let last = user.last_name.clone().unwrap_or_default();
    let name = format!("{first} {last}");
    let searches = [
        ("email prefix", prefix),
        ("email fragment", fragment),
        ("name (first and last)", name),
        ("common last name", last),
        ("two characters (no trigram)", "zo".to_owned()),
    ];
    let first_page = UserPage::Number(Page {
        size: PAGE,
        number: 1,
    });
    for (what, term) in &searches {
        let (took, found) = timed(&store, RUNS, Some(term), first_page).await?;
        let count = if found.count_is_estimate {
            format!("~{} (estimate)", found.count)
        } else {
            let truth = plain_count(&pool, term).await?;
            if truth != found.count {
                return Err(format!(
                    "search {term:?}: counted {}, the rows say {truth}",
                    found.count
                ));
            }
            format!("{} (checked)", found.count)
        };
        println!(
            "  search: {:<28} {:<22}: {:>9.2} ms (median of {RUNS}), {count} matches",
            what,
            format!("{term:?}"),
            ms(took)
        );
    }

    // Deep pages: the last full page of the list, by cursor and by page number.
    let live = pool
        .number("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL", None)
        .await?;
    let depth = live - i64::from(PAGE);
    let after = pool
        .number(
            &format!(
                "SELECT id FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET {}",
                depth - 1
            ),
            None,
        )
        .await?;
    let keyset = UserPage::After {
        after: Some(UserId::new(after)),
        size: PAGE,
    };
    let (by_cursor, found) = timed(&store, RUNS, None, keyset).await?;
    if found.users.len() != PAGE as usize {
        return Err(format!("the last page held {} users", found.users.len()));
    }
    let numbered = UserPage::Number(Page {
        size: PAGE,
        number: u32::try_from(depth / i64::from(PAGE) + 1).map_err(|e| e.to_string())?,
    });
    let (by_number, _) = timed(&store, 5, None, numbered).await?;
    let (first_list, listed) = timed(&store, RUNS, None, first_page).await?;
    println!(
        "  list: first page of {PAGE}, with the count       : {:>9.2} ms (median of {RUNS}), count {}{}",
        ms(first_list),
        listed.count,
        if listed.count_is_estimate { " (estimate)" } else { "" }
    );
    println!(
        "  list: page at user {depth} by cursor (after)  : {:>9.2} ms (median of {RUNS})",
        ms(by_cursor)
    );
    println!(
        "  list: the same page by page_number          : {:>9.2} ms (median of 5)",
        ms(by_number)
    );
    store.close().await;
    pool.close().await;
    Ok(())
}
