//! Reading what a browser or client sends in request headers: cookies, a bearer token, the form
//! content type, the `Origin` of a post and the `X-Forwarded-For` chain. Plain text in, values
//! out; the server hands in the header values it received.

use std::net::IpAddr;

/// The value of cookie `name` across the `Cookie` header values received; an empty value reads
/// as absent.
pub fn cookie_value<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The token of an `Authorization: Bearer <token>` value, if that is what it is.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// How an access token was presented (RFC 6750 §2.1, RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScheme {
    Bearer,
    Dpop,
}

/// The scheme and token of an `Authorization: Bearer <token>` or `DPoP <token>` header.
pub fn access_token(authorization: &str) -> Option<(TokenScheme, &str)> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((TokenScheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((TokenScheme::Dpop, token))
    } else {
        None
    }
}

/// Whether a `Content-Type` value names `application/x-www-form-urlencoded` (parameters ignored).
pub fn is_form_content_type(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|v| {
        v.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// Whether an `Origin` header names another site than the issuer's (`null` does too).
pub fn is_foreign_origin(origin: &str, issuer: &str) -> bool {
    let issuer_origin = issuer.split('/').take(3).collect::<Vec<_>>().join("/");
    origin.trim_end_matches('/') != issuer_origin
}

/// The client behind a peer: the peer itself unless it is a trusted proxy, else the last
/// `X-Forwarded-For` hop that is not a trusted proxy (or the first hop, or the peer).
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    is_trusted: impl Fn(&IpAddr) -> bool,
) -> IpAddr {
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = forwarded_for
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// The language tags of an `Accept-Language` header (RFC 9110 §12.5.4), most wanted first (equal
/// weights keep their order). Tags with `q=0` or a malformed weight, and `*`, are left out; at
/// most 16 are read, so a huge header costs no more than a short one.
pub fn accepted_languages(header: &str) -> Vec<&str> {
    let mut tags: Vec<(u16, &str)> = header
        .split(',')
        .take(16)
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let valid = !tag.is_empty()
                && tag.len() <= 35
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !valid {
                return None;
            }
            let mut weight = 1000;
            for param in pieces {
                if let Some(q) = param.trim().strip_prefix("q=") {
                    weight = quality(q)?;
                }
            }
            (weight > 0).then_some((weight, tag))
        })
        .collect();
    // A stable sort keeps the header's order among equal weights.
    tags.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    tags.into_iter().map(|(_, tag)| tag).collect()
}

/// A `q` value in thousandths (`0`, `0.5`, `1.000`); `None` when it is not one.
fn quality(q: &str) -> Option<u16> {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // "5" is 500 thousandths, "05" is 50: the digits padded with zeros to three.
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, digit| n * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_languages_are_ordered_by_weight() {
        assert_eq!(
            accepted_languages("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
            ["fr-CH", "fr", "en", "de"]
        );
        assert_eq!(
            accepted_languages("de;q=0.5, ar, he;q=0.5"),
            ["ar", "de", "he"]
        );
        assert_eq!(accepted_languages("ja;q=0, ko"), ["ko"]);
        // Malformed weights and tags are dropped, not guessed at.
        assert_eq!(
            accepted_languages("en;q=2, fr;q=abc, es;q=0.5555, <script>, it;q=1.0, pt-BR;q=.5"),
            ["it"]
        );
        assert!(accepted_languages("").is_empty());
        let huge = "xx;q=0.1,".repeat(10_000);
        assert_eq!(accepted_languages(&huge).len(), 16);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let headers = ["a=1; __Host-gh_csrf=tok", "b=; c=3"];
        assert_eq!(cookie_value(headers, "__Host-gh_csrf"), Some("tok"));
        assert_eq!(cookie_value(headers, "gh_csrf"), None);
        assert_eq!(cookie_value(headers, "b"), None, "empty reads as absent");
        assert_eq!(cookie_value(headers, "c"), Some("3"));
    }

    #[test]
    fn bearer_tokens_and_form_types() {
        assert_eq!(bearer_token(" Bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("bearer x"), Some("x"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert!(is_form_content_type(
            "Application/X-WWW-Form-Urlencoded; charset=utf-8"
        ));
        assert!(!is_form_content_type("application/json"));
    }

    #[test]
    fn origins_and_forwarded_hops() {
        assert!(!is_foreign_origin(
            "https://id.example",
            "https://id.example/"
        ));
        assert!(is_foreign_origin("null", "https://id.example"));
        assert!(is_foreign_origin(
            "https://evil.example",
            "https://id.example"
        ));
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = |ip: &IpAddr| *ip == proxy;
        let client = client_ip(proxy, ["1.2.3.4, 5.6.7.8", "10.0.0.1"], trusted);
        assert_eq!(client.to_string(), "5.6.7.8");
        let other: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_ip(other, ["1.2.3.4"], trusted), other);
        assert_eq!(client_ip(proxy, ["junk"], trusted), proxy);
    }
}
