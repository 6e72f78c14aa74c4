//! `/admin`: the admin panel, server-rendered pages compiled into the binary. Handlers are thin:
//! they take an `AdminUser` (GET) or an `AdminForm` (POST, CSRF-checked) and call the same
//! services the `/api/v1` handlers call. One module and one template per area; a new page adds
//! a module, a template, its routes here and a line in `view::NAV`.

mod account;
mod apps;
mod attributes;
mod audit;
mod auth;
mod banners;
mod configuration;
mod connect_apps;
mod dashboard;
mod feature;
mod keys;
mod logs;
mod orgs;
mod resource_servers;
mod roles;
mod saml;
mod scopes;
mod setup;
mod user_actions;
mod users;
mod view;
mod webhooks;

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::i18n;
use crate::state::AppState;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard::page))
        .route("/admin/configuration", get(configuration::page))
        .route("/admin/assets/admin.css", get(view::stylesheet))
        .route("/admin/assets/preview.js", get(view::preview_script))
        .route("/admin/sign-in", get(auth::sign_in))
        .route("/admin/callback", get(auth::callback))
        .route("/admin/sign-out", post(auth::sign_out))
        .route("/admin/locale/{lang}", get(auth::switch_locale))
        .route("/admin/setup", get(setup::page).post(setup::submit))
        .merge(users::routes())
        .merge(apps::routes())
        .merge(logs::routes())
        .merge(audit::routes())
        .merge(orgs::routes())
        .merge(banners::routes())
        .merge(connect_apps::routes())
        .merge(webhooks::routes())
        .merge(attributes::routes())
        .merge(roles::routes())
        .merge(saml::routes())
        .merge(resource_servers::routes())
        .merge(scopes::routes())
        .merge(keys::routes())
        .route("/admin/account", get(account::page))
        .layer(middleware::from_fn_with_state(
            state,
            view::render_service_errors,
        ))
}
