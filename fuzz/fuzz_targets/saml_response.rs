//! An IdP's SAML Response as posted: the POST-binding decoding, the XML read into the one
//! Assertion, and the checks against what this SP asked for.
#![no_main]

use gatehouse_core::saml::{
    check_response, decode_post_binding, read_response, replay_ttl, Expected, ServiceProvider,
};
use libfuzzer_sys::fuzz_target;
use xml_sec::XmlDomDocument;

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    // The posted form field is base64; the same text read as one must refuse or decode cleanly.
    let _ = decode_post_binding(xml);
    let Ok(document) = XmlDomDocument::parse(xml) else {
        return;
    };
    let Ok(response) = read_response(&document) else {
        return;
    };
    let sp = ServiceProvider::at("https://id.example");
    let expected = Expected {
        idp_entity_id: "https://idp.example/entity",
        sp_entity_id: &sp.entity_id,
        acs_url: &sp.acs_url,
        request_id: "_req1",
        user_id_attribute: "uid",
        email_attribute: Some("mail"),
        first_name_attribute: Some("givenName"),
        last_name_attribute: Some("sn"),
    };
    let _ = check_response(&response, &expected, NOW);
    assert!(replay_ttl(&response, NOW) >= 60);
});
