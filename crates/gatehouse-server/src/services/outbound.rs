//! Documents fetched at a URL an app chose (its `jwks_uri`). The app picks the address, so the
//! fetch must not become a probe of the inside network (SSRF): names are resolved by us and
//! refused when they point at loopback, private or link-local addresses; redirects are not
//! followed; the answer is bounded in time and size.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The longest a fetch may take, and the largest document read.
const TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("`{0}` is not an https URL")]
    NotHttps(String),
    #[error("`{0}` points at a loopback, private or link-local address")]
    InsideAddress(String),
    #[error("`{url}` could not be read: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("`{url}` answered a document larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("`{0}` did not answer a JSON document")]
    NotJson(String),
}

/// Whether an address is one anyone on the internet could reach: not loopback, private,
/// link-local, shared (CGNAT), multicast, documentation or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0xdb8)
        }
    }
}

/// Resolves names as the system does, keeping only the addresses a fetch may go to.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found
                .filter(|addr| allow_private || is_public(addr.ip()))
                .collect();
            if kept.is_empty() {
                let reason = format!("{} resolves to no public address", name.as_str());
                return Err(reason.into());
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// The client for app-chosen URLs.
pub struct Outbound {
    http: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()?;
        Ok(Self {
            http,
            allow_private,
        })
    }

    /// Whether `url` may be fetched at all: https (http too where inside addresses are
    /// allowed, for tests and closed networks), and not an inside address written literally.
    pub fn check_url(&self, url: &str) -> Result<url::Url, OutboundError> {
        let parsed = url::Url::parse(url).map_err(|_| OutboundError::NotHttps(url.to_owned()))?;
        let scheme_ok =
            parsed.scheme() == "https" || (self.allow_private && parsed.scheme() == "http");
        if !scheme_ok || !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(OutboundError::NotHttps(url.to_owned()));
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(OutboundError::NotHttps(url.to_owned())),
        };
        if literal.is_some_and(|ip| !self.allow_private && !is_public(ip)) {
            return Err(OutboundError::InsideAddress(url.to_owned()));
        }
        Ok(parsed)
    }

    /// POSTs a form to `url` (a logout token to an app); the status it answered. The answer's
    /// body is not read.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<u16, OutboundError> {
        let parsed = self.check_url(url)?;
        let body = serde_urlencoded::to_string(form).unwrap_or_default();
        let response = self
            .http
            .post(parsed)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| Self::send_error(url, e))?;
        Ok(response.status().as_u16())
    }

    /// POSTs a JSON body with `headers` to `url` (a webhook delivery); the status it answered.
    /// The answer's body is not read.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: String,
    ) -> Result<u16, OutboundError> {
        let parsed = self.check_url(url)?;
        let mut request = self
            .http
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| Self::send_error(url, e))?;
        Ok(response.status().as_u16())
    }

    /// A failed send in our terms: the resolver's refusal travels as a connect error.
    fn send_error(url: &str, e: reqwest::Error) -> OutboundError {
        if format!("{e:?}").contains("no public address") {
            OutboundError::InsideAddress(url.to_owned())
        } else {
            OutboundError::Unreachable {
                url: url.to_owned(),
                reason: e.without_url().to_string(),
            }
        }
    }

    /// The JSON document at `url`, at most [`MAX_DOCUMENT_BYTES`].
    pub async fn fetch_json(&self, url: &str) -> Result<serde_json::Value, OutboundError> {
        self.fetch_json_within(url, MAX_DOCUMENT_BYTES).await
    }

    /// The JSON document at `url`, at most `limit` bytes.
    pub async fn fetch_json_within(
        &self,
        url: &str,
        limit: usize,
    ) -> Result<serde_json::Value, OutboundError> {
        let parsed = self.check_url(url)?;
        let unreachable = |reason: String| OutboundError::Unreachable {
            url: url.to_owned(),
            reason,
        };
        let too_large = || OutboundError::TooLarge {
            url: url.to_owned(),
            limit,
        };
        let mut response = self
            .http
            .get(parsed)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Self::send_error(url, e))?;
        if !response.status().is_success() {
            return Err(unreachable(format!("status {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unreachable(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| OutboundError::NotJson(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_not_public() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["93.184.215.14", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(outside.parse().unwrap()), "{outside}");
        }
    }

    #[test]
    fn urls_are_https_and_not_literal_inside_addresses() {
        let strict = Outbound::new(false).unwrap();
        assert!(strict.check_url("https://keys.example/jwks.json").is_ok());
        for refused in [
            "http://keys.example/jwks.json",
            "https://user:pw@keys.example/jwks.json",
            "ftp://keys.example/jwks.json",
            "not a url",
        ] {
            assert!(
                matches!(strict.check_url(refused), Err(OutboundError::NotHttps(_))),
                "{refused}"
            );
        }
        for inside in [
            "https://127.0.0.1/jwks.json",
            "https://[::1]/jwks.json",
            "https://169.254.169.254/latest/meta-data",
        ] {
            assert!(
                matches!(
                    strict.check_url(inside),
                    Err(OutboundError::InsideAddress(_))
                ),
                "{inside}"
            );
        }
        let open = Outbound::new(true).unwrap();
        assert!(open.check_url("http://127.0.0.1:9/jwks.json").is_ok());
    }

    #[tokio::test]
    async fn a_name_resolving_inside_is_refused() {
        let strict = Outbound::new(false).unwrap();
        assert_eq!(
            strict.fetch_json("https://localhost:1/jwks.json").await,
            Err(OutboundError::InsideAddress(
                "https://localhost:1/jwks.json".into()
            ))
        );
    }
}
