//! The five handlers of a record kind addressed by a numeric id (list, get, create, update,
//! delete), written once: [`crud_routes!`] gives each its guard, feature switches, extractors,
//! status and OpenAPI annotation, and the resource module supplies only what differs — the
//! service call that makes each answer's body, the documented refusals and the doc text.

/// Writes `list`, `get`, `create`, `update` and `delete` for a resource.
///
/// The header names the OpenAPI tag, the collection and item paths, the id's description, the
/// read and write guards with the scopes they stand for, and the feature switches every
/// handler checks after its guard. Each operation then gives its doc comment, the names it binds
/// (the state, the caller, the id, the JSON body), the body type it answers with, the
/// error statuses it documents (`ErrorBody`) and a block that evaluates to the body (`?`
/// answers with the error).
macro_rules! crud_routes {
    (
        tag $tag:literal, $path:literal, $item:literal, id $id_doc:literal,
        read $read:ident [$($read_scope:tt),+], write $write:ident [$($write_scope:tt),+],
        features [$($feature:ident),*];
        $(#[$list_meta:meta])*
        list($ls:ident) -> $list_body:ident [$($list_err:tt),*] $list:block
        $(#[$get_meta:meta])*
        get($gs:ident, $gid:ident) -> $get_body:ident [$($get_err:tt),*] $get:block
        $(#[$create_meta:meta])*
        create($cs:ident, $cc:ident, $cb:ident: $new:ident) -> $created:ident [$($create_err:tt),*] $create:block
        $(#[$update_meta:meta])*
        update($us:ident, $uc:ident, $uid:ident, $ub:ident: $change:ident) -> $updated:ident [$($update_err:tt),*] $update:block
        $(#[$delete_meta:meta])*
        delete($ds:ident, $dc:ident, $did:ident) [$($delete_err:tt),*] $delete:block
    ) => {
        $(#[$list_meta])*
        #[utoipa::path(get, path = $path, tag = $tag, security(("oauth2" = [$($read_scope),+])),
            responses((status = 200, body = $list_body) $(, (status = $list_err, body = ErrorBody))*))]
        pub async fn list(
            _: Guarded<$read>,
            $(_: Enabled<$feature>,)*
            State($ls): State<AppState>,
        ) -> Result<Json<$list_body>, ApiError> {
            Ok(Json($list))
        }

        $(#[$get_meta])*
        #[utoipa::path(get, path = $item, tag = $tag, security(("oauth2" = [$($read_scope),+])),
            params(("id" = i64, Path, description = $id_doc)),
            responses((status = 200, body = $get_body) $(, (status = $get_err, body = ErrorBody))*))]
        pub async fn get(
            _: Guarded<$read>,
            $(_: Enabled<$feature>,)*
            State($gs): State<AppState>,
            RecordId($gid): RecordId,
        ) -> Result<Json<$get_body>, ApiError> {
            Ok(Json($get))
        }

        $(#[$create_meta])*
        #[utoipa::path(post, path = $path, tag = $tag, request_body = $new,
            security(("oauth2" = [$($write_scope),+])),
            responses((status = 201, body = $created) $(, (status = $create_err, body = ErrorBody))*))]
        pub async fn create(
            guard: Guarded<$write>,
            $(_: Enabled<$feature>,)*
            State($cs): State<AppState>,
            ApiJson($cb): ApiJson<$new>,
        ) -> Result<(StatusCode, Json<$created>), ApiError> {
            let $cc = &guard.caller;
            Ok((StatusCode::CREATED, Json($create)))
        }

        $(#[$update_meta])*
        #[utoipa::path(put, path = $item, tag = $tag, request_body = $change,
            security(("oauth2" = [$($write_scope),+])),
            params(("id" = i64, Path, description = $id_doc)),
            responses((status = 200, body = $updated) $(, (status = $update_err, body = ErrorBody))*))]
        pub async fn update(
            guard: Guarded<$write>,
            $(_: Enabled<$feature>,)*
            State($us): State<AppState>,
            RecordId($uid): RecordId,
            ApiJson($ub): ApiJson<$change>,
        ) -> Result<Json<$updated>, ApiError> {
            let $uc = &guard.caller;
            Ok(Json($update))
        }

        $(#[$delete_meta])*
        #[utoipa::path(delete, path = $item, tag = $tag, security(("oauth2" = [$($write_scope),+])),
            params(("id" = i64, Path, description = $id_doc)),
            responses((status = 204) $(, (status = $delete_err, body = ErrorBody))*))]
        pub async fn delete(
            guard: Guarded<$write>,
            $(_: Enabled<$feature>,)*
            State($ds): State<AppState>,
            RecordId($did): RecordId,
        ) -> Result<StatusCode, ApiError> {
            let $dc = &guard.caller;
            $delete;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

pub(super) use crud_routes;
