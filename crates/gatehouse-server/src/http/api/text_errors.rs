//! Refusals as plain text for the S2S apps listed in `api_text_error_clients`.
//!
//! Melody Auth answers `/api/v1` refusals with the message alone, and its admin panel shows the
//! body as it is (a JSON object shows as `[object Object]`). Which shape a caller gets is known
//! only once its token names its app, so the S2S authentication marks the request, and this
//! layer rewrites the refusal on the way out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::http::error::RefusalMessage;

/// Set by the S2S authentication when the caller asked for text refusals.
#[derive(Clone, Default)]
pub struct TextRefusals(Arc<AtomicBool>);

impl TextRefusals {
    pub fn want(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wanted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Marks the request so the authentication can record the caller's choice, then answers a
/// refusal as text when it did.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let marker = TextRefusals::default();
    request.extensions_mut().insert(marker.clone());
    let response = next.run(request).await;
    if !marker.wanted() {
        return response;
    }
    let Some(RefusalMessage(message)) = response.extensions().get::<RefusalMessage>().cloned()
    else {
        return response;
    };
    let (mut parts, _json) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(message))
}
