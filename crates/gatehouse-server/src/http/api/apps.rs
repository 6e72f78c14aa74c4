//! `/api/v1/apps`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::AppChanges;

use super::crud::crud_routes;
use super::guard::{Guarded, ReadApp, WriteApp};
use super::json::{ApiJson, RecordId};
use super::views::{
    views, AppBody, AppsBody, CreatedAppBody, CreatedAppView, ErrorBody, PutAppReq,
};
use crate::http::error::ApiError;
use crate::services::apps::{self, NewAppInput};
use crate::state::AppState;

crud_routes! {
    tag "Apps", "/api/v1/apps", "/api/v1/apps/{id}", id "The app's id",
    read ReadApp ["read_app"], write WriteApp ["write_app"], features [];

    /// List apps (never their secrets). Requires `read_app`.
    list(state) -> AppsBody [401] {
        AppsBody {
            apps: views(&apps::list(&state).await?),
        }
    }

    /// Get an app with its scopes. Requires `read_app`.
    get(state, id) -> AppBody [400, 401, 404] {
        AppBody {
            app: (&apps::get(&state, id).await?).into(),
        }
    }

    /// Create an app. The response is the only time its secret is shown. Requires `write_app`;
    /// giving the app `root` also requires the caller to hold `root`.
    create(state, caller, input: NewAppInput) -> CreatedAppBody [400, 401] {
        let (app, secret) = apps::create(&state, &caller.scopes, input).await?;
        CreatedAppBody {
            app: CreatedAppView {
                app: (&app).into(),
                secret,
            },
        }
    }

    /// Update an app; `scopes` replaces its scopes. Requires `write_app`; giving the app `root`
    /// also requires the caller to hold `root`.
    update(state, caller, id, body: PutAppReq) -> AppBody [400, 401, 404] {
        let changes = AppChanges {
            name: body.name,
            redirect_uris: body.redirect_uris,
            is_active: body.is_active,
            scopes: body.scopes,
            use_system_mfa_config: body.use_system_mfa_config,
            require_email_mfa: body.require_email_mfa,
            require_otp_mfa: body.require_otp_mfa,
            require_sms_mfa: body.require_sms_mfa,
            allow_email_mfa_as_backup: body.allow_email_mfa_as_backup,
            rotate_refresh_tokens: body.rotate_refresh_tokens,
            allow_device_flow: body.allow_device_flow,
            id_token_signed_response_alg: body.id_token_signed_response_alg,
            standard_claims: body.standard_claims,
            security: None,
            logout: None,
        };
        let edit = (changes, body.security, body.logout);
        let app = apps::update(&state, &caller.scopes, id, edit).await?;
        AppBody { app: (&app).into() }
    }

    /// Delete an app. Requires `write_app`.
    delete(state, _caller, id) [400, 401, 404] {
        apps::delete(&state, id).await?
    }
}
