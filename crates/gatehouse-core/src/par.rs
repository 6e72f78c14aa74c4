//! Pushed authorization requests (RFC 9126): the `request_uri` a push is answered with, and how
//! the authorization endpoint takes a pushed request back. The request itself is checked as any
//! other authorization request; storing it (once, briefly) is the server's.

/// What every `request_uri` this server hands out starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A form or query as its name–value pairs, in order.
pub type Pairs = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParError {
    #[error(
        "request_uri may not be pushed: push the authorization request's parameters themselves"
    )]
    RequestUriPushed,
    #[error("request_uri is unknown, expired or already used: push the request again")]
    UnknownRequestUri,
    #[error("request_uri was pushed by another client")]
    AnotherClient,
    #[error("The {0} parameter differs from the pushed request: a pushed request cannot be changed at the authorization endpoint")]
    Tampered(String),
    #[error("This app must push its authorization requests to /oauth2/v1/par first")]
    PushRequired,
}

/// The secret part of a `request_uri` this server made, or `None` for any other value.
pub fn reference(request_uri: &str) -> Option<&str> {
    request_uri.strip_prefix(REQUEST_URI_PREFIX).filter(|r| {
        !r.is_empty()
            && r.len() <= 128
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The request the authorization endpoint goes on with: the pushed one (or a request object's). The query must name
/// the client that pushed it, and may repeat a pushed parameter (as OpenID Connect clients do
/// with `scope` and `response_type`) but never change or add one: a parameter an attacker
/// could slip into the front channel is refused, not silently dropped.
pub fn take_pushed(query: &[(String, String)], pushed: Pairs) -> Result<Pairs, ParError> {
    if value(query, "client_id") != value(&pushed, "client_id") {
        return Err(ParError::AnotherClient);
    }
    for (name, given) in query {
        if name == "client_id" || name == "request_uri" || name == "request" {
            continue;
        }
        if value(&pushed, name) != Some(given.as_str()) {
            return Err(ParError::Tampered(name.clone()));
        }
    }
    Ok(pushed)
}

/// Checks a pushed request's own rules (RFC 9126 §2.1) before it is checked as an
/// authorization request.
pub fn check_push(pushed: &[(String, String)]) -> Result<(), ParError> {
    if value(pushed, "request_uri").is_some() {
        return Err(ParError::RequestUriPushed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn pushed() -> Pairs {
        pairs(&[
            ("client_id", "app"),
            ("redirect_uri", "https://app.example/cb"),
            ("scope", "openid"),
            ("response_type", "code"),
        ])
    }

    #[test]
    fn the_pushed_request_is_taken_with_repeated_parameters() {
        let query = pairs(&[
            ("client_id", "app"),
            ("request_uri", "urn:ietf:params:oauth:request_uri:abc"),
            ("scope", "openid"),
        ]);
        assert_eq!(take_pushed(&query, pushed()), Ok(pushed()));
    }

    #[test]
    fn a_changed_or_added_parameter_is_refused() {
        for (name, value) in [
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid root"),
            ("prompt", "none"),
        ] {
            let query = pairs(&[("client_id", "app"), ("request_uri", "x"), (name, value)]);
            assert_eq!(
                take_pushed(&query, pushed()),
                Err(ParError::Tampered(name.into()))
            );
        }
        let other = pairs(&[("client_id", "other"), ("request_uri", "x")]);
        assert_eq!(take_pushed(&other, pushed()), Err(ParError::AnotherClient));
        let none = pairs(&[("request_uri", "x")]);
        assert_eq!(take_pushed(&none, pushed()), Err(ParError::AnotherClient));
    }

    #[test]
    fn only_our_request_uris_have_a_reference() {
        assert_eq!(
            reference("urn:ietf:params:oauth:request_uri:Ab-_9"),
            Some("Ab-_9")
        );
        for other in [
            "urn:ietf:params:oauth:request_uri:",
            "urn:ietf:params:oauth:request_uri:a b",
            "https://app.example/request.jwt",
        ] {
            assert_eq!(reference(other), None, "{other}");
        }
        assert_eq!(
            check_push(&pairs(&[("request_uri", "x")])),
            Err(ParError::RequestUriPushed)
        );
    }
}
