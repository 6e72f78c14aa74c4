//! Captcha on the sign-in, sign-up and password-reset forms: Cloudflare Turnstile, hCaptcha and
//! reCAPTCHA (v2, v3), each verified server-side with the provider's `siteverify` call. A
//! provider that cannot be reached fails closed.

use gatehouse_core::signin::SignInError;
use serde::Deserialize;

use crate::error::ServiceError;
use crate::state::AppState;

/// A form that may ask for the captcha.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaPage {
    SignIn,
    SignUp,
    PasswordReset,
}

impl CaptchaPage {
    fn name(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignUp => "sign_up",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// What a page needs to show the widget.
#[derive(Debug, Clone)]
pub struct Widget {
    /// The element class the provider's script looks for.
    pub class: &'static str,
    pub site_key: String,
    pub script: String,
    /// reCAPTCHA v3: invisible, run when the form is submitted.
    pub invisible: bool,
    /// Sources the page's Content-Security-Policy must allow (scripts and frames).
    pub sources: &'static str,
}

/// The form field the provider's widget fills.
pub fn response_field(provider: &str) -> &'static str {
    match provider {
        "turnstile" => "cf-turnstile-response",
        "hcaptcha" => "h-captcha-response",
        _ => "g-recaptcha-response",
    }
}

/// The widget, when `page` asks for a captcha.
pub fn widget(state: &AppState, page: CaptchaPage) -> Option<Widget> {
    let config = &state.config;
    if config.captcha_provider.is_empty() || !config.captcha_pages.iter().any(|p| p == page.name())
    {
        return None;
    }
    let key = config.captcha_site_key.clone();
    Some(match config.captcha_provider.as_str() {
        "turnstile" => Widget {
            class: "cf-turnstile",
            site_key: key,
            script: "https://challenges.cloudflare.com/turnstile/v0/api.js".into(),
            invisible: false,
            sources: "https://challenges.cloudflare.com",
        },
        "hcaptcha" => Widget {
            class: "h-captcha",
            site_key: key,
            script: "https://js.hcaptcha.com/1/api.js".into(),
            invisible: false,
            sources: "https://hcaptcha.com https://*.hcaptcha.com",
        },
        "recaptcha_v3" => Widget {
            class: "g-recaptcha",
            script: format!("https://www.google.com/recaptcha/api.js?render={key}"),
            site_key: key,
            invisible: true,
            sources: "https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/ https://recaptcha.google.com/recaptcha/",
        },
        _ => Widget {
            class: "g-recaptcha",
            site_key: key,
            script: "https://www.google.com/recaptcha/api.js".into(),
            invisible: false,
            sources: "https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/ https://recaptcha.google.com/recaptcha/",
        },
    })
}

fn verify_url(state: &AppState) -> String {
    let config = &state.config;
    if !config.captcha_verify_url.is_empty() {
        return config.captcha_verify_url.clone();
    }
    match config.captcha_provider.as_str() {
        "turnstile" => "https://challenges.cloudflare.com/turnstile/v0/siteverify".into(),
        "hcaptcha" => "https://api.hcaptcha.com/siteverify".into(),
        _ => "https://www.google.com/recaptcha/api/siteverify".into(),
    }
}

#[derive(Debug, Deserialize)]
struct Verdict {
    success: bool,
    score: Option<f64>,
}

/// Checks the widget's token with the provider when `page` asks for a captcha.
pub async fn check(
    state: &AppState,
    page: CaptchaPage,
    token: Option<&str>,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    if widget(state, page).is_none() {
        return Ok(());
    }
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 4096);
    let Some(token) = token else {
        return Err(SignInError::Captcha.into());
    };
    let config = &state.config;
    let mut form = vec![
        ("secret", config.captcha_secret_key.expose()),
        ("response", token),
    ];
    if let Some(ip) = ip {
        form.push(("remoteip", ip));
    }
    let verdict = match state.http.post(verify_url(state)).form(&form).send().await {
        Ok(response) => response.json::<Verdict>().await.ok(),
        Err(err) => {
            tracing::warn!(code = "GH-CAPTCHA", error = %err, "captcha provider unreachable");
            None
        }
    };
    let passed = verdict.is_some_and(|v| {
        v.success
            && (config.captcha_provider != "recaptcha_v3"
                || v.score.is_some_and(|s| s >= config.captcha_min_score))
    });
    if passed {
        Ok(())
    } else {
        Err(SignInError::Captcha.into())
    }
}
