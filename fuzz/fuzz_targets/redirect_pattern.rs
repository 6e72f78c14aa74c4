//! A connect app's redirect patterns (regular expressions matched in full) and the URL a
//! sign-in asks to be sent to: whatever a pattern lets through is a URI the registration rules
//! accept as written, so a pattern can never widen what a redirect may be.
#![no_main]

use gatehouse_core::connect::{check_redirect_patterns, redirect_allowed};
use gatehouse_core::redirect_uri::RedirectUri;
use libfuzzer_sys::fuzz_target;

// The input, as text: the requested URL on the first line, then one pattern; a last line
// `allow-http` stands for the server's `allow_http_redirect_uris`. Compiling a pattern costs far
// more than matching it, so one is enough.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (requested, rest) = text.split_once('\n').unwrap_or((text, ""));
    let (pattern, allow_http) = match rest.strip_suffix("\nallow-http") {
        Some(pattern) => (pattern, true),
        None => (rest, false),
    };
    let patterns = [pattern.to_owned()];
    if check_redirect_patterns(&patterns).is_ok()
        && redirect_allowed(requested, &patterns, allow_http)
    {
        let registered = RedirectUri::parse(requested, allow_http)
            .expect("a URL a pattern allows is a valid redirect URI");
        assert_eq!(registered.as_str(), requested);
    }
});
