//! The parts of an absolute URL that the redirect-URI and branding rules look at. Stricter than a
//! browser's parser: whatever a browser would re-interpret (whitespace, control characters,
//! backslashes, quotes, angle brackets) is refused rather than normalized.

/// An absolute URL split into scheme, authority and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl<'a> {
    /// Lower-cased.
    pub scheme: String,
    /// `user:pass@` before the host, when present.
    pub has_credentials: bool,
    /// Lower-cased; IPv6 addresses keep their brackets. Empty when the URL has no `//` authority.
    pub host: String,
    pub port: Option<&'a str>,
    /// Path, query and fragment, as written.
    pub rest: &'a str,
    pub has_authority: bool,
}

/// Characters no URL we store may hold: a browser would strip, re-interpret or break on them.
fn has_unsafe_chars(value: &str) -> bool {
    value.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '\\' | '"' | '<' | '>' | '`' | '{' | '}')
    })
}

fn is_scheme(scheme: &str) -> bool {
    scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A host name (letters, digits, `-`, `.`) or a bracketed IPv6 address.
fn is_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && !host.starts_with('.')
        && !host.contains("..")
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
}

impl<'a> WebUrl<'a> {
    /// Splits `value` (already trimmed); `None` when it is not an absolute URL with a scheme and
    /// something after it, holds unsafe characters, or has a malformed authority.
    pub fn parse(value: &'a str) -> Option<Self> {
        if value.is_empty() || value.len() > 2048 || has_unsafe_chars(value) {
            return None;
        }
        let (scheme, after) = value.split_once(':')?;
        if !is_scheme(scheme) || after.is_empty() {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        let Some(authority_and_rest) = after.strip_prefix("//") else {
            return Some(Self {
                scheme,
                has_credentials: false,
                host: String::new(),
                port: None,
                rest: after,
                has_authority: false,
            });
        };
        let end = authority_and_rest
            .find(['/', '?', '#'])
            .unwrap_or(authority_and_rest.len());
        let (authority, rest) = authority_and_rest.split_at(end);
        let (has_credentials, host_port) = match authority.rsplit_once('@') {
            Some((_, host_port)) => (true, host_port),
            None => (false, authority),
        };
        let (host, port) = match host_port.rfind(':') {
            Some(i) if !host_port[i..].contains(']') => {
                (&host_port[..i], Some(&host_port[i + 1..]))
            }
            _ => (host_port, None),
        };
        if !is_host(host) {
            return None;
        }
        if let Some(port) = port {
            if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
        }
        Some(Self {
            scheme,
            has_credentials,
            host: host.to_ascii_lowercase(),
            port,
            rest,
            has_authority: true,
        })
    }

    /// `localhost`, an address in 127.0.0.0/8, or `[::1]` (RFC 8252 §8.3).
    pub fn is_loopback(&self) -> bool {
        if self.host == "localhost" {
            return true;
        }
        if let Ok(v4) = self.host.parse::<std::net::Ipv4Addr>() {
            return v4.is_loopback();
        }
        self.host == "[::1]"
    }

    /// `scheme://host[:port]`, for a Content-Security-Policy source list.
    pub fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// `https:`, or `http:` to a loopback host (or to any host when `allow_http`), with a host
    /// and no credentials.
    pub fn is_web_url(&self, allow_http: bool) -> bool {
        let scheme_ok = match self.scheme.as_str() {
            "https" => true,
            "http" => allow_http || self.is_loopback(),
            _ => false,
        };
        scheme_ok && self.has_authority && !self.has_credentials
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_split() {
        let url = WebUrl::parse("HTTPS://Fonts.Example:8443/css?family=A#x").unwrap();
        assert_eq!(url.scheme, "https");
        assert_eq!(url.host, "fonts.example");
        assert_eq!(url.port, Some("8443"));
        assert_eq!(url.rest, "/css?family=A#x");
        assert_eq!(url.origin(), "https://fonts.example:8443");
        let url = WebUrl::parse("http://[::1]:5173/cb").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("[::1]", Some("5173")));
        assert!(url.is_loopback());
        let url = WebUrl::parse("com.example.app:/cb").unwrap();
        assert!(!url.has_authority);
        assert!(
            WebUrl::parse("https://u:p@a.example/")
                .unwrap()
                .has_credentials
        );
    }

    #[test]
    fn loopback_is_only_the_loopback() {
        for yes in [
            "http://localhost/",
            "http://127.0.0.1:8/",
            "http://127.9.9.9",
            "http://[::1]/",
        ] {
            assert!(WebUrl::parse(yes).unwrap().is_loopback(), "{yes}");
        }
        for no in [
            "http://localhost.evil.example/",
            "http://127.0.0.1.evil.example/",
            "http://10.0.0.1/",
            "http://[::2]/",
        ] {
            assert!(!WebUrl::parse(no).unwrap().is_loopback(), "{no}");
        }
    }

    #[test]
    fn what_a_browser_would_reinterpret_is_refused() {
        for bad in [
            "",
            "no-scheme",
            "https:",
            "1x://a",
            "https://a.example\\@b.example/",
            "https://a b.example/",
            "https://a.example/\n",
            "https://a.example/\"><script>",
            "https://",
            "https://a..example/",
            "https://a.example:99999999/",
            "https://a.example:/",
            "https://[zz]/",
            "https://a.example;x/",
            "https://a.example)}body{x/",
        ] {
            assert!(WebUrl::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn web_urls_are_https_or_loopback_http() {
        let web = |u: &str, allow_http: bool| WebUrl::parse(u).unwrap().is_web_url(allow_http);
        assert!(web("https://a.example/x", false));
        assert!(web("http://127.0.0.1:5173/cb", false));
        assert!(!web("http://a.example/x", false));
        assert!(web("http://a.example/x", true));
        assert!(!web("https://u:p@a.example/", true));
        assert!(!web("javascript://a.example/%0aalert(1)", true));
        assert!(!web("https:/a.example", true));
    }
}
