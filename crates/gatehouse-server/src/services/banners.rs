//! Managing app banners.

use gatehouse_core::admin::AdminRuleError;
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{AppStore, BannerChanges, BannerRecord, BannerStore, Store};
use serde_json::{json, Value};

use crate::error::ServiceError;
use crate::services::found;
use crate::services::user_attributes::locale_object;

const NOT_FOUND: &str = "No app banner found";
const TYPES: [&str; 4] = ["info", "warning", "error", "success"];

/// A banner with the ids of the apps that show it.
pub struct Banner {
    pub record: BannerRecord,
    pub app_ids: Vec<i64>,
}

fn banner_type(value: &str) -> Result<String, ServiceError> {
    let value = value.trim().to_ascii_lowercase();
    if TYPES.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(AdminRuleError::OneOf {
            field: "type",
            allowed: "info, warning, error, success",
        }
        .into())
    }
}

async fn with_links(
    store: &Store,
    records: Vec<BannerRecord>,
) -> Result<Vec<Banner>, ServiceError> {
    let links = store.banner_app_links().await?;
    Ok(records
        .into_iter()
        .map(|record| Banner {
            app_ids: links
                .iter()
                .filter(|(banner, _)| *banner == record.id)
                .map(|(_, app)| *app)
                .collect(),
            record,
        })
        .collect())
}

/// Stored locale texts as the audit trail shows them: the object, not its text.
fn stored_texts(stored: &str) -> Value {
    serde_json::from_str(stored).unwrap_or_else(|_| json!(stored))
}

pub async fn list(store: &Store) -> Result<Vec<Banner>, ServiceError> {
    with_links(store, store.list_banners().await?).await
}

/// The active banners linked to an app: what its sign-in shows.
pub async fn shown_for_app(store: &Store, app_id: i64) -> Result<Vec<BannerRecord>, ServiceError> {
    let links = store.banner_app_links().await?;
    Ok(store
        .list_banners()
        .await?
        .into_iter()
        .filter(|banner| banner.is_active && links.contains(&(banner.id, app_id)))
        .collect())
}

pub async fn get(store: &Store, id: i64) -> Result<Banner, ServiceError> {
    let record = found(store.banner_by_id(id), NOT_FOUND).await?;
    with_links(store, vec![record])
        .await?
        .pop()
        .ok_or(ServiceError::NotFound(NOT_FOUND))
}

pub async fn create(
    store: &Store,
    kind: &str,
    text: Option<String>,
    locales: Option<Vec<(String, String)>>,
) -> Result<Banner, ServiceError> {
    let kind = banner_type(kind)?;
    let locales = locale_object(locales.unwrap_or_default())?;
    let text = text.unwrap_or_default();
    let change = Change::created("banner").fields_new(&json!({
        "type": kind,
        "text": Some(&text).filter(|t| !t.is_empty()),
        "locales": Some(stored_texts(&locales)).filter(|l| l != &json!({})),
    }));
    let record = recording(change, store.insert_banner(&kind, &text, &locales)).await?;
    Ok(Banner {
        record,
        app_ids: Vec::new(),
    })
}

pub async fn update(
    store: &Store,
    id: i64,
    kind: Option<String>,
    text: Option<String>,
    locales: Option<Vec<(String, String)>>,
    is_active: Option<bool>,
    app_ids: Option<Vec<i64>>,
) -> Result<Banner, ServiceError> {
    let current = get(store, id).await?;
    if let Some(ids) = &app_ids {
        for app_id in ids {
            if store.app_by_id(*app_id).await?.is_none() {
                return Err(ServiceError::NotFound("No app found"));
            }
        }
    }
    let mut unique_ids = app_ids;
    if let Some(ids) = &mut unique_ids {
        ids.sort_unstable();
        ids.dedup();
    }
    let changes = BannerChanges {
        banner_type: kind.map(|k| banner_type(&k)).transpose()?,
        text: text.map(|t| t.trim().to_owned()),
        locales: locales.map(locale_object).transpose()?,
        is_active,
        app_ids: unique_ids,
    };
    let mut linked = current.app_ids;
    linked.sort_unstable();
    let before = json!({
        "type": current.record.banner_type,
        "text": current.record.text,
        "locales": stored_texts(&current.record.locales),
        "isActive": current.record.is_active,
        "appIds": linked,
    });
    let after = json!({
        "type": changes.banner_type,
        "text": changes.text,
        "locales": changes.locales.as_deref().map(stored_texts),
        "isActive": changes.is_active,
        "appIds": changes.app_ids,
    });
    let change = Change::of("banner", id, "updated").fields_set(&before, &after);
    found(
        recording(change, store.update_banner(id, &changes)),
        NOT_FOUND,
    )
    .await?;
    get(store, id).await
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    // Read first: a delete of several statements records its change even when the banner is
    // not there.
    let current = found(store.banner_by_id(id), NOT_FOUND).await?;
    let change = Change::of("banner", id, "deleted")
        .field("type", &current.banner_type, Value::Null)
        .field("text", &current.text, Value::Null);
    if !recording(change, store.delete_banner(id)).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::services::fixture::{self, audit_row, audit_trail};

    #[tokio::test]
    async fn banner_changes_are_recorded_with_what_they_changed() {
        let store = fixture::store().await;
        let app = fixture::spa_app(&store).await;
        let banner = create(&store, "Info", Some("Down at noon".into()), None)
            .await
            .unwrap();
        let id = banner.record.id;
        let texts = Some(vec![("fr".to_owned(), "En panne".to_owned())]);
        let app_ids = Some(vec![app.id, app.id]);
        update(&store, id, None, None, texts, Some(false), app_ids)
            .await
            .unwrap();
        delete(&store, id).await.unwrap();
        assert_eq!(
            audit_trail(&store).await,
            [
                audit_row(
                    "banner",
                    id,
                    "created",
                    json!({"type": [null, "info"], "text": [null, "Down at noon"]})
                ),
                audit_row(
                    "banner",
                    id,
                    "updated",
                    json!({
                        "locales": [{}, {"fr": "En panne"}],
                        "isActive": [true, false],
                        "appIds": [[], [app.id]],
                    })
                ),
                audit_row(
                    "banner",
                    id,
                    "deleted",
                    json!({"type": ["info", null], "text": ["Down at noon", null]})
                ),
            ]
        );
    }

    #[tokio::test]
    async fn refused_banner_changes_record_nothing() {
        let store = fixture::store().await;
        assert!(create(&store, "loud", None, None).await.is_err());
        let banner = create(&store, "info", None, None).await.unwrap();
        let id = banner.record.id;
        let unknown_app = Some(vec![9_999]);
        assert!(update(&store, id, None, None, None, None, unknown_app)
            .await
            .is_err());
        assert!(
            update(&store, id, Some("loud".into()), None, None, None, None)
                .await
                .is_err()
        );
        assert!(update(&store, 9_999, None, None, None, None, None)
            .await
            .is_err());
        assert!(delete(&store, 9_999).await.is_err());
        assert_eq!(
            audit_trail(&store).await,
            [audit_row(
                "banner",
                id,
                "created",
                json!({"type": [null, "info"]})
            )]
        );
    }
}
