//! Managing app banners.

use gatehouse_core::admin::AdminRuleError;
use gatehouse_store::{AppStore, BannerChanges, BannerRecord, BannerStore, Store};

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
    let record = store
        .insert_banner(&kind, text.as_deref().unwrap_or_default(), &locales)
        .await?;
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
    get(store, id).await?;
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
    found(store.update_banner(id, &changes), NOT_FOUND).await?;
    get(store, id).await
}

pub async fn delete(store: &Store, id: i64) -> Result<(), ServiceError> {
    if !store.delete_banner(id).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}
