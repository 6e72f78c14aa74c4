//! Redirect URIs as apps register them and as a connect sign-in requests them: the URL parser
//! and the registration rules. An accepted URI is one the stricter checks read the same way.
#![no_main]

use gatehouse_core::connect::check_redirect_url;
use gatehouse_core::redirect_uri::{may_redirect_to, RedirectUri};
use gatehouse_core::web_url::WebUrl;
use libfuzzer_sys::fuzz_target;

fn check_uri(uri: &str, allow_http: bool) {
    if let Some(url) = WebUrl::parse(uri) {
        assert_eq!(url.scheme, url.scheme.to_ascii_lowercase());
        if url.has_authority {
            // The origin is itself a URL that splits into the same scheme, host and port.
            let origin = url.origin();
            let again = WebUrl::parse(&origin).expect("an origin parses");
            assert_eq!(again.scheme, url.scheme);
            assert_eq!(again.host, url.host);
            assert_eq!((again.port, again.rest), (url.port, ""));
        }
    }
    if let Ok(registered) = RedirectUri::parse(uri, allow_http) {
        assert!(may_redirect_to(registered.as_str(), allow_http));
        assert!(!registered.as_str().contains('#'));
    }
    if check_redirect_url(uri, allow_http).is_ok() {
        let url = WebUrl::parse(uri).expect("a redirect URL parses");
        assert!(url.is_web_url(allow_http));
    }
}

// The input: the URI, then optionally a line `allow-http` for the server's
// `allow_http_redirect_uris`.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (uri, rest) = text.split_once('\n').unwrap_or((text, ""));
    check_uri(uri, rest == "allow-http");
});
