//! The CBOR reader passkeys feed (`ciborium` behind the nesting limit): never panics, takes at
//! least one byte for an item, and what it decodes encodes back to bytes that decode to the
//! same encoding.
#![no_main]

use gatehouse_core::webauthn::decode_cbor;
use libfuzzer_sys::fuzz_target;

fn encode(value: &ciborium::Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(value, &mut bytes).expect("a decoded value encodes");
    bytes
}

fuzz_target!(|data: &[u8]| {
    let Ok((value, rest)) = decode_cbor(data) else {
        return;
    };
    assert!(rest.len() < data.len(), "an item takes at least one byte");
    // Compared as bytes: a NaN float is not equal to itself as a value.
    let bytes = encode(&value);
    let (again, after) = decode_cbor(&bytes).expect("an encoded value decodes");
    assert!(after.is_empty());
    assert_eq!(encode(&again), bytes);
});
