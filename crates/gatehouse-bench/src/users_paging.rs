//! users-paging: the user list of the S2S API and the admin panel
//! (`GET /api/v1/users?page_size=20&page_number=500`) as the store runs it, on 100,000 users.

use std::time::{Duration, Instant};

use gatehouse_store::{Page, Store, UserStore};

const USERS: i64 = 100_000;

/// Seeds the users in one statement that reads the same on SQLite and PostgreSQL.
const SEED: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
    INSERT INTO users (auth_id, email, first_name, last_name) \
    SELECT 'bench-' || i, 'user' || i || '@example.com', 'First' || i, 'Last' || i FROM n";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn time_page(store: &Store, search: Option<&str>) -> Result<Duration, String> {
    let mut samples = Vec::new();
    for _ in 0..51 {
        let started = Instant::now();
        let (users, count) = store
            .list_users(
                search,
                Some(Page {
                    size: 20,
                    number: 500,
                }),
            )
            .await
            .map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
        if search.is_none() && (users.len() != 20 || count != USERS) {
            return Err(format!("page 500 held {} of {count} users", users.len()));
        }
    }
    Ok(median(samples))
}

pub async fn run(postgres_url: Option<String>) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-users-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let schema = format!("gh_bench_{}", std::process::id());
    let (label, url) = match &postgres_url {
        Some(base) => {
            let admin = sqlx::PgPool::connect(base)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&admin)
                .await
                .map_err(|e| e.to_string())?;
            admin.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            (
                "PostgreSQL",
                format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            )
        }
        None => (
            "SQLite",
            format!("sqlite:{}", dir.join("bench.db").display()),
        ),
    };
    let store = Store::connect(&url, 4).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let seeded = Instant::now();
    match &postgres_url {
        // PostgreSQL plans the paging queries from statistics, which a bulk insert leaves stale.
        Some(_) => seed::<sqlx::Postgres>(&url, &["ANALYZE users"]).await?,
        None => seed::<sqlx::Sqlite>(&url, &[]).await?,
    }
    let seeding = seeded.elapsed();
    let page = time_page(&store, None).await?;
    let search = time_page(&store, Some("user9999")).await?;
    println!(
        "users-paging benchmark ({label}, {USERS} users, seeded in {:.0} ms)",
        seeding.as_secs_f64() * 1000.0
    );
    println!(
        "  page 500 of 20, with total count  : {:>8.2} ms (median of 51)",
        page.as_secs_f64() * 1000.0
    );
    println!(
        "  search 'user9999', page 500 of 20 : {:>8.2} ms (median of 51)",
        search.as_secs_f64() * 1000.0
    );
    store.close().await;
    if let Some(base) = &postgres_url {
        if let Ok(admin) = sqlx::PgPool::connect(base).await {
            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin)
                .await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Inserts the benchmark's users in one statement, then runs `after`.
async fn seed<DB>(url: &str, after: &[&str]) -> Result<(), String>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let pool = sqlx::Pool::<DB>::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(SEED)
        .bind(USERS)
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    for sql in after {
        sqlx::query(sql)
            .execute(&pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    pool.close().await;
    Ok(())
}
