//! `/api/v1/app-banners` (with `enable_app_banner`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::format_timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::guard::{AppBannerFeature, Enabled, Guarded, ReadApp, WriteApp};
use super::json::{ApiJson, RecordId};
use super::user_attributes::LocaleTextView;
use super::views::{ErrorBody, LocaleText};
use crate::http::error::ApiError;
use crate::services::banners::{self, Banner};
use crate::services::user_attributes::locale_pairs;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppBannerView {
    pub id: i64,
    /// `info`, `warning`, `error` or `success`.
    #[serde(rename = "type")]
    pub banner_type: String,
    pub text: String,
    pub is_active: bool,
    pub locales: Vec<LocaleTextView>,
    pub app_ids: Vec<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<&Banner> for AppBannerView {
    fn from(b: &Banner) -> Self {
        Self {
            id: b.record.id,
            banner_type: b.record.banner_type.clone(),
            text: b.record.text.clone(),
            is_active: b.record.is_active,
            locales: locale_pairs(&b.record.locales)
                .into_iter()
                .map(|(locale, value)| LocaleTextView { locale, value })
                .collect(),
            app_ids: b.app_ids.clone(),
            created_at: format_timestamp(&b.record.created_at),
            updated_at: format_timestamp(&b.record.updated_at),
            deleted_at: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppBannersBody {
    pub app_banners: Vec<AppBannerView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppBannerBody {
    pub app_banner: AppBannerView,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostAppBannerReq {
    /// `info`, `warning`, `error` or `success`.
    #[serde(rename = "type")]
    pub banner_type: String,
    pub text: Option<String>,
    pub locales: Option<Vec<LocaleText>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PutAppBannerReq {
    #[serde(rename = "type")]
    pub banner_type: Option<String>,
    pub text: Option<String>,
    pub locales: Option<Vec<LocaleText>>,
    /// Replaces the apps that show the banner.
    pub app_ids: Option<Vec<i64>>,
    pub is_active: Option<bool>,
}

fn pairs(locales: Option<Vec<LocaleText>>) -> Option<Vec<(String, String)>> {
    locales.map(|l| l.into_iter().map(|t| (t.locale, t.value)).collect())
}

/// List app banners. Requires `read_app`.
#[utoipa::path(get, path = "/api/v1/app-banners", tag = "App banners", security(("oauth2" = ["read_app"])),
    responses((status = 200, body = AppBannersBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadApp>,
    _: Enabled<AppBannerFeature>,
    State(state): State<AppState>,
) -> Result<Json<AppBannersBody>, ApiError> {
    let all = banners::list(&state.store).await?;
    Ok(Json(AppBannersBody {
        app_banners: all.iter().map(Into::into).collect(),
    }))
}

/// Get an app banner. Requires `read_app`.
#[utoipa::path(get, path = "/api/v1/app-banners/{id}", tag = "App banners", security(("oauth2" = ["read_app"])),
    params(("id" = i64, Path, description = "The banner's id")),
    responses((status = 200, body = AppBannerBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Guarded<ReadApp>,
    _: Enabled<AppBannerFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<AppBannerBody>, ApiError> {
    Ok(Json(AppBannerBody {
        app_banner: (&banners::get(&state.store, id).await?).into(),
    }))
}

/// Create an app banner (linked to no app yet). Requires `write_app`.
#[utoipa::path(post, path = "/api/v1/app-banners", tag = "App banners", request_body = PostAppBannerReq, security(("oauth2" = ["write_app"])),
    responses((status = 201, body = AppBannerBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    _: Guarded<WriteApp>,
    _: Enabled<AppBannerFeature>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PostAppBannerReq>,
) -> Result<(StatusCode, Json<AppBannerBody>), ApiError> {
    let banner = banners::create(
        &state.store,
        &body.banner_type,
        body.text,
        pairs(body.locales),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(AppBannerBody {
            app_banner: (&banner).into(),
        }),
    ))
}

/// Update an app banner; `appIds` replaces the apps showing it. Requires `write_app`.
#[utoipa::path(put, path = "/api/v1/app-banners/{id}", tag = "App banners", request_body = PutAppBannerReq, security(("oauth2" = ["write_app"])),
    params(("id" = i64, Path, description = "The banner's id")),
    responses((status = 200, body = AppBannerBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    _: Guarded<WriteApp>,
    _: Enabled<AppBannerFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<PutAppBannerReq>,
) -> Result<Json<AppBannerBody>, ApiError> {
    let banner = banners::update(
        &state.store,
        id,
        body.banner_type,
        body.text,
        pairs(body.locales),
        body.is_active,
        body.app_ids,
    )
    .await?;
    Ok(Json(AppBannerBody {
        app_banner: (&banner).into(),
    }))
}

/// Delete an app banner. Requires `write_app`.
#[utoipa::path(delete, path = "/api/v1/app-banners/{id}", tag = "App banners", security(("oauth2" = ["write_app"])),
    params(("id" = i64, Path, description = "The banner's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    _: Guarded<WriteApp>,
    _: Enabled<AppBannerFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    banners::delete(&state.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
