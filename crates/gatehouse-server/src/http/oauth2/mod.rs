//! `/oauth2/v1/*`: the OAuth 2.0 endpoints.

mod token;

use axum::routing::post;
use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth2/v1/token", post(token::token))
}
