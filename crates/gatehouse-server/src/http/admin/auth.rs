//! Who may use the panel: `AdminUser` (built here only, from the panel's session cookie and the
//! user's current roles) and `AdminForm` (an admin's form post that passed the Origin and CSRF
//! checks). Also the sign-in round trip through `/oauth2/v1/authorize`, sign-out and the
//! language switch.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::i18n::{self, Words};
use super::view::{message, see_other};
use crate::crypto::constant_time_eq;
use crate::http::identity::browser::Browser;
use crate::http::web::{client_ip, cookie, foreign_origin, peer};
use crate::services::admin_panel::{self, PanelAdmin, SignedIn};
use crate::services::sessions;
use crate::state::AppState;
use gatehouse_store::changes::{self, ActorKind};

/// The panel's session cookie (only its SHA-256 names the session in the cache).
pub const ADMIN_COOKIE: &str = "gh_admin";
/// The `state` of a sign-in this browser started.
const LOGIN_COOKIE: &str = "gh_admin_login";
const LOCALE_COOKIE: &str = "gh_admin_locale";
/// The languages the panel speaks: every language of the catalogue.
const PANEL_LOCALES: [&str; crate::i18n::TAGS.len()] = crate::i18n::TAGS;

/// An admin holding an admin role now, with the panel's language.
pub struct AdminUser {
    pub admin: PanelAdmin,
    pub locale: String,
}

impl AdminUser {
    pub fn words(&self) -> &'static Words {
        i18n::words(&self.locale)
    }

    pub fn csrf(&self) -> &str {
        &self.admin.session.csrf
    }

    /// The scopes the admin acts with (`root` for `super_admin`).
    pub fn scopes(&self) -> Vec<String> {
        self.admin.scopes()
    }

    pub fn authority(&self) -> crate::services::authority::Authority {
        self.admin.authority()
    }
}

/// The panel's language: the one chosen in the panel, else the browser's.
pub fn panel_locale(config: &crate::config::Config, headers: &HeaderMap) -> String {
    let supported: Vec<String> = PANEL_LOCALES.iter().map(|l| (*l).to_owned()).collect();
    let chosen = cookie(config, headers, LOCALE_COOKIE);
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(gatehouse_core::request_headers::accepted_languages)
        .unwrap_or_default();
    gatehouse_core::authorize::pick_locale(chosen.into_iter().chain(accepted), &supported)
}

/// A `Set-Cookie` for the panel: HttpOnly, `SameSite`, Secure on https.
fn panel_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    same_site: SameSite,
    max_age: u64,
) -> HeaderValue {
    // A `__Host-` cookie must be Secure at `Path=/`; on http the panel keeps its own path.
    let secure = crate::http::web::secure_cookies(&state.config);
    let name = crate::http::web::cookie_name(&state.config, name);
    let cookie = Cookie::build((name, value.to_owned()))
        .path(if secure { "/" } else { "/admin" })
        .http_only(true)
        .same_site(same_site)
        .secure(secure)
        .max_age(crate::http::web::seconds(max_age))
        .build();
    crate::http::web::set_cookie_value(&cookie)
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let locale = panel_locale(&state.config, &parts.headers);
        let session_id = cookie(&state.config, &parts.headers, ADMIN_COOKIE).map(str::to_owned);
        let admin = match &session_id {
            Some(id) => admin_panel::current_admin(state, id).await,
            None => Ok(None),
        };
        match (admin, session_id) {
            (Ok(Some(admin)), Some(_)) => {
                // What this request changes is recorded as this admin's.
                changes::identify(ActorKind::Admin, admin.user.auth_id.as_str());
                Ok(Self { admin, locale })
            }
            (Err(err), _) => Err(crate::http::error::page_internal_error(
                &state.config,
                &locale,
                &err,
            )),
            _ if parts.method == Method::GET => {
                let here = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
                let query = serde_urlencoded::to_string([("return_to", here)]).unwrap_or_default();
                Err(see_other(&format!("/admin/sign-in?{query}")))
            }
            _ => {
                let w = i18n::words(&locale);
                Err(message(
                    w,
                    StatusCode::FORBIDDEN,
                    w.forbidden_title,
                    w.session_ended,
                    Some(("/admin", w.sign_in_again)),
                ))
            }
        }
    }
}

/// A form an admin posted from the panel: the `Origin` is the issuer's (when sent) and the
/// `csrf_token` field is the session's. Anything else is refused with 403 before the form is
/// read into `T`. It carries all its handler works with: the state, the admin and the form.
pub struct AdminForm<T> {
    pub state: AppState,
    pub admin: AdminUser,
    pub form: T,
}

/// The form of a button that posts nothing but its CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

/// The form of an active switch: `active=true` turns the record on, anything else off.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ActiveForm {
    active: String,
}

impl ActiveForm {
    pub fn is_active(&self) -> bool {
        self.active == "true"
    }
}

/// A form that posts only its CSRF token (a button; the sign-out form).
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct CsrfField {
    csrf_token: String,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AdminForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let admin = AdminUser::from_request_parts(&mut parts, state).await?;
        let w = admin.words();
        let refused = || {
            message(
                w,
                StatusCode::FORBIDDEN,
                w.forbidden_title,
                w.csrf_text,
                Some(("/admin", w.back)),
            )
        };
        if foreign_origin(&parts.headers, &state.config.issuer) {
            return Err(refused());
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let posted: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| refused())?;
        if !constant_time_eq(posted.csrf_token.as_bytes(), admin.csrf().as_bytes()) {
            return Err(refused());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|err| {
            message(
                w,
                StatusCode::BAD_REQUEST,
                w.error_title,
                &format!("The form could not be read: {err}"),
                Some(("/admin", w.back)),
            )
        })?;
        Ok(Self {
            state: state.clone(),
            admin,
            form,
        })
    }
}

#[derive(Deserialize)]
pub(super) struct SignInQuery {
    return_to: Option<String>,
}

/// Starts the authorization-code flow with the admin SPA app.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    let locale = panel_locale(&state.config, &headers);
    let return_to = q.return_to.as_deref().unwrap_or("/admin");
    match admin_panel::begin_sign_in(&state, return_to, &locale).await {
        Ok((login_state, url)) => {
            let mut response = see_other(&url);
            response.headers_mut().append(
                header::SET_COOKIE,
                panel_cookie(&state, LOGIN_COOKIE, &login_state, SameSite::Lax, 600),
            );
            response
        }
        Err(err) => crate::http::error::page_internal_error(&state.config, &locale, &err),
    }
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `/admin/callback`: the code comes back; an admin gets the panel's session, anyone else a
/// refusal.
pub(super) async fn callback(
    State(state): State<AppState>,
    parts: Parts,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let locale = panel_locale(&state.config, &parts.headers);
    let w = i18n::words(&locale);
    let back = Some(("/admin", w.sign_in_again));
    if let Some(error) = &q.error {
        let text = q.error_description.as_deref().unwrap_or(error);
        return message(w, StatusCode::BAD_REQUEST, w.error_title, text, back);
    }
    let started = cookie(&state.config, &parts.headers, LOGIN_COOKIE);
    let (Some(code), Some(login_state)) = (q.code.as_deref(), q.state.as_deref()) else {
        return message(
            w,
            StatusCode::BAD_REQUEST,
            w.error_title,
            "The sign-in answer has no code or state",
            back,
        );
    };
    if !started.is_some_and(|s| constant_time_eq(s.as_bytes(), login_state.as_bytes())) {
        return message(
            w,
            StatusCode::BAD_REQUEST,
            w.error_title,
            "This sign-in was not started in this browser, or it expired. Start again.",
            back,
        );
    }
    let ip = client_ip(&parts.headers, peer(&parts), &state.config);
    let now = chrono::Utc::now().timestamp();
    let finished = admin_panel::finish_sign_in(&state, login_state, code, ip.as_deref(), now).await;
    let mut response = match finished {
        Ok(SignedIn::Admin {
            session_id,
            return_to,
            max_age,
        }) => {
            let mut response = see_other(&return_to);
            response.headers_mut().append(
                header::SET_COOKIE,
                panel_cookie(&state, ADMIN_COOKIE, &session_id, SameSite::Strict, max_age),
            );
            response
        }
        Ok(SignedIn::NotAnAdmin) => refusal(&state, &parts.headers, w),
        Err(err) => super::view::service_error(&state, w, &err),
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        panel_cookie(&state, LOGIN_COOKIE, "", SameSite::Lax, 0),
    );
    response
}

/// The page a signed-in user without an admin role sees: a clear refusal and a way out.
fn refusal(state: &AppState, headers: &HeaderMap, w: &'static Words) -> Response {
    let browser = Browser::from_headers(headers, None, state);
    let response = super::view::refused_page(w, browser.csrf.as_deref().unwrap_or_default());
    browser.with_csrf_cookie(state, response)
}

/// Ends the panel's session and the browser's single sign-on session. Reached from the panel
/// (the session's CSRF token) and from the refusal page (the browser's CSRF cookie).
pub(super) async fn sign_out(
    State(state): State<AppState>,
    browser: Browser,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfField>,
) -> Response {
    let locale = panel_locale(&state.config, &headers);
    let w = i18n::words(&locale);
    let session_id = cookie(&state.config, &headers, ADMIN_COOKIE);
    let session = match session_id {
        Some(id) => admin_panel::current_admin(&state, id).await.ok().flatten(),
        None => None,
    };
    let panel_token_ok = session
        .as_ref()
        .is_some_and(|a| constant_time_eq(a.session.csrf.as_bytes(), form.csrf_token.as_bytes()));
    if browser.foreign_origin || !(panel_token_ok || browser.csrf_matches(&form.csrf_token)) {
        return message(
            w,
            StatusCode::FORBIDDEN,
            w.forbidden_title,
            w.csrf_text,
            Some(("/admin", w.back)),
        );
    }
    let ended = async {
        if let Some(id) = session_id {
            admin_panel::end_session(&state, id).await?;
        }
        state
            .sessions()
            .end(browser.session.as_deref(), browser.now)
            .await
    }
    .await;
    if let Err(err) = ended {
        return crate::http::error::page_internal_error(&state.config, &locale, &err);
    }
    let mut response = message(
        w,
        StatusCode::OK,
        w.signed_out_title,
        w.signed_out_text,
        Some(("/admin", w.sign_in_again)),
    );
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        panel_cookie(&state, ADMIN_COOKIE, "", SameSite::Strict, 0),
    );
    headers.append(
        header::SET_COOKIE,
        crate::http::web::clear_cookie(&state.config, sessions::SESSION_COOKIE),
    );
    response
}

#[derive(Deserialize)]
pub(super) struct LocaleQuery {
    back: Option<String>,
}

/// Switches the panel's language (a cookie) and goes back to the page.
pub(super) async fn switch_locale(
    State(state): State<AppState>,
    axum::extract::Path(lang): axum::extract::Path<String>,
    Query(q): Query<LocaleQuery>,
) -> Response {
    let back = q
        .back
        .as_deref()
        .filter(|b| (*b == "/admin" || b.starts_with("/admin/")) && !b.contains("//"))
        .unwrap_or("/admin");
    let mut response = see_other(back);
    if let Some(lang) = PANEL_LOCALES.iter().find(|l| l.eq_ignore_ascii_case(&lang)) {
        response.headers_mut().append(
            header::SET_COOKIE,
            panel_cookie(&state, LOCALE_COOKIE, lang, SameSite::Lax, 365 * 24 * 3600),
        );
    }
    response
}
