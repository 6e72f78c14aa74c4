//! Answers that end a sign-in step: the next page, or the authorization response to the client
//! (redirect, form post, or popup message), plus errors redirected to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::authorize::ResponseMode;
use gatehouse_core::signin::Step;
use serde_json::json;

use super::pages::{message, render, RespondPage};
use crate::config::Config;
use crate::crypto::random_token;
use crate::http::web::set_cookie;
use crate::services::sessions::SESSION_COOKIE;
use crate::services::signin::{Completion, Outcome};

/// The page that serves a step.
pub fn step_path(step: Step) -> Option<&'static str> {
    match step {
        Step::LinkAccount => Some(super::link_account::PATH),
        Step::Consent => Some("/identity/v1/view/consent"),
        Step::VerifyEmail => Some("/identity/v1/view/verify-email"),
        Step::PasswordlessVerify => Some("/identity/v1/view/passwordless"),
        Step::MfaEnroll => Some("/identity/v1/view/mfa-enroll"),
        Step::OtpSetup => Some("/identity/v1/view/otp-setup"),
        Step::OtpMfa => Some("/identity/v1/view/otp-mfa"),
        Step::EmailMfa => Some("/identity/v1/view/email-mfa"),
        Step::SmsMfa => Some("/identity/v1/view/sms-mfa"),
        Step::ResetMfa => Some("/identity/v1/view/reset-mfa"),
        Step::RecoveryCodeEnroll => Some("/identity/v1/view/recovery-code-enroll"),
        Step::PasskeyEnroll => Some("/identity/v1/view/passkey-enroll"),
        Step::ManagePasskey => Some("/identity/v1/view/manage-passkey"),
        Step::ManageRecoveryCode => Some("/identity/v1/view/manage-recovery-code"),
        Step::ChangeEmail => Some("/identity/v1/view/change-email"),
        Step::ChangePassword => Some("/identity/v1/view/change-password"),
        Step::UpdateInfo => Some("/identity/v1/view/update-info"),
        Step::ChangeOrg => Some("/identity/v1/view/change-org"),
        Step::SwitchOrg => Some("/identity/v1/view/switch-org"),
        Step::ConfirmIdentity => Some(super::confirm_identity::PATH),
    }
}

pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

fn origin_of(uri: &str) -> String {
    uri.split('/').take(3).collect::<Vec<_>>().join("/")
}

/// Sends the browser on: to the step's page, or back to the client.
pub fn outcome(config: &Config, tx_id: &str, locale: &str, outcome: Outcome) -> Response {
    match outcome {
        Outcome::Step(step) => match step_path(step) {
            Some(path) => see_other(&format!("{path}?tx={tx_id}&locale={locale}")),
            None => message(
                config,
                locale,
                StatusCode::NOT_IMPLEMENTED,
                texts_error_title(locale),
                &format!(
                    "The sign-in needs the step `{}`, which this server does not offer. Ask an administrator to check the account's multi-factor settings.",
                    step.as_str()
                ),
            ),
        },
        Outcome::Done(done) => completion(config, done),
    }
}

fn texts_error_title(locale: &str) -> &'static str {
    super::i18n::texts(locale).error_title
}

/// The authorization response (RFC 6749 §4.1.2, RFC 9207 `iss`, OAuth form post, Melody popup).
pub fn completion(config: &Config, done: Completion) -> Response {
    if let Some(url) = &done.direct_redirect {
        let mut response = see_other(url);
        keep_session(config, &mut response, done.session_cookie.as_deref());
        return response;
    }
    let mut params: Vec<(&str, &str)> = vec![
        ("code", &done.code),
        ("state", &done.state),
        ("iss", &config.issuer),
    ];
    if let Some(org) = &done.org {
        params.push(("org", org));
    }
    let mut response = respond_with(
        config,
        &done.redirect_uri,
        done.response_mode,
        &params,
        &done.locale,
    );
    keep_session(config, &mut response, done.session_cookie.as_deref());
    response
}

/// Sets the browser's session cookie of a finished sign-in, when it made one.
fn keep_session(config: &Config, response: &mut Response, session_cookie: Option<&str>) {
    if let Some(cookie) = session_cookie {
        let max_age = Some(config.server_session_expires_in);
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(config, SESSION_COOKIE, cookie, max_age),
        );
    }
}

/// An error sent back to the client (RFC 6749 §4.1.2.1).
pub fn client_error(
    config: &Config,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
    code: &str,
    description: &str,
) -> Response {
    let mut params = vec![("error", code), ("error_description", description)];
    if let Some(state) = state.filter(|s| !s.is_empty()) {
        params.push(("state", state));
    }
    params.push(("iss", &config.issuer));
    respond_with(config, redirect_uri, mode, &params, "en")
}

fn respond_with(
    _config: &Config,
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
    locale: &str,
) -> Response {
    match mode {
        ResponseMode::Query => see_other(&with_query(redirect_uri, params)),
        ResponseMode::FormPost | ResponseMode::WebMessage => {
            let nonce = random_token::<16>();
            let popup = mode == ResponseMode::WebMessage;
            let mut message = serde_json::Map::new();
            for (k, v) in params {
                message.insert((*k).to_owned(), json!(v));
            }
            message.insert("locale".into(), json!(locale));
            message.insert("redirectUri".into(), json!(redirect_uri));
            render(
                StatusCode::OK,
                &RespondPage {
                    nonce: &nonce,
                    popup,
                    redirect_uri,
                    fields: params.to_vec(),
                    message_json: escape_script(&serde_json::Value::Object(message).to_string()),
                    target_origin_json: escape_script(&json!(origin_of(redirect_uri)).to_string()),
                },
                Some(&nonce),
            )
        }
    }
}

/// JSON placed inside a `<script>` must not close it.
fn escape_script(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query(
                "https://a.example/cb?x=1",
                &[("code", "c d"), ("state", "s&")]
            ),
            "https://a.example/cb?x=1&code=c+d&state=s%26"
        );
        assert_eq!(
            origin_of("https://a.example:8443/cb/x"),
            "https://a.example:8443"
        );
        assert_eq!(
            escape_script("{\"a\":\"</script>\"}"),
            "{\"a\":\"\\u003c/script\\u003e\"}"
        );
    }
}
