//! `/oauth2/v1/*`: the OAuth 2.0 endpoints.

pub(crate) mod authorize;
mod introspect;
mod par;
mod register;
mod revoke;
pub mod token;
mod userinfo;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/v1/token", post(token::token))
        .route(
            "/oauth2/v1/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/oauth2/v1/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(par::PAR_PATH, post(par::push))
        .route("/oauth2/v1/register", post(register::register))
        .route(
            "/oauth2/v1/register/{client_id}",
            get(register::read)
                .put(register::update)
                .delete(register::delete),
        )
        .route("/oauth2/v1/revoke", post(revoke::revoke))
        .route("/oauth2/v1/introspect", post(introspect::introspect))
        .route(
            "/oauth2/v1/device_authorization",
            post(token::device_authorization),
        )
}
