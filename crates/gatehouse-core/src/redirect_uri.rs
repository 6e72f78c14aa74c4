//! Which redirect URIs an app may register (RFC 6749 §3.1.2, RFC 8252 §7 and §8.3, RFC 9700
//! §4.1): `https:`, `http:` only to a loopback host unless the operator allows plain http, and
//! private-use schemes with a dot (`com.example.app:/cb`) for native apps.

use crate::web_url::WebUrl;

/// Why a redirect URI is refused; the text completes "Invalid redirect URI `…`: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriProblem {
    #[error("it must be an absolute URI (scheme:…) without spaces, quotes, backslashes or angle brackets")]
    NotAbsolute,
    #[error("it must not have a fragment (#…)")]
    Fragment,
    #[error("it must not carry credentials (user:password@)")]
    Credentials,
    #[error("http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]); use https")]
    PlainHttp,
    #[error("an https URI needs a host (https://host/…)")]
    NoHost,
    #[error("this scheme is never a redirect target; use https, loopback http, or a private-use scheme with a dot such as com.example.app:/cb")]
    ForbiddenScheme,
}

/// Schemes that run or reveal content in the browser rather than deliver a response.
const FORBIDDEN_SCHEMES: [&str; 6] = ["javascript", "data", "vbscript", "file", "blob", "about"];

/// A redirect URI as registered: trimmed, case kept (compared exactly later), allowed by the rules
/// above. `allow_http` lets `http:` name any host (the operator's `allow_http_redirect_uris`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(value: &str, allow_http: bool) -> Result<Self, RedirectUriProblem> {
        let uri = value.trim();
        let scheme = uri.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        if scheme.is_some_and(|s| FORBIDDEN_SCHEMES.contains(&s.as_str())) {
            return Err(RedirectUriProblem::ForbiddenScheme);
        }
        let url = WebUrl::parse(uri).ok_or(RedirectUriProblem::NotAbsolute)?;
        if uri.contains('#') {
            return Err(RedirectUriProblem::Fragment);
        }
        if url.has_credentials {
            return Err(RedirectUriProblem::Credentials);
        }
        match url.scheme.as_str() {
            "https" | "http" if !url.has_authority => return Err(RedirectUriProblem::NoHost),
            "https" => {}
            "http" if allow_http || url.is_loopback() => {}
            "http" => return Err(RedirectUriProblem::PlainHttp),
            scheme if !scheme.contains('.') => return Err(RedirectUriProblem::ForbiddenScheme),
            _ => {}
        }
        Ok(Self(uri.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Whether a URI already registered (perhaps before these rules) may still be redirected to.
pub fn may_redirect_to(uri: &str, allow_http: bool) -> bool {
    RedirectUri::parse(uri, allow_http).is_ok_and(|r| r.as_str() == uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RedirectUriProblem::*;

    #[test]
    fn web_loopback_and_native_uris_are_accepted() {
        for good in [
            "https://App.example/CB",
            "https://app.example:8443/cb?x=1",
            "http://127.0.0.1:5173/cb",
            "http://localhost/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/cb",
            "com.example.app:/oauth2redirect/example-provider",
            "com.example.app://cb",
        ] {
            assert_eq!(RedirectUri::parse(good, false).unwrap().as_str(), good);
        }
        assert_eq!(
            RedirectUri::parse(" https://a.example/cb ", false)
                .unwrap()
                .as_str(),
            "https://a.example/cb"
        );
    }

    #[test]
    fn dangerous_and_malformed_uris_are_refused_with_their_reason() {
        for (bad, problem) in [
            ("javascript:alert(1)", ForbiddenScheme),
            ("JavaScript://x.example/%0aalert(1)", ForbiddenScheme),
            ("data:text/html,<script>alert(1)</script>", ForbiddenScheme),
            ("data:text/html;base64,PHNjcmlwdD4=", ForbiddenScheme),
            ("vbscript:msgbox", ForbiddenScheme),
            ("file:///etc/passwd", ForbiddenScheme),
            ("myapp://cb", ForbiddenScheme),
            ("http://app.example/cb", PlainHttp),
            ("http://localhost.evil.example/cb", PlainHttp),
            ("https://a.example/cb#x", Fragment),
            ("https://user:pass@a.example/cb", Credentials),
            ("https:/a.example/cb", NoHost),
            ("/relative", NotAbsolute),
            ("", NotAbsolute),
            ("no scheme", NotAbsolute),
            ("1http://x", NotAbsolute),
            ("https:", NotAbsolute),
            ("https://a.example\\@b.example/", NotAbsolute),
        ] {
            assert_eq!(RedirectUri::parse(bad, false), Err(problem), "{bad}");
        }
    }

    #[test]
    fn the_operator_may_allow_plain_http() {
        assert!(RedirectUri::parse("http://app.example/cb", true).is_ok());
        assert_eq!(
            RedirectUri::parse("javascript:alert(1)", true),
            Err(ForbiddenScheme)
        );
    }

    #[test]
    fn stored_uris_are_checked_again_before_a_redirect() {
        assert!(may_redirect_to("https://a.example/cb", false));
        assert!(!may_redirect_to("javascript:alert(1)", false));
        assert!(!may_redirect_to(" https://a.example/cb", false));
        assert!(!may_redirect_to("http://a.example/cb", false));
    }
}
