//! `/api/v1/app-banners` (with `enable_app_banner`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::crud::crud_routes;
use super::guard::{AppBannerFeature, Enabled, Guarded, ReadApp, WriteApp};
use super::json::{ApiJson, RecordId};
use super::views::{locale_texts, record_view, text_pairs, views, ErrorBody, LocaleText};
use crate::http::error::ApiError;
use crate::services::banners::{self, Banner};
use crate::state::AppState;

record_view! {
    pub struct AppBannerView from |b: &Banner| stamped(b.record) {
        id: i64 = b.record.id,
        /// `info`, `warning`, `error` or `success`.
        #[serde(rename = "type")]
        banner_type: String = b.record.banner_type.clone(),
        text: String = b.record.text.clone(),
        is_active: bool = b.record.is_active,
        locales: Vec<LocaleText> = locale_texts(&b.record.locales),
        app_ids: Vec<i64> = b.app_ids.clone(),
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

crud_routes! {
    tag "App banners", "/api/v1/app-banners", "/api/v1/app-banners/{id}", id "The banner's id",
    read ReadApp ["read_app"], write WriteApp ["write_app"], features [AppBannerFeature];

    /// List app banners. Requires `read_app`.
    list(state) -> AppBannersBody [400, 401] {
        AppBannersBody {
            app_banners: views(&banners::list(&state.store).await?),
        }
    }

    /// Get an app banner. Requires `read_app`.
    get(state, id) -> AppBannerBody [400, 401, 404] {
        AppBannerBody {
            app_banner: (&banners::get(&state.store, id).await?).into(),
        }
    }

    /// Create an app banner (linked to no app yet). Requires `write_app`.
    create(state, _caller, body: PostAppBannerReq) -> AppBannerBody [400, 401] {
        let texts = text_pairs(body.locales);
        let banner = banners::create(&state.store, &body.banner_type, body.text, texts).await?;
        AppBannerBody {
            app_banner: (&banner).into(),
        }
    }

    /// Update an app banner; `appIds` replaces the apps showing it. Requires `write_app`.
    update(state, _caller, id, body: PutAppBannerReq) -> AppBannerBody [400, 401, 404] {
        let banner = banners::update(
            &state.store,
            id,
            body.banner_type,
            body.text,
            text_pairs(body.locales),
            body.is_active,
            body.app_ids,
        )
        .await?;
        AppBannerBody {
            app_banner: (&banner).into(),
        }
    }

    /// Delete an app banner. Requires `write_app`.
    delete(state, _caller, id) [400, 401, 404] {
        banners::delete(&state.store, id).await?
    }
}
