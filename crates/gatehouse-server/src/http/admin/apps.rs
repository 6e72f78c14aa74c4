//! Apps: the list, creating one (the secret shown once), and editing redirect URIs, scopes,
//! MFA overrides, the refresh-token rotation switch and the active switch.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::grant::AppType;
use gatehouse_store::{App, AppChanges, ScopeStore};

use super::auth::{AdminForm, AdminUser, NoFields};
use super::view::{
    all_of, buttons, lines, one_of, render, see_other, when, Detail, Frame, PageResult,
};
use crate::error::ServiceError;
use crate::services::apps::{self, ClientSecurityInput, LogoutChannelsInput, NewAppInput};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/apps", get(list).post(create))
        .route("/admin/apps/{id}", get(detail).post(update))
        .route("/admin/apps/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/apps.html")]
struct AppsPage {
    f: Frame,
    apps: Vec<App>,
    /// (scope name, scope type, checked at first) for the create form.
    scopes: Vec<(String, String, bool)>,
}

/// What a new browser or web app usually asks for.
const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

async fn list(State(state): State<AppState>, admin: AdminUser) -> PageResult {
    let w = admin.words();
    let apps = apps::list(&state).await?;
    let scopes = state
        .store
        .list_scopes()
        .await?
        .into_iter()
        .map(|s| {
            let checked = DEFAULT_SCOPES.contains(&s.name.as_str());
            (s.name, s.scope_type, checked)
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &AppsPage {
            f: Frame::new(&admin, "apps", w.apps, "/admin/apps"),
            apps,
            scopes,
        },
    ))
}

async fn create(posted: AdminForm<Vec<(String, String)>>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let input = NewAppInput {
        name: one_of(&form, "name").to_owned(),
        app_type: one_of(&form, "type").to_owned(),
        scopes: all_of(&form, "scope"),
        redirect_uris: lines(one_of(&form, "redirect_uris")),
        rotate_refresh_tokens: None,
        allow_device_flow: None,
        id_token_signed_response_alg: None,
        standard_claims: None,
        security: Default::default(),
        logout: Default::default(),
    };
    let (app, secret) = apps::create(&state, &admin.scopes(), input).await?;
    // Public (SPA) apps never use a secret; confidential ones see theirs once, here.
    let secret = (app.app_type != AppType::Spa).then_some(secret);
    app_page(&state, &admin, app, secret, None).await
}

#[derive(Template)]
#[template(path = "admin/app.html")]
struct AppPage {
    f: Frame,
    app: App,
    created: String,
    secret: Option<String>,
    redirect_uris: String,
    /// (scope name, held).
    scopes: Vec<(String, bool)>,
    /// (field, label, on).
    switches: Vec<(&'static str, &'static str, bool)>,
    /// The registered JWK set, pretty-printed for the text area.
    jwks: String,
}

async fn app_page(
    state: &AppState,
    admin: &AdminUser,
    app: App,
    secret: Option<String>,
    notice: Option<String>,
) -> PageResult {
    let w = admin.words();
    let scope_type = if app.app_type == AppType::S2s {
        "s2s"
    } else {
        "spa"
    };
    let known = state.store.list_scopes().await?;
    let scopes = known
        .into_iter()
        .filter(|s| s.scope_type == scope_type || app.scopes.contains(&s.name))
        .map(|s| {
            let held = app.scopes.contains(&s.name);
            (s.name, held)
        })
        .collect();
    let mut switches = vec![
        ("is_active", w.active, app.is_active),
        (
            "rotate_refresh_tokens",
            w.rotate_refresh_tokens,
            app.rotate_refresh_tokens,
        ),
        (
            "use_system_mfa_config",
            w.use_system_mfa,
            app.use_system_mfa_config,
        ),
        (
            "require_email_mfa",
            w.require_email_mfa,
            app.require_email_mfa,
        ),
        ("require_otp_mfa", w.require_otp_mfa, app.require_otp_mfa),
        ("require_sms_mfa", w.require_sms_mfa, app.require_sms_mfa),
        (
            "allow_email_mfa_as_backup",
            w.email_mfa_backup,
            app.allow_email_mfa_as_backup,
        ),
    ];
    switches.push((
        "dpop_bound_access_tokens",
        w.dpop_bound,
        app.security.dpop_bound_access_tokens,
    ));
    if app.app_type != AppType::Spa {
        switches.push((
            "fapi2_security_profile",
            w.fapi2,
            app.security.fapi2_security_profile,
        ));
    }
    if app.app_type != AppType::S2s {
        switches.push((
            "require_pushed_authorization_requests",
            w.require_par,
            app.security.require_pushed_authorization_requests,
        ));
        switches.push(("standard_claims", w.standard_claims, app.standard_claims));
        switches.push((
            "allow_device_flow",
            w.allow_device_flow,
            app.allow_device_flow,
        ));
    }
    let jwks = app.security.jwks.as_deref().map_or(String::new(), |j| {
        serde_json::from_str::<serde_json::Value>(j)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default()
    });
    let page = AppPage {
        f: Frame::new(admin, "apps", &app.name, &format!("/admin/apps/{}", app.id))
            .with_notice(notice),
        jwks,
        created: when(&app.created_at),
        redirect_uris: app.redirect_uris.join("\n"),
        secret,
        scopes,
        switches,
        app,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn detail(
    State(state): State<AppState>,
    Detail { admin, notice }: Detail,
    Path(id): Path<i64>,
) -> PageResult {
    let app = apps::get(&state, id).await?;
    app_page(&state, &admin, app, None, notice).await
}

/// The edit form posts every field; unchecked switches are absent, so they read as off.
async fn update(Path(id): Path<i64>, posted: AdminForm<Vec<(String, String)>>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let on = |name: &str| Some(one_of(&form, name) == "on");
    let changes = AppChanges {
        name: Some(one_of(&form, "name").to_owned()),
        redirect_uris: Some(lines(one_of(&form, "redirect_uris"))),
        scopes: Some(all_of(&form, "scope")),
        is_active: on("is_active"),
        rotate_refresh_tokens: on("rotate_refresh_tokens"),
        use_system_mfa_config: on("use_system_mfa_config"),
        require_email_mfa: on("require_email_mfa"),
        require_otp_mfa: on("require_otp_mfa"),
        require_sms_mfa: on("require_sms_mfa"),
        allow_email_mfa_as_backup: on("allow_email_mfa_as_backup"),
        allow_device_flow: on("allow_device_flow"),
        id_token_signed_response_alg: Some(
            one_of(&form, "id_token_signed_response_alg").to_owned(),
        ),
        standard_claims: on("standard_claims"),
        security: None,
        logout: None,
    };
    let security = security_input(&form)?;
    let logout = logout_input(&form);
    apps::update(&state, &admin.scopes(), id, (changes, security, logout)).await?;
    Ok(see_other(&format!("/admin/apps/{id}?done=1")))
}

/// The key settings of the edit form. Fields a page does not show (an spa app has no keys)
/// are absent and keep their values; an empty key set removes the keys.
fn security_input(form: &[(String, String)]) -> Result<ClientSecurityInput, ServiceError> {
    let present = |name: &str| form.iter().any(|(k, _)| k == name);
    let field = |name: &str| present(name).then(|| one_of(form, name).trim().to_owned());
    let jwks = match field("jwks") {
        None => None,
        Some(text) if text.is_empty() => Some(serde_json::json!({ "keys": [] })),
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|_| gatehouse_core::admin::AdminRuleError::InvalidJwks)?,
        ),
    };
    Ok(ClientSecurityInput {
        require_pushed_authorization_requests: Some(
            one_of(form, "require_pushed_authorization_requests") == "on",
        ),
        token_endpoint_auth_method: field("token_endpoint_auth_method"),
        jwks,
        jwks_uri: field("jwks_uri"),
        dpop_bound_access_tokens: Some(one_of(form, "dpop_bound_access_tokens") == "on"),
        request_object_signing_alg: field("request_object_signing_alg"),
        fapi2_security_profile: Some(one_of(form, "fapi2_security_profile") == "on"),
    })
}

/// The logout settings of the edit form (absent on an S2S app's page, so kept).
fn logout_input(form: &[(String, String)]) -> LogoutChannelsInput {
    let present = |name: &str| form.iter().any(|(k, _)| k == name);
    let field = |name: &str| present(name).then(|| one_of(form, name).trim().to_owned());
    let shown = present("backchannel_logout_uri");
    let switch = |name: &str| shown.then(|| one_of(form, name) == "on");
    LogoutChannelsInput {
        backchannel_logout_uri: field("backchannel_logout_uri"),
        backchannel_logout_session_required: switch("backchannel_logout_session_required"),
        frontchannel_logout_uri: field("frontchannel_logout_uri"),
        frontchannel_logout_session_required: switch("frontchannel_logout_session_required"),
    }
}

buttons! {
    delete(state, id => i64, _ => AdminForm<NoFields>) { apps::delete(&state, id) } => "/admin/apps";
}
