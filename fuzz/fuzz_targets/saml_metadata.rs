//! An IdP's SAML metadata document, as an operator pastes or the server fetches it.
#![no_main]

use gatehouse_core::saml::parse_idp_metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(metadata) = parse_idp_metadata(xml) {
        assert!(!metadata.entity_id.trim().is_empty());
    }
});
