//! Reading the audit trail (written by [`crate::changes`]), newest first, a page at a time.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::{Store, StoreError, StoreFuture};

/// One recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub resource: String,
    pub resource_id: String,
    pub action: String,
    /// `[{"field", "before", "after"}]`.
    pub changes: Value,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    created_at: NaiveDateTime,
    actor_kind: String,
    actor_id: String,
    ip: Option<String>,
    request_id: Option<String>,
    resource: String,
    resource_id: String,
    action: String,
    changes: String,
}

impl From<AuditRow> for AuditRecord {
    fn from(row: AuditRow) -> Self {
        Self {
            id: row.id,
            created_at: row.created_at,
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            ip: row.ip,
            request_id: row.request_id,
            resource: row.resource,
            resource_id: row.resource_id,
            action: row.action,
            changes: serde_json::from_str(&row.changes).unwrap_or(Value::Null),
        }
    }
}

/// Which records: every given field must match; `from` is inclusive, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub resource: Option<String>,
    pub resource_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

pub trait AuditStore {
    /// Up to `limit` records matching `filter`, newest first, older than the record `before`
    /// when given (keyset paging: the last id of a page asks for the next).
    fn audit_records(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> impl StoreFuture<Vec<AuditRecord>>;
}

impl AuditStore for Store {
    async fn audit_records(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        const SQL: &str = "SELECT id, created_at, actor_kind, actor_id, ip, request_id, resource, \
            resource_id, action, changes FROM audit_log \
            WHERE ($1 IS NULL OR actor_id = $1) AND ($2 IS NULL OR resource = $2) \
            AND ($3 IS NULL OR resource_id = $3) AND ($4 IS NULL OR action = $4) \
            AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
            AND ($7 IS NULL OR id < $7) ORDER BY id DESC LIMIT $8";
        let rows: Vec<AuditRow> = self
            .fetch_all(
                SQL,
                (
                    filter.actor_id.as_deref(),
                    filter.resource.as_deref(),
                    filter.resource_id.as_deref(),
                    filter.action.as_deref(),
                    filter.from,
                    filter.to,
                    before,
                    limit,
                ),
            )
            .await?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{acting_as, recording, Actor, ActorKind, Change};
    use crate::testing::store;
    use crate::{LogStore, RoleStore};

    #[tokio::test]
    async fn records_are_filtered_and_paged_newest_first() {
        let store = store().await;
        let admin = Actor {
            kind: ActorKind::Admin,
            id: "admin-1".into(),
            ip: None,
            request_id: None,
        };
        acting_as(admin, async {
            for name in ["a", "b", "c"] {
                recording(
                    Change::created("role").field("name", Value::Null, name),
                    store.insert_role(name, ""),
                )
                .await
                .expect("insert");
            }
        })
        .await;
        recording(Change::created("role"), store.insert_role("d", ""))
            .await
            .expect("system insert");

        let all = store
            .audit_records(&AuditFilter::default(), None, 10)
            .await
            .expect("all");
        let ids: Vec<&str> = all.iter().map(|r| r.resource_id.as_str()).collect();
        assert_eq!(ids, ["4", "3", "2", "1"]);
        assert_eq!(
            all[3].changes,
            serde_json::json!([{"field": "name", "before": null, "after": "a"}])
        );

        let by_admin = AuditFilter {
            actor_id: Some("admin-1".into()),
            ..AuditFilter::default()
        };
        let first = store.audit_records(&by_admin, None, 2).await.expect("page");
        let next = store
            .audit_records(&by_admin, Some(first[1].id), 2)
            .await
            .expect("next");
        let pages: Vec<Vec<&str>> = [&first, &next]
            .iter()
            .map(|p| p.iter().map(|r| r.resource_id.as_str()).collect())
            .collect();
        assert_eq!(pages, [vec!["3", "2"], vec!["1"]]);

        let one = AuditFilter {
            resource: Some("role".into()),
            resource_id: Some("2".into()),
            action: Some("created".into()),
            ..AuditFilter::default()
        };
        assert_eq!(
            store
                .audit_records(&one, None, 10)
                .await
                .expect("one")
                .len(),
            1
        );
        let later = chrono::NaiveDate::from_ymd_opt(2200, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("a time");
        let future = AuditFilter {
            from: Some(later),
            ..AuditFilter::default()
        };
        assert!(store
            .audit_records(&future, None, 10)
            .await
            .expect("none")
            .is_empty());
        let purged = store.purge_logs_before(crate::LogKind::Audit, later, 2);
        assert_eq!(purged.await.expect("prune"), 2);
    }
}
