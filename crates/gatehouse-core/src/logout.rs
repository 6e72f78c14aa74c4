//! OIDC Back-Channel Logout 1.0 and Front-Channel Logout 1.0: the logout token an app is sent
//! when a user's session ends, when to try again, the front-channel URL, and the rules for the
//! URIs an app registers.

use serde::Serialize;

use crate::admin::AdminRuleError;
use crate::web_url::WebUrl;

/// The event a logout token carries (Back-Channel Logout §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` header of a logout token (Back-Channel Logout §2.4, explicit typing).
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";
/// How long a logout token may be accepted: long enough for a slow network, short enough that
/// a captured one is soon useless.
pub const LOGOUT_TOKEN_LIFETIME: i64 = 120;

/// The claims of a logout token. It has no `nonce`, so it can never pass for an ID token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub events: serde_json::Value,
}

/// The logout token telling app `client_id` that `subject`'s session `session_id` ended (every
/// session of the subject when `None`).
pub fn logout_token_claims(
    issuer: &str,
    client_id: &str,
    (subject, session_id): (&str, Option<i64>),
    jti: String,
    now: i64,
) -> LogoutTokenClaims {
    LogoutTokenClaims {
        iss: issuer.to_owned(),
        aud: client_id.to_owned(),
        iat: now,
        exp: now + LOGOUT_TOKEN_LIFETIME,
        jti,
        sub: subject.to_owned(),
        sid: session_id.map(|id| id.to_string()),
        events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
    }
}

/// Seconds to wait after the `attempts`-th failed attempt before the next one; `None` once a
/// day of retries has passed (10 s, 30 s, 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h).
pub fn retry_delay(attempts: i32) -> Option<i64> {
    const DELAYS: [i64; 9] = [10, 30, 60, 300, 900, 3600, 10_800, 21_600, 43_200];
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    DELAYS.get(index).copied()
}

/// Whether an app's answer to a logout token settles it: it took it (2xx) or refused it as
/// invalid (4xx other than 429), which sending it again would not change.
pub fn settled_by(status: u16) -> bool {
    (200..300).contains(&status) || ((400..500).contains(&status) && status != 429)
}

/// The URL the signed-out page loads for an app's front-channel logout: with `iss` and `sid`
/// when the app asked for them (Front-Channel Logout §2).
pub fn frontchannel_logout_url(
    uri: &str,
    session_required: bool,
    issuer: &str,
    session_id: i64,
) -> String {
    if !session_required {
        return uri.to_owned();
    }
    let sid = session_id.to_string();
    let query =
        serde_urlencoded::to_string([("iss", issuer), ("sid", sid.as_str())]).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

/// A logout URI as registered: `https:` (`http:` to a loopback host, or anywhere with
/// `allow_http`), no fragment, no credentials, at most 2048 characters. A front-channel URI must
/// also have the scheme, host and port of one of the app's redirect URIs (Front-Channel Logout
/// §2).
pub fn logout_uri(
    field: &'static str,
    value: &str,
    allow_http: bool,
    front_channel_of: Option<&[String]>,
) -> Result<String, AdminRuleError> {
    let refuse = |problem: &str| AdminRuleError::LogoutUri {
        field,
        problem: problem.to_owned(),
    };
    let value = value.trim();
    let parsed = WebUrl::parse(value).ok_or_else(|| {
        refuse("must be an absolute URL of at most 2048 characters, without spaces or quotes")
    })?;
    if !parsed.is_web_url(allow_http) {
        return Err(refuse(
            "must be an https URL (http only to a loopback host) without a user name or password",
        ));
    }
    if parsed.rest.contains('#') {
        return Err(refuse("must not have a fragment"));
    }
    if let Some(redirect_uris) = front_channel_of {
        let origin = parsed.origin();
        let shared = redirect_uris
            .iter()
            .filter_map(|r| WebUrl::parse(r))
            .any(|r| r.origin() == origin);
        if !shared {
            return Err(refuse(
                "must have the scheme, host and port of one of the app's redirect URIs",
            ));
        }
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logout_token_names_the_event_and_never_a_nonce() {
        let claims = logout_token_claims(
            "https://id.example",
            "app-1",
            ("user-1", Some(42)),
            "j1".into(),
            1000,
        );
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            json["events"][BACKCHANNEL_LOGOUT_EVENT],
            serde_json::json!({})
        );
        assert_eq!(json["sid"], "42");
        assert_eq!(json["exp"], 1000 + LOGOUT_TOKEN_LIFETIME);
        assert!(json.get("nonce").is_none());
        let everywhere = logout_token_claims(
            "https://id.example",
            "app-1",
            ("user-1", None),
            "j2".into(),
            0,
        );
        assert!(serde_json::to_value(everywhere)
            .unwrap()
            .get("sid")
            .is_none());
    }

    #[test]
    fn retries_back_off_and_stop_after_about_a_day() {
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(1), Some(10));
        assert_eq!(retry_delay(2), Some(30));
        let total: i64 = (1..=9).filter_map(retry_delay).sum();
        assert!((20 * 3600..=26 * 3600).contains(&total), "{total}");
        assert_eq!(retry_delay(10), None);
        assert_eq!(retry_delay(-1), None);
    }

    #[test]
    fn only_a_taken_or_refused_token_is_settled() {
        for status in [200, 204, 400, 401, 404] {
            assert!(settled_by(status), "{status}");
        }
        for status in [301, 429, 500, 502, 503] {
            assert!(!settled_by(status), "{status}");
        }
    }

    #[test]
    fn the_front_channel_url_carries_the_session_when_asked() {
        assert_eq!(
            frontchannel_logout_url("https://app.example/out", false, "https://id.example", 7),
            "https://app.example/out"
        );
        assert_eq!(
            frontchannel_logout_url("https://app.example/out?x=1", true, "https://id.example", 7),
            "https://app.example/out?x=1&iss=https%3A%2F%2Fid.example&sid=7"
        );
    }

    #[test]
    fn logout_uris_are_absolute_https_without_fragment() {
        let ok = logout_uri(
            "backchannelLogoutUri",
            " https://app.example/bc ",
            false,
            None,
        );
        assert_eq!(ok.unwrap(), "https://app.example/bc");
        for bad in [
            "/relative",
            "http://app.example/bc",
            "ftp://app.example/bc",
            "https://app.example/bc#x",
            "https://u:p@app.example/bc",
            "javascript:alert(1)",
        ] {
            assert!(logout_uri("f", bad, false, None).is_err(), "{bad}");
        }
        assert!(logout_uri("f", "http://127.0.0.1:9/bc", false, None).is_ok());
        assert!(logout_uri("f", "http://app.internal/bc", true, None).is_ok());
        assert!(logout_uri(
            "f",
            &format!("https://a.example/{}", "x".repeat(2100)),
            false,
            None
        )
        .is_err());
    }

    #[test]
    fn a_front_channel_uri_shares_an_origin_with_a_redirect_uri() {
        let redirects = ["https://app.example/cb".to_owned()];
        assert!(logout_uri("f", "https://app.example/fc", false, Some(&redirects)).is_ok());
        for other in ["https://evil.example/fc", "https://app.example:8443/fc"] {
            assert!(
                logout_uri("f", other, false, Some(&redirects)).is_err(),
                "{other}"
            );
        }
    }
}
