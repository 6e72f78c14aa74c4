//! Facebook sign-in: the page's Facebook button (the JavaScript SDK) hands the browser a user
//! access token, posted to Melody's `/identity/v1/authorize-facebook`. Graph's `debug_token`,
//! asked with the app's own token, must say it is valid and issued to this app; `/me` then says
//! who it is.

use gatehouse_core::signin::SignInError;
use gatehouse_core::social_profiles::{facebook_profile, facebook_token_user};

use crate::error::ServiceError;
use crate::services::federation::{refused, sign_in_as};
use crate::services::signin::{Outcome, TxCall};
use crate::state::AppState;

const NAME: &str = "Facebook";

pub fn enabled(state: &AppState) -> bool {
    !state.config.facebook_auth_client_id.is_empty()
        && !state.config.facebook_auth_client_secret.is_empty()
}

async fn graph(
    state: &AppState,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Vec<u8>, ServiceError> {
    let url = format!("{}{path}", state.config.facebook_graph_url);
    let response = state.http.get(url).query(query).send().await.map_err(|e| {
        tracing::warn!(error = %e, "Facebook's Graph API is unreachable");
        SignInError::ProviderUnavailable(NAME.into())
    })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|_| SignInError::ProviderUnavailable(NAME.into()))?;
    if status.is_server_error() {
        tracing::warn!(%status, "Facebook's Graph API failed");
        return Err(SignInError::ProviderUnavailable(NAME.into()).into());
    }
    Ok(body.to_vec())
}

pub async fn sign_in_with_token(call: TxCall<'_>, token: &str) -> Result<Outcome, ServiceError> {
    let (state, tx_id, tx, meta) = call.into_parts();
    if !enabled(state) {
        return Err(SignInError::FeatureOff("Facebook sign-in").into());
    }
    tx.expect_first_factor()?;
    if token.is_empty() {
        return Err(SignInError::BadInput("The Facebook access token is missing".into()).into());
    }
    let app_id = &state.config.facebook_auth_client_id;
    let app_token = format!(
        "{app_id}|{}",
        state.config.facebook_auth_client_secret.expose()
    );
    let debug = graph(
        state,
        "/debug_token",
        &[("input_token", token), ("access_token", &app_token)],
    )
    .await?;
    let user_id = facebook_token_user(&debug, app_id).map_err(|e| refused(NAME, e.to_string()))?;
    let me = graph(
        state,
        "/me",
        &[
            ("fields", "id,email,first_name,last_name"),
            ("access_token", token),
        ],
    )
    .await?;
    let profile = facebook_profile(&me).map_err(|e| refused(NAME, e.to_string()))?;
    if profile.subject != user_id {
        return Err(refused(NAME, "Facebook named two different users"));
    }
    sign_in_as(state, NAME, tx_id, tx, &profile, meta).await
}
