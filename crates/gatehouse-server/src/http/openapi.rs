//! Routes registered once with their OpenAPI operations, the document made only when it is
//! asked for. Made at start (as `utoipa_axum`'s router does), the two documents held 4 MiB of
//! the server's own memory for as long as it ran, and ran the schema code of every route;
//! most servers never serve them.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::routing::{get, MethodRouter};
use axum::Router;
use utoipa::openapi::path::Paths;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Components, OpenApi, RefOr};

/// The schemas one registration's operations refer to.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// Adds one registration's operations to `paths` and their schemas to `schemas`.
pub type Document = fn(&mut Paths, &mut Schemas);

/// The handlers of one [`routes!`] registration: their method router at their path(s), and
/// how to document them.
pub struct DocumentedRoutes<S> {
    pub paths: Vec<String>,
    pub router: MethodRouter<S>,
    pub document: Document,
}

/// `utoipa_axum::routes!` with the documentation put off: each handler's path and methods are
/// read now (from its `#[utoipa::path]`), its operation and schemas when the document is made.
macro_rules! routes {
    ( $( $handler:path ),+ $(,)? ) => {{
        use ::utoipa_axum::PathItemExt as _;
        let mut router = ::axum::routing::MethodRouter::new();
        let mut paths: Vec<String> = Vec::new();
        $(
            // `paste!` hands the handler's path on as plain tokens, as `utoipa_axum` does.
            let (path, methods): (String, _) = ::utoipa_axum::paste! {(
                ::utoipa_axum::routes!(@path [path()] of $handler),
                ::utoipa_axum::routes!(@path [methods()] of $handler),
            )};
            for method in methods {
                router = router.on(method.to_method_filter(), $handler);
            }
            if !paths.contains(&path) {
                paths.push(path);
            }
        )+
        $crate::http::openapi::DocumentedRoutes {
            paths,
            router,
            // `mut`: `utoipa_axum` hands its schemas on as `&mut schemas`.
            document: |paths: &mut ::utoipa::openapi::path::Paths,
                       mut schemas: &mut $crate::http::openapi::Schemas| {
                $(
                    let (path, item, types) =
                        ::utoipa_axum::routes!(@resolve_types $handler : schemas);
                    paths.add_path_operation(&path, types, item);
                )+
            },
        }
    }};
}
pub(crate) use routes;

/// What a document is made of, in the order the router was put together.
enum Part {
    Routes(Document),
    Merged(Documentation),
}

/// How to make a router's OpenAPI document.
pub struct Documentation {
    base: fn() -> OpenApi,
    parts: Vec<Part>,
}

impl Documentation {
    /// The document, as `utoipa_axum::router::OpenApiRouter` would have built it.
    pub fn build(&self) -> OpenApi {
        let mut openapi = (self.base)();
        for part in &self.parts {
            match part {
                Part::Routes(document) => {
                    let (mut paths, mut schemas) = (Paths::new(), Schemas::new());
                    document(&mut paths, &mut schemas);
                    for (path, item) in paths.paths {
                        match openapi.paths.paths.get_mut(&path) {
                            Some(existing) => existing.merge_operations(item),
                            None => {
                                openapi.paths.paths.insert(path, item);
                            }
                        }
                    }
                    openapi
                        .components
                        .get_or_insert_with(Components::new)
                        .schemas
                        .extend(schemas);
                }
                Part::Merged(other) => openapi.merge(other.build()),
            }
        }
        openapi
    }

    /// `GET` of the document as JSON, made on the first request and kept as bytes.
    pub fn serve<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        let documentation = Arc::new((self, OnceLock::<Bytes>::new()));
        get(move || {
            let documentation = Arc::clone(&documentation);
            async move {
                let (document, json) = &*documentation;
                let body = json.get_or_init(|| {
                    serde_json::to_vec(&document.build()).map_or_else(|_| Bytes::new(), Bytes::from)
                });
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    body.clone(),
                )
            }
        })
    }
}

/// An axum router whose routes carry their OpenAPI documentation, made on demand.
pub struct DocumentedRouter<S> {
    router: Router<S>,
    documentation: Documentation,
}

impl<S: Clone + Send + Sync + 'static> DocumentedRouter<S> {
    /// A router whose document starts as `base` makes it (title, tags, security schemes).
    pub fn new(base: fn() -> OpenApi) -> Self {
        Self {
            router: Router::new(),
            documentation: Documentation {
                base,
                parts: Vec::new(),
            },
        }
    }

    /// A router to be merged into another, whose document supplies the rest.
    pub fn part() -> Self {
        Self::new(OpenApi::default)
    }

    /// Registers what [`routes!`] made.
    pub fn routes(mut self, routes: DocumentedRoutes<S>) -> Self {
        for path in &routes.paths {
            let path = if path.is_empty() { "/" } else { path };
            self.router = self.router.route(path, routes.router.clone());
        }
        self.documentation.parts.push(Part::Routes(routes.document));
        self
    }

    pub fn merge(mut self, other: DocumentedRouter<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.documentation
            .parts
            .push(Part::Merged(other.documentation));
        self
    }

    pub fn split_for_parts(self) -> (Router<S>, Documentation) {
        (self.router, self.documentation)
    }
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::DocumentedRouter;

    #[derive(utoipa::ToSchema, serde::Serialize)]
    struct Thing {
        name: String,
    }

    #[utoipa::path(get, path = "/things/{id}", params(("id" = String, Path)), responses((status = 200, body = Thing)))]
    async fn get_thing() -> axum::Json<Thing> {
        axum::Json(Thing { name: "one".into() })
    }

    #[utoipa::path(delete, path = "/things/{id}", params(("id" = String, Path)), responses((status = 204)))]
    async fn delete_thing() {}

    #[utoipa::path(post, path = "/things", tag = "Things", responses((status = 201, body = Thing)))]
    async fn create_thing() {}

    #[derive(OpenApi)]
    #[openapi(info(title = "Things"), tags((name = "Things", description = "All of them")))]
    struct ThingsDoc;

    #[test]
    fn the_document_made_later_is_the_one_utoipa_axum_makes_at_once() {
        let (_, eager) =
            utoipa_axum::router::OpenApiRouter::<()>::with_openapi(ThingsDoc::openapi())
                .routes(utoipa_axum::routes!(get_thing, delete_thing))
                .merge(
                    utoipa_axum::router::OpenApiRouter::new()
                        .routes(utoipa_axum::routes!(create_thing)),
                )
                .split_for_parts();
        let (_, later) = DocumentedRouter::<()>::new(ThingsDoc::openapi)
            .routes(routes!(get_thing, delete_thing))
            .merge(DocumentedRouter::part().routes(routes!(create_thing)))
            .split_for_parts();
        assert_eq!(
            later.build().to_pretty_json().unwrap(),
            eager.to_pretty_json().unwrap()
        );
    }
}
