//! dashboard: what each chart of the admin dashboard asks of the store, at a million users and
//! three million sign-ins, on SQLite or PostgreSQL (and Redis for the locked-accounts figure).
//!
//! The database is made with the migrations before the dashboard's (0018), filled in bulk, then
//! migrated to the end, so the run also times 0018's backfill. It then checks the counts
//! against the rows they count, times each chart's store calls (median of 51), the writes the
//! counting adds to a sign-in, and the row-by-row queries the counts replace.

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use gatehouse_core::ids::UserId;
use gatehouse_store::{now_utc, Cache, CountedEvent, DailyCount, StatsStore, Store, UserTotals};

use crate::seed::{self, Pool};

/// The first migration the benchmark's database is not made with: the dashboard's counts.
const DASHBOARD_MIGRATION: i64 = 18;
const SIGN_INS: i64 = 3_000_000;
const EMAILS: i64 = 300_000;
const SMS: i64 = 100_000;
const WEBHOOK_EVENTS: i64 = 20_000;
const RUNS: usize = 51;

/// The bulk fill after the users (`seed-users`'), per dialect (`$1`: the number of users): a
/// passkey for a tenth of the users, three million sign-ins, 300,000 emails and 100,000 texts
/// over the 90 days the logs keep, and 20,000 webhook deliveries of which half are delivered.
fn fill(postgres: bool) -> Vec<String> {
    // `n(i)` counts from 1 to `limit`; `ago(d)` is a time up to `d` days back, spread by `i`.
    let numbers = |limit: &str| {
        if postgres {
            (
                String::new(),
                format!("generate_series(1, {limit}) AS n(i)"),
            )
        } else {
            (
                format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {limit}) "),
                "n".to_owned(),
            )
        }
    };
    let ago = |days: u32| {
        if postgres {
            format!("(now() AT TIME ZONE 'utc') - (i % {days}) * interval '1 day' - (i % 86400) * interval '1 second'")
        } else {
            format!(
                "datetime('now', '-' || (i % {days}) || ' days', '-' || (i % 86400) || ' seconds')"
            )
        }
    };
    let now = if postgres {
        "(now() AT TIME ZONE 'utc')"
    } else {
        "datetime('now')"
    };
    let (with_sign_ins, sign_ins) = numbers(&SIGN_INS.to_string());
    let (with_emails, emails) = numbers(&EMAILS.to_string());
    let (with_sms, sms) = numbers(&SMS.to_string());
    let (with_events, events) = numbers(&WEBHOOK_EVENTS.to_string());
    vec![
        "INSERT INTO user_passkeys (user_id, credential_id, public_key) \
         SELECT id, 'credential-' || id, 'key' FROM users WHERE id % 10 = 3"
            .to_owned(),
        format!(
            "{}INSERT INTO sign_in_logs (user_id, ip, detail, created_at, updated_at) \
             SELECT (CAST(i AS BIGINT) * 7919) % $1 + 1, '192.0.2.1', '{{\"appId\":1}}', {}, {} FROM {}",
            with_sign_ins,
            ago(90),
            ago(90),
            sign_ins,
        ),
        format!(
            "{}INSERT INTO email_logs (success, receiver, response, content, created_at, updated_at) \
             SELECT i % 20 <> 0, 'user@example.com', '250 OK', 'Your code: [redacted]', {}, {} FROM {}",
            with_emails,
            ago(90),
            ago(90),
            emails,
        ),
        format!(
            "{}INSERT INTO sms_logs (success, receiver, response, content, created_at, updated_at) \
             SELECT i % 25 <> 0, '+15550100', 'queued', 'Your code: [redacted]', {}, {} FROM {}",
            with_sms,
            ago(90),
            ago(90),
            sms,
        ),
        format!(
            "INSERT INTO webhook_endpoints (url, secret_sealed, created_at, updated_at) \
             VALUES ('https://hooks.example.com/gatehouse', 'unused', {now}, {now})"
        ),
        format!(
            "{}INSERT INTO webhook_events (message_id, event_type, resource_id, data, created_at) \
             SELECT 'msg-' || i, 'user.created', 'bench-' || i, '{{}}', {now} FROM {}",
            with_events,
            events,
        ),
        format!(
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, next_attempt_at, delivered_at, \
             created_at) SELECT e.id, p.id, {now}, CASE WHEN e.id % 2 = 0 THEN {now} END, {now} \
             FROM webhook_events e, webhook_endpoints p"
        ),
    ]
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median time of `RUNS` runs of `work`.
async fn timed<T, F, Fut>(work: F) -> Result<(Duration, T), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    timed_runs(RUNS, work).await
}

/// The median time of `runs` runs of `work`, and what the last one gave.
async fn timed_runs<T, F, Fut>(runs: usize, mut work: F) -> Result<(Duration, T), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let value = work().await?;
        samples.push(started.elapsed());
        last = Some(value);
    }
    let value = last.ok_or("no run")?;
    Ok((median(samples), value))
}

async fn daily(
    store: &Store,
    count: DailyCount,
    first: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>, String> {
    store
        .daily_counts(count, first, today)
        .await
        .map_err(|e| e.to_string())
}

async fn totals(store: &Store) -> Result<UserTotals, String> {
    store.user_totals().await.map_err(|e| e.to_string())
}

pub async fn run(
    postgres_url: Option<String>,
    redis_url: Option<String>,
    users: i64,
) -> Result<(), String> {
    let dir =
        std::env::temp_dir().join(format!("gatehouse-bench-dashboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let schema = format!("gh_bench_dashboard_{}", std::process::id());
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
    let result = measure(label, &url, postgres_url.is_some(), redis_url, users).await;
    if let Some(base) = &postgres_url {
        if let Ok(admin) = sqlx::PgPool::connect(base).await {
            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin)
                .await;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(
    label: &str,
    url: &str,
    postgres: bool,
    redis_url: Option<String>,
    users: i64,
) -> Result<(), String> {
    // The schema as it was before the dashboard, filled in bulk.
    let pool = Pool::connect(url).await?;
    pool.migrate_before(DASHBOARD_MIGRATION).await?;
    let filled = Instant::now();
    seed::seed_users(&pool, users).await?;
    for sql in fill(postgres) {
        let binds = sql.contains("$1").then_some(users);
        pool.run(&sql, binds).await?;
    }
    if postgres {
        pool.run("ANALYZE", None).await?;
    }
    let filling = filled.elapsed();

    let store = Store::connect(url, 4).await.map_err(|e| e.to_string())?;
    let migrated = Instant::now();
    store.migrate().await.map_err(|e| e.to_string())?;
    let migration = migrated.elapsed();
    if postgres {
        pool.run("ANALYZE", None).await?;
    }
    println!(
        "dashboard benchmark ({label}, {users} users, {SIGN_INS} sign-ins, {EMAILS} emails, {SMS} texts, {WEBHOOK_EVENTS} webhook deliveries)"
    );
    println!(
        "  filled in                                 : {:>9.0} ms",
        ms(filling)
    );
    println!(
        "  migration 0018 (backfill and triggers)    : {:>9.0} ms",
        ms(migration)
    );

    let today = now_utc().date();
    let first = today
        .checked_sub_days(Days::new(29))
        .ok_or("no first day")?;
    let since = first.and_hms_opt(0, 0, 0).ok_or("no midnight")?;

    // The counts agree with the rows they count.
    let counted = totals(&store).await?;
    let rows = |sql: &'static str| pool.number(sql, None);
    let checks = [
        (counted.users, rows("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL").await?, "live users"),
        (counted.with_otp, rows("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL AND mfa_types LIKE '%otp%'").await?, "users with TOTP"),
        (counted.with_mfa, rows("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL AND mfa_types <> ''").await?, "users with MFA"),
        (counted.with_passkeys, rows("SELECT COUNT(DISTINCT p.user_id) FROM user_passkeys p JOIN users u ON u.id = p.user_id WHERE p.deleted_at IS NULL AND u.deleted_at IS NULL").await?, "users with passkeys"),
    ];
    for (count, truth, what) in checks {
        if count != truth {
            return Err(format!("{what}: counted {count}, the rows say {truth}"));
        }
    }
    let month = pool
        .number(
            "SELECT COUNT(DISTINCT user_id) FROM sign_in_logs WHERE created_at >= $1",
            Some(since),
        )
        .await?;
    let last = daily(&store, DailyCount::LastSignIns, first, today).await?;
    let active: i64 = last.iter().map(|(_, n)| n).sum();
    if active != month {
        return Err(format!(
            "active users in 30 days: counted {active}, the log says {month}"
        ));
    }
    let per_day_sql = "SELECT SUBSTR(CAST(created_at AS TEXT), 1, 10) AS day, COUNT(*) \
        FROM sign_in_logs WHERE created_at >= $1 GROUP BY SUBSTR(CAST(created_at AS TEXT), 1, 10) ORDER BY 1";
    let logged = pool.pairs(per_day_sql, since).await?;
    let kept = daily(&store, DailyCount::SignIns, first, today).await?;
    let kept: Vec<(String, i64)> = kept
        .into_iter()
        .map(|(d, n)| (d.format("%Y-%m-%d").to_string(), n))
        .collect();
    if kept != logged {
        return Err(format!(
            "sign-ins per day: counted {kept:?}, the log says {logged:?}"
        ));
    }
    println!("  counts checked against the rows           :        ok ({} live users, {active} active in 30 days)", counted.users);

    // Each chart's store calls, as services::dashboard makes them.
    let pair = |a, b| {
        let store = &store;
        move || async move {
            daily(store, a, first, today).await?;
            daily(store, b, first, today).await
        }
    };
    let (sign_ins, _) = timed(pair(DailyCount::SignIns, DailyCount::FailedSignIns)).await?;
    let (sign_ups, _) = timed(|| daily(&store, DailyCount::SignUps, first, today)).await?;
    let (active_users, _) = timed(|| async {
        daily(&store, DailyCount::LastSignIns, first, today).await?;
        totals(&store).await
    })
    .await?;
    let (factors, _) = timed(|| totals(&store)).await?;
    let (emails, _) = timed(pair(DailyCount::EmailsSent, DailyCount::EmailsFailed)).await?;
    let (texts, _) = timed(pair(DailyCount::SmsSent, DailyCount::SmsFailed)).await?;
    let (backlog, waiting) = timed(|| async {
        store
            .webhook_backlog(100_000)
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    let cache = match &redis_url {
        Some(redis) => Cache::redis(
            redis,
            &format!("gh_bench_dashboard_{}:", std::process::id()),
        )
        .await
        .map_err(|e| e.to_string())?,
        None => Cache::in_memory(),
    };
    for n in 0..10_000 {
        cache
            .mark(
                "LOCKED-ACCOUNTS",
                &format!("user{n}@example.com"),
                Duration::from_secs(1800),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    let (locked, marked) = timed(|| async {
        cache
            .count_marked("LOCKED-ACCOUNTS")
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    let _ = cache.delete("LOCKED-ACCOUNTS").await;
    let chart = |name: &str, d: Duration| {
        println!("  chart: {name:<35}: {:>9.2} ms (median of {RUNS})", ms(d))
    };
    chart("sign-ins per day (2 queries)", sign_ins);
    chart("sign-ups per day", sign_ups);
    chart("active users (2 queries)", active_users);
    chart("second factors and passkeys", factors);
    chart("emails per day (2 queries)", emails);
    chart("texts per day (2 queries)", texts);
    chart(&format!("webhook backlog ({waiting} waiting)"), backlog);
    chart(
        &format!("locked accounts ({marked}, {})", cache.kind()),
        locked,
    );

    // What the counting adds to a sign-in and a refusal (both off the request path).
    let user = a_live_user(&pool).await?;
    let (record, _) = timed(|| async {
        store
            .record_sign_in(user, now_utc())
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    let (event, _) = timed(|| async {
        store
            .count_event(CountedEvent::FailedSignIn, today)
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    println!(
        "  write: a sign-in (login count, latest sign-in, day's count): {:>6.2} ms",
        ms(record)
    );
    println!(
        "  write: a refused password (day's count)                   : {:>6.2} ms",
        ms(event)
    );

    // The row-by-row queries the counts replace (median of 5: they are slow).
    let once = |sql: &'static str, bind: Option<chrono::NaiveDateTime>| {
        let pool = &pool;
        move || async move { pool.number(sql, bind).await }
    };
    let (by_log, _) = timed_runs(5, || pool.pairs(per_day_sql, since)).await?;
    let (live, _) = timed_runs(
        5,
        once("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL", None),
    )
    .await?;
    let (otp, _) = timed_runs(
        5,
        once(
            "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL AND mfa_types LIKE '%otp%'",
            None,
        ),
    )
    .await?;
    let (distinct, _) = timed_runs(
        5,
        once(
            "SELECT COUNT(DISTINCT user_id) FROM sign_in_logs WHERE created_at >= $1",
            Some(since),
        ),
    )
    .await?;
    let row_by_row = |name: &str, d: Duration| {
        println!(
            "  instead, row by row: {name:<34}: {:>9.2} ms (median of 5)",
            ms(d)
        )
    };
    row_by_row("sign-ins per day from the log", by_log);
    row_by_row("count the live users", live);
    row_by_row("count the users with TOTP", otp);
    row_by_row("distinct users in the log, 30 days", distinct);

    store.close().await;
    pool.close().await;
    Ok(())
}

/// A live user's id, for timing the sign-in write.
async fn a_live_user(pool: &Pool) -> Result<UserId, String> {
    let id = pool
        .number("SELECT MIN(id) FROM users WHERE deleted_at IS NULL", None)
        .await?;
    Ok(UserId::new(id))
}
