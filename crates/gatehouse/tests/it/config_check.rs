//! The configuration reference in docs/ is the one the code generates.

#[test]
fn docs_configuration_md_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let generated = gatehouse_server::config::reference_markdown();
    assert!(
        on_disk == generated,
        "docs/configuration.md is stale: run `cargo run -- config docs > docs/configuration.md`"
    );
}

#[test]
fn every_key_is_documented_with_its_default() {
    let generated = gatehouse_server::config::reference_markdown();
    for key in gatehouse_server::config::KEYS {
        assert!(!key.doc.is_empty(), "{} has no doc", key.name);
        assert!(
            generated.contains(&format!("| `{}` |", key.name)),
            "{}",
            key.name
        );
    }
    assert!(generated.contains(
        "| `s2s_access_token_expires_in` | `3600` | `GATEHOUSE_S2S_ACCESS_TOKEN_EXPIRES_IN` |"
    ));
}
