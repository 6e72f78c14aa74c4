//! The server's `/info` configuration and links to its public documents.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::AdminUser;
use super::view::{render, Frame};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/configuration.html")]
struct ConfigurationPage {
    f: Frame,
    /// (setting, value) from `/info`.
    settings: Vec<(String, String)>,
}

/// The `/info` configs as rows, values shown as JSON text where they are not plain strings.
fn settings(info: &[u8]) -> Vec<(String, String)> {
    let parsed: serde_json::Value = serde_json::from_slice(info).unwrap_or_default();
    parsed["configs"]
        .as_object()
        .map(|configs| {
            configs
                .iter()
                .map(|(key, value)| {
                    let shown = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (key.clone(), shown)
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn page(State(state): State<AppState>, admin: AdminUser) -> Response {
    let w = admin.words();
    render(
        StatusCode::OK,
        &ConfigurationPage {
            f: Frame::new(
                &admin,
                "configuration",
                w.configuration,
                "/admin/configuration",
            ),
            settings: settings(&state.documents.info),
        },
    )
}
