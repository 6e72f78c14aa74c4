//! The CBOR decoder passkeys feed: never panics, and what it decodes encodes back (in shortest
//! form) to bytes that decode to the same value.
#![no_main]

use gatehouse_core::webauthn::{decode_cbor, Cbor};
use libfuzzer_sys::fuzz_target;

fn head(major: u8, arg: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    match arg {
        0..=23 => out.push(major | arg as u8),
        24..=0xff => out.extend([major | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend((arg as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend(arg.to_be_bytes());
        }
    }
}

fn encode(value: &Cbor, out: &mut Vec<u8>) {
    match value {
        Cbor::Int(i) if *i >= 0 => head(0, u64::try_from(*i).expect("decoded uint fits"), out),
        Cbor::Int(i) => head(1, u64::try_from(-1 - *i).expect("decoded nint fits"), out),
        Cbor::Bytes(bytes) => {
            head(2, bytes.len() as u64, out);
            out.extend(bytes);
        }
        Cbor::Text(text) => {
            head(3, text.len() as u64, out);
            out.extend(text.as_bytes());
        }
        Cbor::Array(items) => {
            head(4, items.len() as u64, out);
            items.iter().for_each(|item| encode(item, out));
        }
        Cbor::Map(entries) => {
            head(5, entries.len() as u64, out);
            for (key, value) in entries {
                encode(key, out);
                encode(value, out);
            }
        }
        Cbor::Bool(false) => out.push(0xf4),
        Cbor::Bool(true) => out.push(0xf5),
        Cbor::Null => out.push(0xf6),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok((value, rest)) = decode_cbor(data) else {
        return;
    };
    assert!(rest.len() < data.len(), "an item takes at least one byte");
    let mut bytes = Vec::new();
    encode(&value, &mut bytes);
    let (again, after) = decode_cbor(&bytes).expect("shortest form decodes");
    assert!(after.is_empty());
    assert_eq!(again, value);
});
