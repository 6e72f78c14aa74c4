//! Log retention: one pass removes the entries older than each log's retention and keeps the
//! rest; of instances pruning at once, one does the work.

use chrono::{DateTime, TimeDelta};
use gatehouse_server::services::retention::{prune_pass, BATCH};
use gatehouse_server::startup;
use gatehouse_store::LogKind;

use crate::harness::{backend_tests, Isolation};

const AUTH_ID: &str = "00000000-0000-4000-8000-0000000000b7";

/// The rows in `table`, counted straight from the database.
async fn count(isolation: &Isolation, table: &str) -> i64 {
    let counts = isolation.table_counts().await;
    counts
        .into_iter()
        .find(|(t, _)| t == table)
        .map(|(_, n)| n)
        .unwrap()
}

/// `n` rows in each log written at `at`.
async fn rows(isolation: &Isolation, n: usize, at: &str) {
    let numbers =
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})");
    for table in ["email_logs", "sms_logs"] {
        isolation
            .execute(
                &format!(
                    "{numbers} INSERT INTO {table} (receiver, created_at, updated_at) \
             SELECT $1, '{at}', '{at}' FROM n"
                ),
                "someone@example.com",
            )
            .await;
    }
    isolation
        .execute(
            &format!(
                "{numbers} INSERT INTO sign_in_logs (user_id, detail, created_at, updated_at) \
         SELECT (SELECT id FROM users WHERE auth_id = $1), '{{}}', '{at}', '{at}' FROM n"
            ),
            AUTH_ID,
        )
        .await;
}

backend_tests! {
    async fn a_prune_pass_removes_what_is_past_retention_and_one_instance_does_it(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        let config = isolation.config();
        let store_a = startup::open_store(&config).await.unwrap();
        let store_b = startup::open_store(&config).await.unwrap();
        isolation.execute("INSERT INTO users (auth_id, email) VALUES ($1, 'kept@example.com')", AUTH_ID).await;
        let now = DateTime::from_timestamp(1_767_225_600, 0).unwrap().naive_utc(); // 2026-01-01
        // More old rows than a batch, so a pass takes several statements; and rows inside every
        // retention (sign-ins kept 10 days, email 30, SMS forever).
        let old = BATCH as usize + 500;
        rows(&isolation, old, "2025-11-01 00:00:00").await;
        rows(&isolation, 7, "2025-12-30 00:00:00").await;
        let logs = [(LogKind::SignIn, 10), (LogKind::Email, 30), (LogKind::Sms, 0)];

        let (a, b) = tokio::join!(
            prune_pass(&store_a, &logs, "instance-a", now),
            prune_pass(&store_b, &logs, "instance-b", now),
        );
        let passes: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(passes.len(), 1, "one instance took the lease, the other left it: {passes:?}");
        assert_eq!(passes[0].logs, vec![(LogKind::SignIn, old as u64), (LogKind::Email, old as u64)]);
        assert_eq!(count(&isolation, "sign_in_logs").await, 7);
        assert_eq!(count(&isolation, "email_logs").await, 7);
        assert_eq!(count(&isolation, "sms_logs").await, old as i64 + 7, "SMS are kept forever");

        // Within the pass interval the lease is held, even against the instance that pruned.
        assert!(prune_pass(&store_b, &logs, "instance-b", now + TimeDelta::minutes(30)).await.unwrap().is_none());
        // An hour on, the next pass runs and finds the kept rows still inside retention.
        let later = prune_pass(&store_b, &logs, "instance-b", now + TimeDelta::hours(1)).await.unwrap().unwrap();
        assert_eq!(later.total(), 0);
        assert_eq!(count(&isolation, "email_logs").await, 7);
        store_a.close().await;
        store_b.close().await;
    }
}
