//! Webhook events: the types endpoints subscribe to. Each is raised by the change it tells, in
//! that change's transaction (see the store's `changes`).

/// A user was created by an admin, an app, SCIM, an invitation or an import.
pub const USER_CREATED: &str = "user.created";
/// A user created their own account (sign-up, social or passwordless).
pub const USER_SIGNED_UP: &str = "user.signed_up";
pub const USER_SIGNED_IN: &str = "user.signed_in";
pub const USER_SIGN_IN_FAILED: &str = "user.sign_in_failed";
pub const USER_LOCKED: &str = "user.locked";
pub const USER_EMAIL_VERIFIED: &str = "user.email_verified";
pub const USER_PASSWORD_CHANGED: &str = "user.password_changed";
pub const USER_PASSWORD_RESET: &str = "user.password_reset";
pub const USER_MFA_ENROLLED: &str = "user.mfa_enrolled";
pub const USER_MFA_RESET: &str = "user.mfa_reset";
pub const USER_PASSKEY_ADDED: &str = "user.passkey_added";
pub const USER_PASSKEY_REMOVED: &str = "user.passkey_removed";
pub const USER_UPDATED: &str = "user.updated";
pub const USER_DISABLED: &str = "user.disabled";
pub const USER_ENABLED: &str = "user.enabled";
pub const USER_DELETED: &str = "user.deleted";
pub const USER_ROLE_ASSIGNED: &str = "user.role_assigned";
pub const USER_ROLE_REMOVED: &str = "user.role_removed";
pub const APP_CREATED: &str = "app.created";
pub const APP_UPDATED: &str = "app.updated";
pub const APP_DELETED: &str = "app.deleted";
pub const ORG_CREATED: &str = "org.created";
pub const ORG_UPDATED: &str = "org.updated";
pub const ORG_DELETED: &str = "org.deleted";
pub const ORG_MEMBER_ADDED: &str = "org.member_added";
pub const ORG_MEMBER_REMOVED: &str = "org.member_removed";

/// Every event type, in the order the panel lists them.
pub const EVENT_TYPES: [&str; 26] = [
    USER_CREATED,
    USER_SIGNED_UP,
    USER_SIGNED_IN,
    USER_SIGN_IN_FAILED,
    USER_LOCKED,
    USER_EMAIL_VERIFIED,
    USER_PASSWORD_CHANGED,
    USER_PASSWORD_RESET,
    USER_MFA_ENROLLED,
    USER_MFA_RESET,
    USER_PASSKEY_ADDED,
    USER_PASSKEY_REMOVED,
    USER_UPDATED,
    USER_DISABLED,
    USER_ENABLED,
    USER_DELETED,
    USER_ROLE_ASSIGNED,
    USER_ROLE_REMOVED,
    APP_CREATED,
    APP_UPDATED,
    APP_DELETED,
    ORG_CREATED,
    ORG_UPDATED,
    ORG_DELETED,
    ORG_MEMBER_ADDED,
    ORG_MEMBER_REMOVED,
];

/// The known event type `name` (as a `'static` name), if it is one.
pub fn event_type(name: &str) -> Option<&'static str> {
    EVENT_TYPES.iter().copied().find(|t| *t == name)
}

/// How a webhook secret is written: this prefix and the base64 of its bytes.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes of a new secret.
pub const SECRET_BYTES: usize = 32;
/// The longest endpoint URL and description kept.
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_DESCRIPTION_LEN: usize = 200;
/// Retries stop once their delays add up past a day; no single wait is longer than this.
pub const RETRY_WINDOW_SECS: i64 = 24 * 3600;
pub const MAX_RETRY_DELAY_SECS: i64 = 6 * 3600;

/// Why an endpoint's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("url must be an absolute https URL (http is allowed only where the server sets webhook_allow_private_addresses) with a host, no user:password@ and no fragment, at most 2048 characters")]
    InvalidUrl,
    #[error("url points at a loopback, private or link-local address: webhooks are sent there only where the server sets webhook_allow_private_addresses")]
    InsideAddress,
    #[error("description must be at most 200 characters")]
    DescriptionTooLong,
    #[error("events must name at least one event type")]
    NoEvents,
    #[error("Unknown event type `{0}`: see the list of event types in the documentation")]
    UnknownEvent(String),
}

/// An endpoint URL that passed [`endpoint_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An endpoint URL as registered: `https:` (or `http:` when inside addresses are allowed, for
/// tests and closed networks), a host, no credentials, no fragment, no characters a parser
/// could read two ways. Whether the host is an inside address is the sender's check.
pub fn endpoint_url(raw: &str, allow_http: bool) -> Result<EndpointUrl, WebhookError> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(WebhookError::InvalidUrl);
    }
    let url = crate::web_url::WebUrl::parse(raw).ok_or(WebhookError::InvalidUrl)?;
    let scheme_ok = url.scheme == "https" || (allow_http && url.scheme == "http");
    if !scheme_ok || !url.has_authority || url.has_credentials || url.rest.contains('#') {
        return Err(WebhookError::InvalidUrl);
    }
    Ok(EndpointUrl(raw.to_owned()))
}

/// A description of at most [`MAX_DESCRIPTION_LEN`] characters, trimmed.
pub fn description(raw: &str) -> Result<String, WebhookError> {
    let text = raw.trim();
    if text.chars().count() > MAX_DESCRIPTION_LEN || text.chars().any(char::is_control) {
        return Err(WebhookError::DescriptionTooLong);
    }
    Ok(text.to_owned())
}

/// The event types an endpoint subscribes to: known names, each once, in [`EVENT_TYPES`] order.
pub fn event_list(names: &[String]) -> Result<Vec<&'static str>, WebhookError> {
    for name in names {
        if event_type(name.trim()).is_none() {
            let shown: String = name.chars().take(64).collect();
            return Err(WebhookError::UnknownEvent(shown));
        }
    }
    let wanted: Vec<&'static str> = EVENT_TYPES
        .iter()
        .copied()
        .filter(|t| names.iter().any(|n| n.trim() == *t))
        .collect();
    if wanted.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    Ok(wanted)
}

/// A secret as shown to the operator: `whsec_` and the base64 of its bytes.
pub fn format_secret(key: &[u8]) -> String {
    use base64::{engine::general_purpose::STANDARD, Engine};
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The bytes of a secret written as [`format_secret`] writes it (the prefix is optional, as the
/// Standard Webhooks libraries take it); `None` when it is not base64 or empty.
pub fn parse_secret(text: &str) -> Option<Vec<u8>> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    STANDARD.decode(encoded).ok().filter(|key| !key.is_empty())
}

/// What is signed (Standard Webhooks): `{webhook-id}.{webhook-timestamp}.{body}`.
pub fn signed_content(message_id: &str, timestamp: i64, body: &str) -> String {
    format!("{message_id}.{timestamp}.{body}")
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256>` for each MAC (one per secret in
/// use), space-separated.
pub fn signature_header<M: AsRef<[u8]>>(macs: &[M]) -> String {
    use base64::{engine::general_purpose::STANDARD, Engine};
    macs.iter()
        .map(|mac| format!("v1,{}", STANDARD.encode(mac.as_ref())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The body every delivery of an event carries: its type, when it happened (RFC 3339, UTC) and
/// its data (JSON text as stored; unreadable data is sent as `null`).
pub fn event_body(event_type: &str, happened_at: i64, data: &str) -> String {
    let timestamp = chrono::DateTime::from_timestamp(happened_at, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let data: serde_json::Value = serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
    serde_json::json!({"type": event_type, "timestamp": timestamp, "data": data}).to_string()
}

/// Whether an endpoint's answer delivers the message: any 2xx. Anything else, or no answer, is
/// tried again.
pub fn delivered_by(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Seconds to wait after failed attempt number `attempt` (from 1): `base`, doubling each time,
/// at most [`MAX_RETRY_DELAY_SECS`]; `None` once the waits would add up past
/// [`RETRY_WINDOW_SECS`] (the delivery is then given up).
pub fn retry_delay(attempt: i32, base: i64) -> Option<i64> {
    if attempt < 1 {
        return None;
    }
    let base = base.max(1);
    let mut total: i64 = 0;
    let mut delay = 0;
    for n in 0..attempt {
        delay = base
            .checked_mul(
                1_i64
                    .checked_shl(n.unsigned_abs().min(40))
                    .unwrap_or(i64::MAX),
            )
            .unwrap_or(i64::MAX)
            .min(MAX_RETRY_DELAY_SECS);
        total = total.saturating_add(delay);
        if total > RETRY_WINDOW_SECS {
            return None;
        }
    }
    Some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks libraries' own signing example.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_signed_content_and_header_follow_the_standard_webhooks_example() {
        use base64::{engine::general_purpose::STANDARD, Engine};
        assert_eq!(
            signed_content(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
            r#"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}"#
        );
        let mac = STANDARD
            .decode(SPEC_SIGNATURE.trim_start_matches("v1,"))
            .unwrap();
        assert_eq!(signature_header(&[&mac]), SPEC_SIGNATURE);
        assert_eq!(
            signature_header(&[&mac, &mac]),
            format!("{SPEC_SIGNATURE} {SPEC_SIGNATURE}")
        );
        let key = parse_secret(SPEC_SECRET).unwrap();
        assert_eq!(key.len(), 24);
        assert_eq!(
            parse_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Some(key.clone())
        );
        assert_eq!(format_secret(&key), SPEC_SECRET);
        assert_eq!(parse_secret("whsec_"), None);
        assert_eq!(parse_secret("whsec_not base64!"), None);
    }

    #[test]
    fn the_body_carries_type_time_and_data() {
        let body = event_body("app.created", 1_614_265_330, r#"{"id":"7","name":"A"}"#);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"type": "app.created", "timestamp": "2021-02-25T15:02:10Z",
                "data": {"id": "7", "name": "A"}})
        );
    }

    #[test]
    fn retries_double_and_stop_after_a_day() {
        assert_eq!(retry_delay(0, 10), None);
        assert_eq!(retry_delay(1, 10), Some(10));
        assert_eq!(retry_delay(2, 10), Some(20));
        assert_eq!(retry_delay(3, 10), Some(40));
        let delays: Vec<i64> = (1..100).map_while(|n| retry_delay(n, 10)).collect();
        let total: i64 = delays.iter().sum();
        assert!((20 * 3600..=RETRY_WINDOW_SECS).contains(&total), "{total}");
        assert!(delays.iter().all(|d| *d <= MAX_RETRY_DELAY_SECS));
        assert_eq!(retry_delay(delays.len() as i32 + 1, 10), None);
        // A short base (tests) still stops within the day.
        let quick: i64 = (1..100).map_while(|n| retry_delay(n, 1)).sum();
        assert!(quick <= RETRY_WINDOW_SECS);
        assert_eq!(retry_delay(i32::MAX, 10), None);
    }

    #[test]
    fn only_a_2xx_delivers() {
        for status in [200, 201, 204, 299] {
            assert!(delivered_by(status), "{status}");
        }
        for status in [301, 400, 401, 410, 429, 500, 503] {
            assert!(!delivered_by(status), "{status}");
        }
    }

    #[test]
    fn endpoint_urls_are_https_with_a_host() {
        assert_eq!(
            endpoint_url(" https://hooks.example/in?x=1 ", false)
                .unwrap()
                .as_str(),
            "https://hooks.example/in?x=1"
        );
        assert!(endpoint_url("http://127.0.0.1:9/in", true).is_ok());
        let long = format!("https://hooks.example/{}", "a".repeat(MAX_URL_LEN));
        for refused in [
            "http://hooks.example/in",
            "https://user:pw@hooks.example/in",
            "https://hooks.example/in#frag",
            "ftp://hooks.example/in",
            "https:///in",
            "https://hooks example/in",
            "javascript:alert(1)",
            "",
            long.as_str(),
        ] {
            assert_eq!(
                endpoint_url(refused, false),
                Err(WebhookError::InvalidUrl),
                "{refused}"
            );
        }
    }

    #[test]
    fn event_lists_hold_known_types_once_in_order() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            event_list(&names(&["app.created", "user.created", "app.created"])).unwrap(),
            [USER_CREATED, APP_CREATED]
        );
        assert_eq!(event_list(&[]), Err(WebhookError::NoEvents));
        assert_eq!(
            event_list(&names(&["user.created", "user.exploded"])),
            Err(WebhookError::UnknownEvent("user.exploded".into()))
        );
        assert_eq!(
            description(&"d".repeat(201)),
            Err(WebhookError::DescriptionTooLong)
        );
        assert_eq!(description(" notes ").unwrap(), "notes");
    }

    #[test]
    fn event_types_are_distinct_and_found_by_name() {
        let mut sorted = EVENT_TYPES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), EVENT_TYPES.len());
        assert_eq!(event_type("user.created"), Some(USER_CREATED));
        assert_eq!(event_type("user.nothing"), None);
    }
}
