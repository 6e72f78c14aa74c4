//! Page templates (compiled in) and the chrome every page shares: words, branding, locale links.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_core::branding::{
    font_host_allowed, safe_color, safe_font_family, safe_url, BrandingUrl,
};

use super::i18n::{texts, Texts};
use crate::config::Config;
use crate::http::web::page_headers;
use crate::services::captcha::Widget;
use crate::services::signin::Branding;

/// Lets a page load and frame its captcha provider (the policy is otherwise closed to others).
pub fn allow_captcha(response: &mut Response, widget: Option<&Widget>, nonce: &str) {
    if let Some(widget) = widget {
        allow_sources(response, widget.sources, nonce);
    }
}

/// Where Google Identity Services' button loads from and talks to.
pub const GOOGLE_IDENTITY_SOURCES: &str = "https://accounts.google.com/gsi/";

/// Where Facebook's JavaScript SDK loads from and talks to.
pub const FACEBOOK_SOURCES: &str =
    "https://connect.facebook.net https://www.facebook.com https://graph.facebook.com";

/// Lets a page load scripts and frames from `sources` (space-separated), besides its own; the
/// rest of the page's policy (its styles and fonts) is kept.
pub fn allow_sources(response: &mut Response, sources: &str, nonce: &str) {
    let current = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let kept: Vec<&str> = current
        .split(';')
        .map(str::trim)
        .filter(|d| {
            let name = d.split(' ').next().unwrap_or_default();
            !d.is_empty() && !matches!(name, "script-src" | "frame-src" | "connect-src")
        })
        .collect();
    let policy = format!(
        "{}; script-src 'nonce-{nonce}' {sources}; frame-src {sources}; connect-src {sources}",
        kept.join("; ")
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The page's Content-Security-Policy: inline styles (the branding), a font stylesheet only from
/// the origin of the font URL in use, font files only from there and the configured font hosts.
fn page_policy(fonts: Option<(&str, &[String])>, script_nonce: Option<&str>) -> String {
    let script = script_nonce.map_or("'none'".to_owned(), |n| format!("'nonce-{n}'"));
    let (style, font) = match fonts {
        Some((origin, hosts)) => {
            let mut font = vec![origin.to_owned()];
            font.extend(
                hosts
                    .iter()
                    .map(|h| format!("https://{h}"))
                    .filter(|h| h != origin),
            );
            (format!(" {origin}"), font.join(" "))
        }
        None => (String::new(), "'none'".to_owned()),
    };
    format!(
        "default-src 'none'; style-src 'unsafe-inline'{style}; font-src {font}; \
         img-src https: http: data:; script-src {script}; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// Branding and words of a page. Every branding value here has passed the rules of
/// `gatehouse_core::branding`, so the base template may put it into CSS unescaped.
pub struct Chrome<'a> {
    pub t: &'static Texts,
    pub logo_url: &'a str,
    pub font_family: &'a str,
    pub font_url: &'a str,
    pub layout_color: &'a str,
    pub label_color: &'a str,
    pub primary_button_color: &'a str,
    pub primary_button_label_color: &'a str,
    pub primary_button_border_color: &'a str,
    pub secondary_button_color: &'a str,
    pub secondary_button_label_color: &'a str,
    pub secondary_button_border_color: &'a str,
    pub critical_indicator_color: &'a str,
    pub terms_link: &'a str,
    pub privacy_link: &'a str,
    /// ((lang, name), href, current) for each offered locale.
    pub locale_links: Vec<((&'static str, &'static str), String, bool)>,
    /// Hosts font files may come from while a font stylesheet is in use.
    font_hosts: &'a [String],
}

/// The rule a branding field's value must pass to be rendered.
type Rule = fn(&str) -> Option<&str>;

impl<'a> Chrome<'a> {
    /// `base_href` is the page's own URL up to the point where `&locale=` can be appended.
    pub fn new(config: &'a Config, locale: &str, base_href: Option<&str>) -> Self {
        let t = texts(locale);
        let locale_links = match base_href {
            Some(base) if config.enable_locale_selector => config
                .supported_locales
                .iter()
                .map(|l| {
                    let other = texts(l);
                    (
                        (other.lang, other.language_name),
                        // `picked` marks the user's own choice, which is remembered.
                        format!("{base}&locale={}&picked=1", other.lang),
                        other.lang == t.lang,
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        // The server's own values passed the branding rules at start-up (`config::load`).
        Self {
            t,
            logo_url: &config.company_logo_url,
            font_family: &config.font_family,
            font_url: &config.font_url,
            layout_color: &config.layout_color,
            label_color: &config.label_color,
            primary_button_color: &config.primary_button_color,
            primary_button_label_color: &config.primary_button_label_color,
            primary_button_border_color: &config.primary_button_border_color,
            secondary_button_color: &config.secondary_button_color,
            secondary_button_label_color: &config.secondary_button_label_color,
            secondary_button_border_color: &config.secondary_button_border_color,
            critical_indicator_color: &config.critical_indicator_color,
            terms_link: &config.terms_link,
            privacy_link: &config.privacy_policy_link,
            locale_links,
            font_hosts: &config.font_hosts,
        }
    }

    /// The organization's branding over the server's, field by field where it has a value that
    /// passes today's rules (one stored before them, or by an import, keeps the server's).
    pub fn branded(mut self, branding: Option<&'a Branding>) -> Self {
        let Some(b) = branding else {
            return self;
        };
        let font_hosts = self.font_hosts;
        let server_font = self.font_url;
        let pairs: [(&mut &'a str, &'a String, Rule); 13] = [
            (&mut self.logo_url, &b.logo_url, safe_url),
            (&mut self.font_family, &b.font_family, safe_font_family),
            (&mut self.layout_color, &b.layout_color, safe_color),
            (&mut self.label_color, &b.label_color, safe_color),
            (
                &mut self.primary_button_color,
                &b.primary_button_color,
                safe_color,
            ),
            (
                &mut self.primary_button_label_color,
                &b.primary_button_label_color,
                safe_color,
            ),
            (
                &mut self.primary_button_border_color,
                &b.primary_button_border_color,
                safe_color,
            ),
            (
                &mut self.secondary_button_color,
                &b.secondary_button_color,
                safe_color,
            ),
            (
                &mut self.secondary_button_label_color,
                &b.secondary_button_label_color,
                safe_color,
            ),
            (
                &mut self.secondary_button_border_color,
                &b.secondary_button_border_color,
                safe_color,
            ),
            (
                &mut self.critical_indicator_color,
                &b.critical_indicator_color,
                safe_color,
            ),
            (&mut self.terms_link, &b.terms_link, safe_url),
            (&mut self.privacy_link, &b.privacy_policy_link, safe_url),
        ];
        for (field, value, rule) in pairs {
            if let Some(value) = rule(value) {
                *field = value;
            }
        }
        if BrandingUrl::parse(&b.font_url)
            .is_ok_and(|url| font_host_allowed(&url, server_font, font_hosts))
        {
            self.font_url = b.font_url.trim();
        }
        self
    }

    /// The origin of the font stylesheet in use and the hosts its fonts may come from.
    fn fonts(&self) -> Option<(String, &'a [String])> {
        let origin = BrandingUrl::parse(self.font_url).ok()?.origin();
        Some((origin, self.font_hosts))
    }
}

/// A page: a template, and the chrome (if any) whose font its policy must allow.
pub trait Page: Template {
    fn chrome(&self) -> Option<&Chrome<'_>>;
}

/// Every page with a `c: Chrome` field.
macro_rules! chrome_pages {
    ($($page:ident),*) => {$(
        impl Page for $page<'_> {
            fn chrome(&self) -> Option<&Chrome<'_>> {
                Some(&self.c)
            }
        }
    )*};
}

chrome_pages!(
    SignInPage,
    SignUpPage,
    ConsentPage,
    LinkAccountPage,
    ConfirmIdentityPage,
    PolicyPage,
    MyPassPage,
    PasskeyPage,
    StepFormPage,
    MessagePage,
    DevicePage,
    SignedOutPage
);

impl Page for RespondPage<'_> {
    fn chrome(&self) -> Option<&Chrome<'_>> {
        None
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage<'a> {
    pub c: Chrome<'a>,
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<String>,
    pub notice: Option<&'a str>,
    /// Email only: a code or link is sent instead of asking for a password.
    pub passwordless: bool,
    pub sign_up_url: Option<String>,
    pub reset_url: Option<String>,
    pub recovery_url: Option<String>,
    /// Passkey sign-in: the request options (JSON) and the script's nonce.
    pub passkey_options: Option<String>,
    pub nonce: &'a str,
    pub captcha: Option<Widget>,
    /// Buttons of the configured OpenID Connect providers.
    pub providers: Vec<ProviderButton<'a>>,
    /// Google Identity Services' button: the client id and this sign-in's nonce.
    pub google: Option<(String, String)>,
    /// Facebook's button: the app id, the scopes and the label.
    pub facebook: Option<(&'a str, &'a str, String)>,
}

/// A button that starts sign-in through an outside provider.
pub struct ProviderButton<'a> {
    /// The button's id (`oidc-<name>`, `social-github`); its form's is `<id>-form`.
    pub id: String,
    pub action: String,
    pub label: String,
    pub logo_url: &'a str,
}

/// A custom user attribute on the sign-up form.
pub struct AttributeField {
    pub id: i64,
    pub label: String,
    pub required: bool,
    pub value: String,
}

#[derive(Template)]
#[template(path = "sign_up.html")]
pub struct SignUpPage<'a> {
    pub c: Chrome<'a>,
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub names: bool,
    pub names_required: bool,
    pub attributes: Vec<AttributeField>,
    pub error: Option<String>,
    pub sign_in_url: String,
    pub captcha: Option<Widget>,
    pub nonce: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub c: Chrome<'a>,
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    /// (scope name, text shown).
    pub scopes: Vec<(String, String)>,
}

/// The device verification page (RFC 8628): the code entry form, or the confirmation of the
/// device a valid code names.
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    pub c: Chrome<'a>,
    pub locale: &'a str,
    pub csrf: &'a str,
    /// The code as typed (entry form) or as stored (confirmation).
    pub user_code: &'a str,
    pub error: Option<String>,
    pub confirm: Option<DeviceConfirm>,
}

/// What the confirmation shows of the device's request.
pub struct DeviceConfirm {
    /// "<app> on a device wants to sign in…", in the page's language.
    pub intro: String,
    /// `BCDF-GHJK`.
    pub shown_code: String,
    /// (scope name, text shown).
    pub scopes: Vec<(String, String)>,
}

/// A provider identity's first sign-in asking the password of the account with its email.
#[derive(Template)]
#[template(path = "link_account.html")]
pub struct LinkAccountPage<'a> {
    pub c: Chrome<'a>,
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    /// "An account with <email> already exists…", in the page's language.
    pub intro: String,
    pub error: Option<String>,
}

/// A sign-in too old for the sensitive policy that follows: the current password, or a new
/// sign-in.
#[derive(Template)]
#[template(path = "confirm_identity.html")]
pub struct ConfirmIdentityPage<'a> {
    pub c: Chrome<'a>,
    pub tx: &'a str,
    pub csrf: &'a str,
    /// The account's email, when it has a password to confirm with.
    pub email: Option<&'a str>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "policy.html")]
pub struct PolicyPage<'a> {
    pub c: Chrome<'a>,
    pub title: &'a str,
    pub action: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub fields: PolicyFields<'a>,
    pub error: Option<String>,
}

/// What a policy page asks for.
pub enum PolicyFields<'a> {
    NewPassword,
    Names {
        first: &'a str,
        last: &'a str,
    },
    /// The user's organizations as (slug, name, active).
    Org(Vec<(String, String, bool)>),
}

/// The user's own account page ("my pass", `/i`).
#[derive(Template)]
#[template(path = "my_pass.html")]
pub struct MyPassPage<'a> {
    pub c: Chrome<'a>,
    pub csrf: &'a str,
    pub email: &'a str,
    pub names: bool,
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// (policy, label) of each self-service flow offered.
    pub policies: Vec<(&'static str, &'static str)>,
    /// (session id, label) of each live session.
    pub sessions: Vec<(String, String)>,
    /// (app id, name) of each app with consent.
    pub apps: Vec<(i64, String)>,
    pub notice: Option<&'a str>,
    pub error: Option<String>,
}

/// Passkey enrollment (a sign-in step) or management (a policy).
#[derive(Template)]
#[template(path = "passkey.html")]
pub struct PasskeyPage<'a> {
    pub c: Chrome<'a>,
    pub title: &'a str,
    pub intro: &'a str,
    pub action: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    /// (passkey id, label) of each registered passkey.
    pub passkeys: Vec<(i64, String)>,
    pub options_json: String,
    pub nonce: &'a str,
    /// Offer "not now" (enrollment) rather than "continue" (management).
    pub decline: bool,
    pub error: Option<String>,
}

/// A form of one or two inputs: an email, a code, a new password (verification, reset,
/// change email, invitation, passwordless).
#[derive(Template)]
#[template(path = "step_form.html")]
pub struct StepFormPage<'a> {
    pub c: Chrome<'a>,
    pub title: &'a str,
    pub intro: &'a str,
    pub action: &'a str,
    pub hidden: Vec<(&'a str, String)>,
    pub csrf: &'a str,
    /// The email input with its value, when asked.
    pub ask_email: Option<&'a str>,
    pub email_label: &'a str,
    pub ask_code: bool,
    pub ask_password: bool,
    pub submit: &'a str,
    pub error: Option<String>,
    pub notice: Option<&'a str>,
    /// The hidden fields of a "send a new code" form, when offered.
    pub resend: Option<Vec<(&'a str, String)>>,
    pub back_url: Option<String>,
    /// A TOTP QR code (SVG made by the server) and the secret for manual entry.
    pub qr_svg: Option<String>,
    pub secret: Option<String>,
    /// Radio choices `(value, label)` posted as `type` (MFA enrollment).
    pub choices: Vec<(&'a str, &'a str)>,
    /// The "remember this device" checkbox.
    pub remember: bool,
    /// Another way through this step, `(label, url)`.
    pub alt_link: Option<(&'a str, String)>,
    /// Recovery codes to write down (shown once).
    pub codes: Vec<String>,
    /// The recovery-code input.
    pub ask_recovery: bool,
    /// The phone-number input (SMS setup).
    pub ask_phone: bool,
    pub captcha: Option<Widget>,
    pub nonce: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub c: Chrome<'a>,
    pub title: &'a str,
    pub text: &'a str,
    pub is_error: bool,
    pub link: Option<String>,
}

/// The signed-out page that loads the apps' front-channel logout pages in hidden iframes, then
/// goes on to `next` (the app's post-logout redirect) once they loaded or after five seconds.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage<'a> {
    pub c: Chrome<'a>,
    pub frames: Vec<String>,
    pub next: Option<String>,
    pub nonce: &'a str,
}

/// Lets a page frame `origins` (space-separated), and nothing else.
pub fn allow_frames(response: &mut Response, origins: &str) {
    let current = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let policy = format!("{current}; frame-src {origins}");
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The auto-submitting `form_post` page, or the popup's `postMessage` page.
#[derive(Template)]
#[template(path = "respond.html")]
pub struct RespondPage<'a> {
    pub nonce: &'a str,
    pub popup: bool,
    pub redirect_uri: &'a str,
    pub fields: Vec<(&'a str, &'a str)>,
    pub message_json: String,
    pub target_origin_json: String,
}

/// Renders a page with the security headers.
pub fn render(status: StatusCode, page: &impl Page, script_nonce: Option<&str>) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(code = "GH-TEMPLATE", error = %err, "page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered",
            )
                .into_response()
        }
    };
    page_headers(&mut response, script_nonce);
    let fonts = page.chrome().and_then(Chrome::fonts);
    let policy = page_policy(
        fonts
            .as_ref()
            .map(|(origin, hosts)| (origin.as_str(), *hosts)),
        script_nonce,
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// An error or notice page.
pub fn message(
    config: &Config,
    locale: &str,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    render(
        status,
        &MessagePage {
            c: Chrome::new(config, locale, None),
            title,
            text,
            is_error: status.is_client_error() || status.is_server_error(),
            link: None,
        },
        None,
    )
}

/// A notice page with a link to go on (an accepted invitation's sign-in page).
pub fn message_with_link(
    config: &Config,
    locale: &str,
    title: &str,
    text: &str,
    link: String,
) -> Response {
    render(
        StatusCode::OK,
        &MessagePage {
            c: Chrome::new(config, locale, None),
            title,
            text,
            is_error: false,
            link: Some(link),
        },
        None,
    )
}
