//! `/api/v1/scopes`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::crud::crud_routes;
use super::guard::{Guarded, ReadScope, WriteScope};
use super::json::{ApiJson, RecordId};
use super::views::{
    text_pairs, views, ErrorBody, PostScopeReq, PutScopeReq, ScopeBody, ScopeDetailView, ScopesBody,
};
use crate::http::error::ApiError;
use crate::services::scopes::{self, ScopeDetail, ScopeInput};
use crate::state::AppState;

fn detail(d: &ScopeDetail) -> ScopeBody {
    ScopeBody {
        scope: ScopeDetailView {
            scope: (&d.scope).into(),
            locales: views(&d.locales),
        },
    }
}

crud_routes! {
    tag "Scopes", "/api/v1/scopes", "/api/v1/scopes/{id}", id "The scope's id",
    read ReadScope ["read_scope"], write WriteScope ["write_scope"], features [];

    /// List scopes. Requires `read_scope`.
    list(state) -> ScopesBody [401] {
        ScopesBody {
            scopes: views(&scopes::list(&state.store).await?),
        }
    }

    /// Get a scope with its locale texts. Requires `read_scope`.
    get(state, id) -> ScopeBody [400, 401, 404] {
        detail(&scopes::get(&state.store, id).await?)
    }

    /// Create a scope. Requires `write_scope`. Built-in names are refused.
    create(state, _caller, body: PostScopeReq) -> ScopeBody [400, 401, 409] {
        let input = ScopeInput {
            name: body.name,
            scope_type: body.scope_type,
            note: body.note,
            locales: text_pairs(body.locales),
        };
        detail(&scopes::create(&state.store, input).await?)
    }

    /// Update a scope; `locales` replaces all its texts. Requires `write_scope`.
    update(state, _caller, id, body: PutScopeReq) -> ScopeBody [400, 401, 404, 409] {
        let locales = text_pairs(body.locales);
        detail(&scopes::update(&state.store, id, body.name, body.note, locales).await?)
    }

    /// Delete a scope (and its app links and texts). Requires `write_scope`.
    delete(state, _caller, id) [400, 401, 404] {
        scopes::delete(&state.store, id).await?
    }
}
