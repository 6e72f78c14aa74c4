//! The admin's own account: the self-service policies, run by the account page at `/i`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::AdminUser;
use super::view::{render, Frame};
use crate::http::identity::account_policies;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    f: Frame,
    email: String,
    /// (policy, label) of each self-service flow this server offers.
    policies: Vec<(&'static str, &'static str)>,
}

pub(super) async fn page(State(state): State<AppState>, admin: AdminUser) -> Response {
    let w = admin.words();
    let page = AccountPage {
        f: Frame::new(&admin, "account", w.account, "/admin/account"),
        email: admin.admin.user.email.clone().unwrap_or_default(),
        policies: account_policies(&state, &admin.locale),
    };
    render(StatusCode::OK, &page)
}
