//! The rules a loaded `Config` must pass before the server starts.

use std::net::SocketAddr;

use gatehouse_core::signin::MfaType;

use super::load::ConfigError;
use super::Config;

const LOCALES: [&str; crate::i18n::TAGS.len()] = crate::i18n::TAGS;

/// `[(name, value), …]` for the named numeric keys of `c`, each name written once.
macro_rules! named_values {
    ($c:ident: $($key:ident),* $(,)?) => {
        [$((stringify!($key), u64::from($c.$key))),*]
    };
}

pub(super) fn validate(c: &Config) -> Result<(), ConfigError> {
    validate_issuer(&c.issuer)?;
    c.listen.parse::<SocketAddr>().map_err(|_| {
        ConfigError::invalid("listen", "expected an address such as 127.0.0.1:8787")
    })?;
    one_of("environment", &c.environment, &["prod", "dev"])?;
    one_of("log_format", &c.log_format, &["text", "json"])?;
    if c.scim_groups == gatehouse_core::scim::ScimGroups::OrgGroups
        && !(c.enable_org && c.enable_org_group)
    {
        return Err(ConfigError::invalid(
            "scim_groups",
            "org_groups needs enable_org and enable_org_group",
        ));
    }
    one_of(
        "signing_algorithm",
        &c.signing_algorithm,
        &["RS256", "ES256", "EdDSA"],
    )?;
    if c.max_body_bytes < 1024 {
        return Err(ConfigError::invalid(
            "max_body_bytes",
            "must be at least 1024",
        ));
    }
    validate_storage(c)?;
    let url = c.database_url.expose();
    if !c.master_key.is_empty() && crate::crypto::MasterKey::parse(c.master_key.expose()).is_err() {
        return Err(ConfigError::invalid(
            "master_key",
            "must be 32 bytes written as 64 hex characters or base64",
        ));
    }
    if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
        && c.master_key.is_empty()
    {
        return Err(ConfigError::invalid(
            "master_key",
            "is required with PostgreSQL, so every instance decrypts the same signing keys \
             (generate one with `openssl rand -hex 32`)",
        ));
    }
    one_of(
        "client_registration",
        &c.client_registration,
        &["off", "token", "open"],
    )?;
    if c.fapi2_security_profile && c.signing_algorithm == "RS256" {
        return Err(ConfigError::invalid(
            "signing_algorithm",
            "must be ES256 or EdDSA with fapi2_security_profile: FAPI 2.0 does not allow RS256",
        ));
    }
    // Lifetimes, intervals and limits where 0 would mean "never" or "always refuse".
    for (key, value) in named_values!(c:
        authorization_code_expires_in, spa_access_token_expires_in, spa_refresh_token_expires_in,
        s2s_access_token_expires_in, id_token_expires_in, impersonation_refresh_token_expires_in,
        email_verification_code_expires_in, password_reset_code_expires_in,
        change_email_code_expires_in, email_mfa_code_expires_in, sms_mfa_code_expires_in,
        invitation_expires_in, passkey_challenge_expires_in, oidc_code_verifier_expires_in,
        mfa_remember_device_expires_in, keys_reload_interval, device_code_expires_in,
        device_code_interval, device_user_code_threshold, pushed_authorization_request_expires_in,
        dpop_nonce_lifetime, client_registration_token_expires_in, webhook_retry_base_seconds,
        webhook_poll_interval,
    ) {
        if value == 0 {
            return Err(ConfigError::invalid(key, "must be greater than 0"));
        }
    }
    let longest_token = c
        .s2s_access_token_expires_in
        .max(c.spa_access_token_expires_in)
        .max(c.id_token_expires_in);
    if c.key_rotation_overlap < longest_token {
        return Err(ConfigError::invalid(
            "key_rotation_overlap",
            format!(
                "must be at least the longest access or ID token lifetime ({longest_token} s), \
                 or tokens signed just before a rotation would stop verifying"
            ),
        ));
    }
    if c.key_rotation_interval > 0 {
        if c.key_prepublish < c.keys_reload_interval {
            return Err(ConfigError::invalid(
                "key_prepublish",
                format!(
                    "must be at least keys_reload_interval ({} s), so every instance has loaded \
                     the next key before it signs",
                    c.keys_reload_interval
                ),
            ));
        }
        if c.key_prepublish >= c.key_rotation_interval {
            return Err(ConfigError::invalid(
                "key_prepublish",
                format!(
                    "must be less than key_rotation_interval ({} s)",
                    c.key_rotation_interval
                ),
            ));
        }
    }
    if c.supported_locales.is_empty() {
        return Err(ConfigError::invalid(
            "supported_locales",
            "must name at least one locale",
        ));
    }
    for locale in &c.supported_locales {
        one_of("supported_locales", locale, &LOCALES)?;
    }
    if c.password_hash_iterations == 0 || c.password_hash_parallelism == 0 {
        return Err(ConfigError::invalid(
            "password_hash_iterations",
            "iterations and parallelism must be at least 1",
        ));
    }
    if c.password_hash_memory_kib < 8 * c.password_hash_parallelism {
        return Err(ConfigError::invalid(
            "password_hash_memory_kib",
            "must be at least 8 KiB per lane of parallelism",
        ));
    }
    if c.sign_in_expires_in == 0 {
        return Err(ConfigError::invalid(
            "sign_in_expires_in",
            "must be greater than 0",
        ));
    }
    let policies: Vec<&str> = gatehouse_core::signin::policy_names().collect();
    for policy in &c.blocked_policies {
        one_of("blocked_policies", policy, &policies)?;
    }
    for (key, origins) in [
        ("embedded_auth_origins", &c.embedded_auth_origins),
        ("cors_allowed_origins", &c.cors_allowed_origins),
    ] {
        for origin in origins {
            if !is_origin(origin) {
                return Err(ConfigError::invalid(
                    key,
                    format!("`{origin}` is not an origin such as https://app.example.com (scheme, host and port only)"),
                ));
            }
        }
    }
    let secret = c.bootstrap_client_secret.expose();
    if !secret.is_empty() && secret.chars().count() < 32 {
        return Err(ConfigError::invalid(
            "bootstrap_client_secret",
            "must be at least 32 characters (it is the admin API's root credential)",
        ));
    }
    if !secret.is_empty() && c.bootstrap_client_id.is_empty() {
        return Err(ConfigError::invalid(
            "bootstrap_client_id",
            "must be set together with bootstrap_client_secret",
        ));
    }
    if c.bootstrap_client_id.len() > 64 {
        return Err(ConfigError::invalid(
            "bootstrap_client_id",
            "must be at most 64 characters",
        ));
    }
    validate_email(c)?;
    validate_branding(c)?;
    super::oidc_providers::validate(&c.oidc_auth_providers)?;
    super::oidc_providers::validate_social(c)?;
    Ok(())
}

/// The database and Redis URLs, and how to reach them: pool, timeouts, TLS.
fn validate_storage(c: &Config) -> Result<(), ConfigError> {
    if c.database_max_connections == 0 {
        return Err(ConfigError::invalid(
            "database_max_connections",
            "must be at least 1",
        ));
    }
    for (key, value) in named_values!(c: database_connect_timeout, redis_connect_timeout) {
        if value == 0 {
            return Err(ConfigError::invalid(key, "must be greater than 0"));
        }
    }
    let url = c.database_url.expose();
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !(url.is_empty() || url.starts_with("sqlite:") || postgres) {
        return Err(ConfigError::invalid(
            "database_url",
            "must be empty, sqlite:PATH, postgres://… or postgresql://…",
        ));
    }
    if !c.database_ca_file.is_empty() {
        if !postgres {
            return Err(ConfigError::invalid(
                "database_ca_file",
                "is used only with PostgreSQL (a postgres:// database_url)",
            ));
        }
        // The URL's own errors are the connection's to report; only a URL that parses and
        // would ignore the CA is refused here.
        if matches!(
            gatehouse_store::postgres_url_verifies_certificate(url),
            Ok(false)
        ) {
            return Err(ConfigError::invalid(
                "database_ca_file",
                "is checked only with sslmode=verify-full (or verify-ca): add \
                 ?sslmode=verify-full to database_url",
            ));
        }
    }
    if c.database_statement_timeout > 0 && !postgres {
        return Err(ConfigError::invalid(
            "database_statement_timeout",
            "is used only with PostgreSQL (a postgres:// database_url); leave it 0 with SQLite",
        ));
    }
    let redis = c.redis_url.expose();
    if !(redis.is_empty() || redis.starts_with("redis://") || redis.starts_with("rediss://")) {
        return Err(ConfigError::invalid(
            "redis_url",
            "must be empty, redis://… or rediss://…",
        ));
    }
    if !c.redis_ca_file.is_empty() && !redis.starts_with("rediss://") {
        return Err(ConfigError::invalid(
            "redis_ca_file",
            "is used only over TLS: redis_url must start with rediss://",
        ));
    }
    Ok(())
}

/// The pages put these values into their CSS and links as they are: each must pass the same
/// rules an organization's branding does.
fn validate_branding(c: &Config) -> Result<(), ConfigError> {
    use gatehouse_core::branding::{BrandingUrl, CssColor, FontFamily};
    let colors = [
        ("layout_color", &c.layout_color),
        ("label_color", &c.label_color),
        ("primary_button_color", &c.primary_button_color),
        ("primary_button_label_color", &c.primary_button_label_color),
        (
            "primary_button_border_color",
            &c.primary_button_border_color,
        ),
        ("secondary_button_color", &c.secondary_button_color),
        (
            "secondary_button_label_color",
            &c.secondary_button_label_color,
        ),
        (
            "secondary_button_border_color",
            &c.secondary_button_border_color,
        ),
        ("critical_indicator_color", &c.critical_indicator_color),
    ];
    for (key, value) in colors {
        CssColor::parse(value).map_err(|problem| ConfigError::invalid(key, problem.to_string()))?;
    }
    FontFamily::parse(&c.font_family)
        .map_err(|problem| ConfigError::invalid("font_family", problem.to_string()))?;
    let urls = [
        ("company_logo_url", &c.company_logo_url),
        ("font_url", &c.font_url),
        ("terms_link", &c.terms_link),
        ("privacy_policy_link", &c.privacy_policy_link),
    ];
    for (key, value) in urls {
        if !value.is_empty() {
            BrandingUrl::parse(value)
                .map_err(|problem| ConfigError::invalid(key, problem.to_string()))?;
        }
    }
    Ok(())
}

fn validate_email(c: &Config) -> Result<(), ConfigError> {
    use crate::mail::Provider;
    if !c.email_provider_name.is_empty() {
        let names = Provider::ALL.map(Provider::name);
        one_of("email_provider_name", &c.email_provider_name, &names)?;
    }
    if let Some(provider) = Provider::parse(&c.email_provider_name) {
        if !provider.is_configured(c) {
            let (key, sender) = match provider {
                Provider::Smtp => ("smtp_connection_string", "smtp_sender_address"),
                Provider::SendGrid => ("sendgrid_api_key", "sendgrid_sender_address"),
                Provider::Mailgun => ("mailgun_api_key", "mailgun_sender_address"),
                Provider::Brevo => ("brevo_api_key", "brevo_sender_address"),
                Provider::Resend => ("resend_api_key", "resend_sender_address"),
                Provider::Postmark => ("postmark_api_key", "postmark_sender_address"),
            };
            return Err(ConfigError::invalid(
                "email_provider_name",
                format!("`{}` needs {key} and {sender}", provider.name()),
            ));
        }
    }
    for provider in Provider::ALL {
        let sender = provider.sender_address(c);
        if !sender.is_empty() && gatehouse_core::admin::email_address(sender).is_err() {
            return Err(ConfigError::invalid(
                &format!("{}_sender_address", provider.name()),
                format!("`{sender}` is not an email address"),
            ));
        }
        let url = provider.api_url(c);
        if provider != Provider::Smtp
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::invalid(
                &format!("{}_api_url", provider.name()),
                "must be an http(s) URL",
            ));
        }
    }
    let smtp = c.smtp_connection_string.expose();
    if !(smtp.is_empty() || smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
        return Err(ConfigError::invalid(
            "smtp_connection_string",
            "must start with smtp:// (STARTTLS) or smtps:// (TLS)",
        ));
    }
    if c.environment == "dev"
        && !c.dev_email_receiver.is_empty()
        && gatehouse_core::admin::email_address(&c.dev_email_receiver).is_err()
    {
        return Err(ConfigError::invalid(
            "dev_email_receiver",
            "is not an email address",
        ));
    }
    let no_mail = crate::mail::selected_provider(c).is_none();
    if no_mail
        && (c.email_mfa_is_required || c.enforce_one_mfa_enrollment.contains(&MfaType::Email))
    {
        return Err(ConfigError::invalid(
            "email_mfa_is_required",
            "email MFA (required, or offered by enforce_one_mfa_enrollment) needs an email provider",
        ));
    }
    let no_sms = c.twilio_account_id.is_empty() && c.sms_webhook_url.is_empty();
    if no_sms && (c.sms_mfa_is_required || c.enforce_one_mfa_enrollment.contains(&MfaType::Sms)) {
        return Err(ConfigError::invalid(
            "sms_mfa_is_required",
            "SMS MFA (required, or offered by enforce_one_mfa_enrollment) needs twilio_account_id or sms_webhook_url",
        ));
    }
    if !c.twilio_account_id.is_empty()
        && (c.twilio_auth_token.is_empty() || !crate::sms::is_e164(&c.twilio_sender_number))
    {
        return Err(ConfigError::invalid(
            "twilio_sender_number",
            "Twilio needs twilio_auth_token and an E.164 twilio_sender_number such as +14155550123",
        ));
    }
    for (key, url) in [
        ("twilio_api_url", &c.twilio_api_url),
        ("sms_webhook_url", &c.sms_webhook_url),
    ] {
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::invalid(key, "must be an http(s) URL"));
        }
    }
    if !(c.sms_country_code.starts_with('+')
        && c.sms_country_code.len() > 1
        && c.sms_country_code[1..].bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ConfigError::invalid(
            "sms_country_code",
            "must be + and digits, such as +1",
        ));
    }
    if c.enable_passwordless_sign_in && no_mail {
        return Err(ConfigError::invalid(
            "enable_passwordless_sign_in",
            "needs an email provider (set smtp_connection_string or a provider's API key and sender address)",
        ));
    }
    if !c.captcha_provider.is_empty() {
        one_of(
            "captcha_provider",
            &c.captcha_provider,
            &["turnstile", "hcaptcha", "recaptcha_v2", "recaptcha_v3"],
        )?;
        if c.captcha_site_key.is_empty() || c.captcha_secret_key.is_empty() {
            return Err(ConfigError::invalid(
                "captcha_provider",
                "needs captcha_site_key and captcha_secret_key",
            ));
        }
    }
    if !(0.0..=1.0).contains(&c.captcha_min_score) {
        return Err(ConfigError::invalid(
            "captcha_min_score",
            "must be between 0.0 and 1.0",
        ));
    }
    for page in &c.captcha_pages {
        one_of(
            "captcha_pages",
            page,
            &["sign_in", "sign_up", "password_reset"],
        )?;
    }
    if c.mail_timeout == 0 {
        return Err(ConfigError::invalid(
            "mail_timeout",
            "must be greater than 0",
        ));
    }
    Ok(())
}

/// `scheme://host[:port]` (a trailing slash tolerated): what a browser sends in `Origin`.
fn is_origin(origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    rest.is_some_and(|host| {
        !host.is_empty()
            && !host.contains(['/', '?', '#', ' ', '@'])
            && axum::http::HeaderValue::from_str(origin).is_ok()
    })
}

fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"));
    let ok = match rest {
        Some(rest) => {
            !rest.is_empty()
                && !issuer.ends_with('/')
                && !rest.contains(['?', '#', ' '])
                && !rest.starts_with('/')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            "issuer",
            "must be an http(s) URL without query, fragment or trailing slash, such as https://auth.example.com",
        ))
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("`{value}` is not one of {}", allowed.join(", ")),
        ))
    }
}
