//! What a browser or client sends besides the body's JSON: the authorization request's query or
//! form, HTTP Basic client credentials, cookies, a bearer token, the form content type, the
//! `Origin` and `X-Forwarded-For` headers.
#![no_main]

use std::net::IpAddr;

use gatehouse_core::authorize::{
    check_client, check_request, AuthorizeParams, AuthorizeSettings, ClientFacts,
};
use gatehouse_core::client_auth::parse_basic_authorization;
use gatehouse_core::grant::AppType;
use gatehouse_core::request_headers::{
    bearer_token, client_ip, cookie_value, is_foreign_origin, is_form_content_type,
};
use libfuzzer_sys::fuzz_target;

/// The input, as text: the query string (or form body) on the first line, then header lines
/// (`authorization: …`, `cookie: …`, `content-type: …`, `origin: …`, `x-forwarded-for: …`) and
/// `peer: proxy` when the request came through the trusted proxy.
#[derive(Debug, Default)]
struct Request<'a> {
    query: &'a [u8],
    authorization: &'a str,
    cookies: Vec<&'a str>,
    content_type: &'a str,
    origin: &'a str,
    forwarded_for: Vec<&'a str>,
    peer_is_proxy: bool,
}

fn read_request(data: &[u8]) -> Option<Request<'_>> {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (query, rest) = data.split_at(split);
    let mut request = Request {
        query,
        ..Request::default()
    };
    for line in std::str::from_utf8(rest).ok()?.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "authorization" => request.authorization = value,
            "cookie" => request.cookies.push(value),
            "content-type" => request.content_type = value,
            "origin" => request.origin = value,
            "x-forwarded-for" => request.forwarded_for.push(value),
            "peer" => request.peer_is_proxy = value == "proxy",
            _ => {}
        }
    }
    Some(request)
}

fn authorization_request(query: &[u8], public_client: bool) {
    let Ok(params) = serde_urlencoded::from_bytes::<AuthorizeParams>(query) else {
        return;
    };
    let redirect_uris = ["https://app.example/cb".to_owned()];
    let scopes = [
        "openid".to_owned(),
        "profile".to_owned(),
        "email".to_owned(),
    ];
    let client = ClientFacts {
        app_type: if public_client {
            AppType::Spa
        } else {
            AppType::Web
        },
        is_active: true,
        redirect_uris: &redirect_uris,
        scopes: &scopes,
    };
    let locales = ["en".to_owned(), "zh-CN".to_owned()];
    let blocked = ["reset_mfa".to_owned()];
    let settings = AuthorizeSettings {
        allow_plain_pkce: false,
        embedded_origins: &[],
        supported_locales: &locales,
        policy_pages: true,
        blocked_policies: &blocked,
        federated_providers: vec!["corp"],
        saml_sso: true,
        spa_only: false,
    };
    let Ok(redirect_uri) = check_client(&params, Some(client), &settings) else {
        return;
    };
    assert_eq!(redirect_uri, redirect_uris[0]);
    if let Ok(request) = check_request(&params, client, redirect_uri, &settings) {
        assert!(!request.state.is_empty() && !request.scopes.is_empty());
        assert!(request.scopes.iter().all(|s| scopes.contains(s)));
        assert!(locales.contains(&request.locale));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = read_request(data) else {
        return;
    };
    // A public app needs PKCE, a confidential one may leave it out: alternate by input.
    authorization_request(input.query, data.len().is_multiple_of(2));

    if let Ok(credentials) = parse_basic_authorization(input.authorization) {
        assert!(!credentials.client_id.is_empty() && !credentials.client_secret.is_empty());
    }
    if let Some(token) = bearer_token(input.authorization) {
        assert!(!token.is_empty() && token == token.trim());
    }
    for name in ["__Host-gh_csrf", "gh_session", ""] {
        if let Some(value) = cookie_value(input.cookies.iter().copied(), name) {
            assert!(!value.is_empty());
            assert!(input
                .cookies
                .iter()
                .any(|c| c.contains(&format!("{name}={value}"))));
        }
    }
    let _ = is_form_content_type(input.content_type);
    assert!(!is_foreign_origin(
        "https://id.example",
        "https://id.example/"
    ));
    let _ = is_foreign_origin(input.origin, "https://id.example");

    let proxy: IpAddr = [10, 0, 0, 1].into();
    let peer: IpAddr = if input.peer_is_proxy {
        proxy
    } else {
        [192, 0, 2, 7].into()
    };
    let client = client_ip(peer, input.forwarded_for.iter().copied(), |ip| *ip == proxy);
    if !input.peer_is_proxy {
        assert_eq!(client, peer);
    }
});
