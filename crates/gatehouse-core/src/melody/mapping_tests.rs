use super::*;

fn row(pairs: &[(&'static str, &str)]) -> SourceRow {
    SourceRow::new(pairs.iter().map(|&(c, v)| (c, Some(v.to_owned()))))
}

fn value<'a>(record: &'a Record, column: &str) -> &'a Cell {
    record
        .values
        .iter()
        .chain(record.key.iter())
        .find(|(c, _)| *c == column)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no column {column}"))
}

const BCRYPT: &str = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

#[test]
fn a_user_keeps_auth_id_bcrypt_hash_and_totp_secret_bytes() {
    let ids = IdMap::default();
    let mapped = user(
        &row(&[
            ("id", "7"),
            ("authId", "0b0c7c3e-1111-4222-8333-944455556666"),
            ("email", "ada@example.com"),
            ("password", BCRYPT),
            ("otpSecret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
            ("otpVerified", "1"),
            ("mfaTypes", "email,otp,bogus"),
            ("createdAt", "2024-03-01 10:20:30"),
            ("invitationToken", "abc"),
        ]),
        &ids,
    )
    .unwrap();
    let record = &mapped.record;
    assert_eq!(record.table, Table::Users);
    assert_eq!(
        record.key,
        vec![(
            "auth_id",
            Cell::text("0b0c7c3e-1111-4222-8333-944455556666")
        )]
    );
    assert_eq!(value(record, "password_hash"), &Cell::text(BCRYPT));
    assert_eq!(value(record, "mfa_types"), &Cell::text("otp,email"));
    assert_eq!(value(record, "otp_verified"), &Cell::Bool(true));
    assert_eq!(
        value(record, "invitation_token"),
        &Cell::text(sha256_hex(b"abc"))
    );
    assert_eq!(mapped.otp_secret.as_ref().map(Vec::len), Some(20));
    assert_eq!(record.created_at.as_deref(), Some("2024-03-01 10:20:30"));
    assert!(mapped.notes.is_empty());
    assert_eq!(
        record.other_keys.len(),
        1,
        "password users are unique by email"
    );
}

#[test]
fn values_that_cannot_carry_over_are_noted_and_the_user_still_imports() {
    let mapped = user(
        &row(&[
            ("id", "1"),
            ("authId", "a"),
            ("password", "plain-text"),
            ("otpSecret", "not base32!"),
            ("otpVerified", "1"),
            ("recoveryCodeHash", BCRYPT),
            ("linkedAuthId", "nobody"),
        ]),
        &IdMap::default(),
    )
    .unwrap();
    let fields: Vec<&str> = mapped.notes.iter().map(|n| n.field).collect();
    assert_eq!(
        fields,
        [
            "user.password",
            "user.otpSecret",
            "user.recoveryCodeHash",
            "user.linkedAuthId"
        ]
    );
    assert_eq!(value(&mapped.record, "password_hash"), &Cell::Text(None));
    assert_eq!(value(&mapped.record, "otp_verified"), &Cell::Bool(false));
    assert_eq!(value(&mapped.record, "linked_auth_id"), &Cell::Text(None));
}

#[test]
fn deleted_rows_are_skipped_with_the_reason() {
    let deleted = row(&[
        ("id", "3"),
        ("name", "editor"),
        ("deletedAt", "2024-01-01 00:00:00"),
    ]);
    assert_eq!(role(&deleted), Err(Skip::deleted()));
    assert!(role(&row(&[("id", "3"), ("name", "editor"), ("deletedAt", "")])).is_ok());
}

#[test]
fn an_s2s_secret_is_carried_as_its_sha256_and_redirect_uris_become_a_list() {
    let record = app(&row(&[
        ("id", "5"),
        ("name", "Billing"),
        ("type", "s2s"),
        ("clientId", "c1"),
        ("secret", "s3cret"),
        (
            "redirectUris",
            "https://a.example/cb, https://b.example/cb,",
        ),
        ("isActive", "1"),
    ]))
    .unwrap();
    assert_eq!(
        value(&record, "secret_hash"),
        &Cell::text(sha256_hex(b"s3cret"))
    );
    assert_eq!(
        value(&record, "redirect_uris"),
        &Cell::text(r#"["https://a.example/cb","https://b.example/cb"]"#)
    );
    assert_eq!(value(&record, "rotate_refresh_tokens"), &Cell::Bool(false));

    let spa = app(&row(&[
        ("id", "6"),
        ("name", "Web"),
        ("type", "spa"),
        ("clientId", "c2"),
        ("secret", "x"),
    ]))
    .unwrap();
    assert_eq!(
        value(&spa, "secret_hash"),
        &Cell::Text(None),
        "public apps hold no secret"
    );
    assert!(app(&row(&[
        ("id", "7"),
        ("name", "X"),
        ("type", "s2s"),
        ("clientId", "c3")
    ]))
    .is_err());
}

#[test]
fn melodys_seeded_admin_apps_are_recognised_by_id_and_type() {
    assert_eq!(
        admin_app(&row(&[("id", "1"), ("type", "spa")])),
        Some(AdminApp::Spa)
    );
    assert_eq!(
        admin_app(&row(&[("id", "2"), ("type", "s2s")])),
        Some(AdminApp::S2s)
    );
    assert_eq!(admin_app(&row(&[("id", "2"), ("type", "spa")])), None);
    assert_eq!(admin_app(&row(&[("id", "3"), ("type", "s2s")])), None);
}

#[test]
fn link_rows_resolve_through_the_id_map_or_are_skipped() {
    let mut ids = IdMap::default();
    ids.insert(USER, 10, 100);
    ids.insert(ROLE, 20, 200);
    let record = user_role(&row(&[("userId", "10"), ("roleId", "20")]), &ids).unwrap();
    assert_eq!(
        record.key,
        vec![("user_id", Cell::Int(100)), ("role_id", Cell::Int(200))]
    );
    assert_eq!(
        user_role(&row(&[("userId", "10"), ("roleId", "21")]), &ids),
        Err(Skip(
            "references a role that is not imported (deleted, skipped or missing)".into()
        ))
    );
    ids.mark_admin_app(1);
    assert!(app_scope(&row(&[("appId", "1"), ("scopeId", "2")]), &ids)
        .unwrap_err()
        .0
        .contains("admin-panel"));
}

#[test]
fn a_passkeys_cose_key_becomes_gatehouses_stored_form() {
    let mut ids = IdMap::default();
    ids.insert(USER, 1, 11);
    let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
    cose.extend([1u8; 32]);
    cose.extend([0x22, 0x58, 0x20]);
    cose.extend([2u8; 32]);
    let record = user_passkey(
        &row(&[
            ("userId", "1"),
            ("credentialId", "AQID"),
            ("publicKey", &STANDARD.encode(&cose)),
            ("counter", "4"),
        ]),
        &ids,
    )
    .unwrap();
    assert_eq!(record.key, vec![("credential_id", Cell::text("AQID"))]);
    let Cell::Text(Some(stored)) = value(&record, "public_key") else {
        panic!("no key");
    };
    assert!(stored.starts_with("es256:"), "{stored}");
    assert_eq!(value(&record, "counter"), &Cell::Int(4));
    assert!(user_passkey(
        &row(&[
            ("userId", "1"),
            ("credentialId", "AQID"),
            ("publicKey", "AAAA")
        ]),
        &ids
    )
    .is_err());
}

#[test]
fn consent_scopes_must_be_a_json_list() {
    let mut ids = IdMap::default();
    ids.insert(USER, 1, 11);
    ids.insert(APP, 2, 22);
    let ok = user_app_consent(
        &row(&[
            ("userId", "1"),
            ("appId", "2"),
            ("scopes", r#"["openid","profile"]"#),
        ]),
        &ids,
    )
    .unwrap();
    assert_eq!(value(&ok, "scopes"), &Cell::text(r#"["openid","profile"]"#));
    assert!(user_app_consent(
        &row(&[("userId", "1"), ("appId", "2"), ("scopes", "openid")]),
        &ids
    )
    .is_err());
}

#[test]
fn timestamps_and_flags_read_both_dialects() {
    assert_eq!(
        timestamp("2024-05-06 07:08:09").as_deref(),
        Some("2024-05-06 07:08:09")
    );
    assert_eq!(
        timestamp("2024-05-06T07:08:09.123Z").as_deref(),
        Some("2024-05-06 07:08:09")
    );
    assert_eq!(
        timestamp("2024-05-06 07:08:09+00").as_deref(),
        Some("2024-05-06 07:08:09")
    );
    assert_eq!(timestamp("yesterday"), None);
    let r = row(&[("a", "1"), ("b", "0"), ("c", "true"), ("d", "f")]);
    assert!(r.flag("a", false) && !r.flag("b", true) && r.flag("c", false) && !r.flag("d", true));
    assert!(r.flag("missing", true));
}

#[test]
fn an_org_is_found_by_slug_and_its_name_must_be_free() {
    let record = org(&row(&[
        ("id", "1"),
        ("name", "Acme"),
        ("slug", "acme"),
        ("layoutColor", "#fff"),
    ]))
    .unwrap();
    assert_eq!(record.key, vec![("slug", Cell::text("acme"))]);
    assert_eq!(record.other_keys, vec![vec![("name", Cell::text("Acme"))]]);
    assert_eq!(value(&record, "layout_color"), &Cell::text("#fff"));
    assert_eq!(
        value(&record, "allow_public_registration"),
        &Cell::Bool(true)
    );
}
