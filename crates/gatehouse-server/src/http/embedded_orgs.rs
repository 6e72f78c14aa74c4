//! The embedded auth API around the steps (melody.md §6): the `switch_org` step at
//! `/{sessionId}/user-orgs` (the path Melody's server routes; its document says `switch-org`)
//! and the banners of the session's app.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::api::json::ApiJson;
use super::api::{AppBannerFeature, Enabled, ErrorBody, FeatureFlag, OrgFeature};
use super::embedded::{meta, step_done, OwedSession, Session};
use super::embedded_views::{
    AppBanner, AppBannersBody, AuthRes, SessionPath, UserOrg, UserOrgsBody,
};
use super::error::ApiError;
use super::identity::step::SwitchOrg;
use super::openapi::{routes, DocumentedRouter};
use crate::services::{banners, signin};
use crate::state::AppState;

/// The organization and banner routes, each registered once with its OpenAPI operation.
pub fn routes() -> DocumentedRouter<AppState> {
    DocumentedRouter::part()
        .routes(routes!(user_orgs, switch_org))
        .routes(routes!(app_banners))
}

/// `allow_user_switch_org_on_sign_in`, checked after `enable_org` as Melody does.
pub struct OrgSwitchFeature;

impl FeatureFlag for OrgSwitchFeature {
    const MESSAGE: &'static str = "Switch org is not enabled";

    fn enabled(config: &crate::config::Config) -> bool {
        config.allow_user_switch_org_on_sign_in
    }
}

/// The user's organizations and the active one (the session is at `switch_org`).
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/user-orgs", tag = "Organizations and banners", params(SessionPath),
    responses((status = 200, description = "The organizations to offer", body = UserOrgsBody),
        (status = 400, description = "Organizations or the org switch are off (`enable_org`, `allow_user_switch_org_on_sign_in`), or the session is not at `switch_org`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn user_orgs(
    _: Enabled<OrgFeature>,
    _: Enabled<OrgSwitchFeature>,
    s: OwedSession<SwitchOrg>,
) -> Result<Response, ApiError> {
    let choices = signin::org_choices(&s.state, &s.at).await?;
    Ok(Json(UserOrgsBody {
        orgs: choices.orgs.iter().map(UserOrg::from).collect(),
        active_org_slug: choices.active_slug,
    })
    .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
struct SwitchOrgBody {
    /// The slug of one of the user's organizations (it may be the active one).
    org: String,
}

/// Make one of the user's organizations the active one (the session is at `switch_org`).
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/user-orgs", tag = "Organizations and banners", params(SessionPath), request_body = SwitchOrgBody,
    responses((status = 200, description = "Switched; the next step, if any", body = AuthRes),
        (status = 400, description = "Organizations or the org switch are off, no `org`, or the session is not at `switch_org`", body = ErrorBody),
        (status = 404, description = "Unknown session, or not one of the user's organizations (`No organization found`)", body = ErrorBody)))]
async fn switch_org(
    _: Enabled<OrgFeature>,
    _: Enabled<OrgSwitchFeature>,
    s: OwedSession<SwitchOrg>,
    ApiJson(body): ApiJson<SwitchOrgBody>,
) -> Result<Response, ApiError> {
    let call = signin::StepCall::new(&s.state, &s.id, s.tx, s.at, meta(&s.ip));
    let outcome = signin::switch_org(call, &body.org).await;
    step_done(&s.state, &s.id, outcome).await
}

/// The active banners linked to the session's app, for its sign-in UI to show.
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/app-banners", tag = "Organizations and banners", params(SessionPath),
    responses((status = 200, description = "The banners (none linked: an empty list)", body = AppBannersBody),
        (status = 400, description = "App banners are off (`enable_app_banner`)", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn app_banners(_: Enabled<AppBannerFeature>, s: Session) -> Result<Response, ApiError> {
    let banners = banners::shown_for_app(&s.state.store, s.tx.app_id)
        .await?
        .iter()
        .map(AppBanner::from)
        .collect();
    Ok(Json(AppBannersBody { banners }).into_response())
}
