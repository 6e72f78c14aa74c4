//! What every panel page shares: the frame (navigation, words, CSRF token, language links),
//! rendering with the panel's security headers, message pages and the one mapping of service
//! errors to pages.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use serde::Deserialize;

use super::auth::{panel_locale, AdminUser};
use super::i18n::{self, Words};
use crate::error::ServiceError;
use crate::http::error::status_of;
use crate::http::web::page_headers;
use crate::state::AppState;

/// The navigation: (section id, path, label). A new page adds one line here.
/// (section id, path, label).
type NavEntry = (&'static str, &'static str, fn(&Words) -> &'static str);

const NAV: [NavEntry; 17] = [
    ("dashboard", "/admin", |w| w.dashboard),
    ("users", "/admin/users", |w| w.users),
    ("apps", "/admin/apps", |w| w.apps),
    ("orgs", "/admin/orgs", |w| w.orgs),
    ("attributes", "/admin/attributes", |w| w.attributes),
    ("banners", "/admin/banners", |w| w.banners),
    ("roles", "/admin/roles", |w| w.roles),
    ("scopes", "/admin/scopes", |w| w.scopes),
    ("logs", "/admin/logs/sign-in", |w| w.logs),
    ("audit", "/admin/audit", |w| w.audit_trail),
    ("saml", "/admin/saml", |w| w.saml),
    ("resource-servers", "/admin/resource-servers", |w| {
        w.resource_servers
    }),
    ("connect", "/admin/connect-apps", |w| w.connect_apps),
    ("webhooks", "/admin/webhooks", |w| w.webhooks),
    ("keys", "/admin/keys", |w| w.keys),
    ("configuration", "/admin/configuration", |w| w.configuration),
    ("account", "/admin/account", |w| w.account),
];

pub struct NavLink {
    pub id: &'static str,
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub struct LocaleLink {
    pub lang: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// The layout's data.
pub struct Frame {
    pub w: &'static Words,
    pub title: String,
    pub csrf: String,
    pub admin_email: String,
    pub nav: Vec<NavLink>,
    pub locales: Vec<LocaleLink>,
    pub notice: Option<String>,
}

impl Frame {
    /// The frame of a page in `section`, at `here` (the path the language links return to).
    pub fn new(admin: &AdminUser, section: &str, title: &str, here: &str) -> Self {
        let w = admin.words();
        let back = serde_urlencoded::to_string([("back", here)]).unwrap_or_default();
        Self {
            w,
            title: title.to_owned(),
            csrf: admin.csrf().to_owned(),
            admin_email: admin.admin.user.email.clone().unwrap_or_default(),
            nav: NAV
                .iter()
                .map(|(id, href, label)| NavLink {
                    id,
                    href,
                    label: label(w),
                    current: *id == section,
                })
                .collect(),
            locales: i18n::LANGUAGES
                .map(|language| &language.panel)
                .into_iter()
                .map(|other| LocaleLink {
                    lang: other.lang,
                    name: other.language_name,
                    href: format!("/admin/locale/{}?{back}", other.lang),
                    current: other.lang == w.lang,
                })
                .collect(),
            notice: None,
        }
    }

    /// The frame of a page outside a session (messages, setup).
    pub fn bare(w: &'static Words, title: &str) -> Self {
        Self {
            w,
            title: title.to_owned(),
            csrf: String::new(),
            admin_email: String::new(),
            nav: Vec::new(),
            locales: Vec::new(),
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

/// An admin opening a record's page, with the "saved" notice when an edit redirected here
/// (`?done`).
pub struct Detail {
    pub admin: AdminUser,
    pub notice: Option<String>,
}

#[derive(Deserialize)]
struct DetailQuery {
    done: Option<String>,
}

impl FromRequestParts<AppState> for Detail {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let admin = AdminUser::from_request_parts(parts, state).await?;
        let Query(q) = Query::<DetailQuery>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let notice = q.done.is_some().then(|| admin.words().saved.to_owned());
        Ok(Self { admin, notice })
    }
}

/// The panel's stylesheet, compiled into the binary.
pub const STYLESHEET: &str = include_str!("../../../assets/admin.css");

/// The organization page's live preview, the panel's only script.
pub const PREVIEW_SCRIPT: &str = include_str!("../../../assets/preview.js");

pub async fn preview_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PREVIEW_SCRIPT,
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Renders a panel page: no caching, no framing, only the panel's own script, styles from the panel only (and
/// inline ones, for the branding preview).
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(code = "GH-TEMPLATE", error = %err, "admin page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered",
            )
                .into_response()
        }
    };
    page_headers(&mut response, None);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' https: data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[derive(Template)]
#[template(path = "admin/message.html")]
struct MessagePage<'a> {
    f: Frame,
    text: &'a str,
    is_error: bool,
    link: Option<(&'a str, &'a str)>,
}

/// A page with one message and an optional link `(href, label)`.
pub fn message(
    w: &'static Words,
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    render(
        status,
        &MessagePage {
            f: Frame::bare(w, title),
            text,
            is_error: status.is_client_error() || status.is_server_error(),
            link,
        },
    )
}

#[derive(Template)]
#[template(path = "admin/refused.html")]
struct RefusedPage<'a> {
    f: Frame,
    browser_csrf: &'a str,
}

/// The refusal a signed-in user without an admin role sees, with sign-out.
pub fn refused_page(w: &'static Words, browser_csrf: &str) -> Response {
    render(
        StatusCode::FORBIDDEN,
        &RefusedPage {
            f: Frame::bare(w, w.refused_title),
            browser_csrf,
        },
    )
}

/// The one mapping of service errors to pages: refusals say what was wrong (with the status the
/// S2S API gives), internal failures get the greppable code only.
pub fn service_error(state: &AppState, w: &'static Words, err: &ServiceError) -> Response {
    let class = err.class();
    if class.is_server_fault() {
        return crate::http::error::page_internal_error(&state.config, w.lang, err);
    }
    message(
        w,
        status_of(class),
        w.error_title,
        &err.to_string(),
        Some(("/admin", w.back)),
    )
}

/// What went wrong in a panel handler: a page it made itself, or a service error (so handlers
/// can use `?`), which [`render_service_errors`] turns into a page in the admin's language.
pub enum PageError {
    /// Boxed: a response is large to carry in every `Result`.
    Page(Box<Response>),
    Service(ServiceError),
}

impl From<Response> for PageError {
    fn from(response: Response) -> Self {
        Self::Page(Box::new(response))
    }
}

impl From<ServiceError> for PageError {
    fn from(err: ServiceError) -> Self {
        Self::Service(err)
    }
}

impl From<gatehouse_store::StoreError> for PageError {
    fn from(err: gatehouse_store::StoreError) -> Self {
        Self::Service(err.into())
    }
}

/// A service error on its way from a handler to [`render_service_errors`].
#[derive(Clone)]
struct UnrenderedServiceError(Arc<ServiceError>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::Page(page) => *page,
            Self::Service(err) => {
                // The status is set here so that every layer in between sees the real one.
                let mut response = status_of(err.class()).into_response();
                response
                    .extensions_mut()
                    .insert(UnrenderedServiceError(Arc::new(err)));
                response
            }
        }
    }
}

/// The panel router's layer: a handler's service error becomes its page, in the language the
/// admin reads the panel in (chosen as `AdminUser` chooses it).
pub async fn render_service_errors(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let locale = panel_locale(&state.config, request.headers());
    let response = next.run(request).await;
    match response.extensions().get::<UnrenderedServiceError>() {
        Some(UnrenderedServiceError(err)) => service_error(&state, i18n::words(&locale), err),
        None => response,
    }
}

/// The result of a panel handler: a page, or the page of what went wrong.
pub type PageResult = Result<Response, PageError>;

/// Handlers of buttons that post nothing but the CSRF token: each binds the URL's parameters
/// and the area's guard (a CSRF-checked form extractor), makes one service call and sends the
/// admin on to `$to`.
macro_rules! buttons {
    ($(
        $name:ident($state:ident, $path:pat => $path_ty:ty, $guard:pat => $guard_ty:ty)
            $call:block => $to:expr;
    )+) => {$(
        async fn $name(
            axum::extract::State($state): axum::extract::State<crate::state::AppState>,
            axum::extract::Path($path): axum::extract::Path<$path_ty>,
            $guard: $guard_ty,
        ) -> super::view::PageResult {
            $call.await?;
            Ok(super::view::see_other(&$to))
        }
    )+};
}
pub(super) use buttons;

/// The values of every `name=` field of a posted form.
pub fn all_of(form: &[(String, String)], name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The value of a posted form's first `name=` field (empty when there is none).
pub fn one_of<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The non-blank lines of a text area, trimmed (one URI or pattern per line).
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A page of a switched-off feature says so (with the S2S API's message) instead of offering
/// forms that fail.
pub fn feature_on(
    enabled: bool,
    admin: &AdminUser,
    title: fn(&Words) -> &'static str,
    off_message: &str,
) -> Result<(), PageError> {
    if enabled {
        return Ok(());
    }
    let w = admin.words();
    Err(message(
        w,
        StatusCode::BAD_REQUEST,
        title(w),
        off_message,
        Some(("/admin", w.back)),
    )
    .into())
}

/// Paging of a list: 1-based page number, page count, links.
pub struct Paging {
    pub line: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

pub const PAGE_SIZE: u32 = 20;

impl Paging {
    /// `link(n)` is the URL of page `n`.
    pub fn new(w: &Words, page: u32, total: i64, link: impl Fn(u32) -> String) -> Self {
        Self::counted(w, page, total, false, link)
    }

    /// As [`Paging::new`], for a `total` that may be an estimate (then shown as one).
    pub fn counted(
        w: &Words,
        page: u32,
        total: i64,
        estimated: bool,
        link: impl Fn(u32) -> String,
    ) -> Self {
        let pages = u32::try_from((total.max(0) + i64::from(PAGE_SIZE) - 1) / i64::from(PAGE_SIZE))
            .unwrap_or(u32::MAX)
            .max(1);
        Self {
            line: w.page_line(page, pages, total, estimated),
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// A page number from the query (1 when absent or nonsense).
pub fn page_number(raw: Option<u32>) -> u32 {
    raw.filter(|n| *n >= 1).unwrap_or(1)
}

/// A timestamp as the panel shows it.
pub fn when(at: &chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}
