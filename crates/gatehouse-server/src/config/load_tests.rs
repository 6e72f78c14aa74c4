use super::*;

fn from_env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load(&ConfigSource {
        file: None,
        file_required: false,
        env: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    })
}

#[test]
fn defaults_are_valid() {
    let config = from_env(&[]).unwrap();
    assert_eq!(config.issuer, "http://127.0.0.1:8787");
    assert_eq!(config.s2s_access_token_expires_in, 3600);
}

#[test]
fn env_overrides_with_typed_values() {
    let config = from_env(&[
        ("GATEHOUSE_S2S_ACCESS_TOKEN_EXPIRES_IN", "60"),
        ("GATEHOUSE_ENABLE_SIGN_UP", "false"),
        ("GATEHOUSE_SUPPORTED_LOCALES", r#"["fr"]"#),
        ("GATEHOUSE_ISSUER", "https://id.example.com"),
        ("OTHER_VAR", "ignored"),
    ])
    .unwrap();
    assert_eq!(config.s2s_access_token_expires_in, 60);
    assert!(!config.enable_sign_up);
    assert_eq!(config.supported_locales, vec!["fr".to_string()]);
    assert_eq!(config.issuer, "https://id.example.com");
}

#[test]
fn unknown_env_key_is_named() {
    let err = from_env(&[("GATEHOUSE_NOPE", "1")]).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(err.to_string().contains("GATEHOUSE_NOPE"), "{err}");
}

#[test]
fn wrong_type_names_the_key() {
    let err = from_env(&[("GATEHOUSE_S2S_ACCESS_TOKEN_EXPIRES_IN", "soon")]).unwrap_err();
    assert!(
        err.to_string().contains("s2s_access_token_expires_in"),
        "{err}"
    );
}

#[test]
fn bad_values_name_the_key() {
    for (var, value, key) in [
        ("GATEHOUSE_ISSUER", "https://id.example.com/", "issuer"),
        ("GATEHOUSE_ISSUER", "id.example.com", "issuer"),
        ("GATEHOUSE_LISTEN", "nowhere", "listen"),
        (
            "GATEHOUSE_CORS_ALLOWED_ORIGINS",
            r#"["https://app.example.com/callback"]"#,
            "cors_allowed_origins",
        ),
        (
            "GATEHOUSE_EMBEDDED_AUTH_ORIGINS",
            r#"["app.example.com"]"#,
            "embedded_auth_origins",
        ),
        ("GATEHOUSE_SIGNING_ALGORITHM", "HS256", "signing_algorithm"),
        (
            "GATEHOUSE_SUPPORTED_LOCALES",
            r#"["xx"]"#,
            "supported_locales",
        ),
        (
            "GATEHOUSE_KEY_ROTATION_OVERLAP",
            "10",
            "key_rotation_overlap",
        ),
        ("GATEHOUSE_DATABASE_URL", "mysql://x", "database_url"),
        (
            "GATEHOUSE_DATABASE_URL",
            "postgres://127.0.0.1/test",
            "master_key",
        ),
        ("GATEHOUSE_MASTER_KEY", "short", "master_key"),
        (
            "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
            "short",
            "bootstrap_client_secret",
        ),
    ] {
        let err = from_env(&[(var, value)]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
            "{var}={value}: {err}"
        );
    }
}

#[test]
fn the_fapi_profile_for_every_app_needs_a_signing_algorithm_it_allows() {
    let err = from_env(&[("GATEHOUSE_FAPI2_SECURITY_PROFILE", "true")]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { key, .. } if key == "signing_algorithm"),
        "{err}"
    );
    let config = from_env(&[
        ("GATEHOUSE_FAPI2_SECURITY_PROFILE", "true"),
        ("GATEHOUSE_SIGNING_ALGORITHM", "ES256"),
    ])
    .unwrap();
    assert!(config.fapi2_security_profile);
}

#[test]
fn the_key_prepublish_time_fits_between_the_reload_interval_and_the_rotation_interval() {
    let refused = |vars: &[(&str, &str)]| {
        let err = from_env(vars).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "key_prepublish"),
            "{vars:?}: {err}"
        );
    };
    refused(&[("GATEHOUSE_KEY_ROTATION_INTERVAL", "3600")]);
    refused(&[
        ("GATEHOUSE_KEY_ROTATION_INTERVAL", "7776000"),
        ("GATEHOUSE_KEY_PREPUBLISH", "5"),
    ]);
    let config = from_env(&[("GATEHOUSE_KEY_ROTATION_INTERVAL", "7776000")]).unwrap();
    assert_eq!(
        (config.key_rotation_interval, config.key_prepublish),
        (7_776_000, 3600)
    );
    // Off (the default), the prepublish time is not looked at.
    assert!(from_env(&[("GATEHOUSE_KEY_PREPUBLISH", "0")]).is_ok());
}

#[test]
fn file_keys_are_checked_and_env_wins() {
    let dir = std::env::temp_dir().join(format!("gh-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gatehouse.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nenable_org = true\n").unwrap();
    let source = ConfigSource {
        file: Some(path.clone()),
        file_required: true,
        env: vec![("GATEHOUSE_LISTEN".into(), "127.0.0.1:9001".into())],
    };
    let config = load(&source).unwrap();
    assert_eq!(config.listen, "127.0.0.1:9001");
    assert!(config.enable_org);

    std::fs::write(&path, "[server]\nlisten = 1\n").unwrap();
    let err = load(&source).unwrap_err();
    assert!(err.to_string().contains("`server`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn info_lists_melody_names_and_no_secrets() {
    let config = Config {
        facebook_auth_client_secret: super::super::Secret::new("fb-secret"),
        ..Config::default()
    };
    let info = config.info_configs();
    assert_eq!(info["AUTH_SERVER_URL"], "http://127.0.0.1:8787");
    assert_eq!(info["ENABLE_ORG_GROUP"], true);
    assert!(info.contains_key("ACCOUNT_LOCKOUT_THRESHOLD"));
    assert!(!serde_json::to_string(&info).unwrap().contains("fb-secret"));
}

#[test]
fn typed_lists_are_parsed_once_at_load() {
    let config = from_env(&[
        ("GATEHOUSE_TRUSTED_PROXIES", r#"["10.0.0.1", "::1"]"#),
        ("GATEHOUSE_ENFORCE_ONE_MFA_ENROLLMENT", r#"["otp"]"#),
    ])
    .unwrap();
    assert_eq!(
        config.trusted_proxies,
        vec![
            "10.0.0.1".parse::<std::net::IpAddr>().unwrap(),
            "::1".parse().unwrap()
        ]
    );
    assert_eq!(
        config.enforce_one_mfa_enrollment,
        vec![gatehouse_core::signin::MfaType::Otp]
    );
    for (var, value, key, reason) in [
        (
            "GATEHOUSE_TRUSTED_PROXIES",
            r#"["10.0.0.300"]"#,
            "trusted_proxies[0]",
            "invalid IP address",
        ),
        (
            "GATEHOUSE_ENFORCE_ONE_MFA_ENROLLMENT",
            r#"["otp", "fax"]"#,
            "enforce_one_mfa_enrollment[1]",
            "unknown variant `fax`",
        ),
    ] {
        let err = from_env(&[(var, value)]).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains(reason), "{err}");
        assert!(err.contains(var), "{err}");
    }
}

#[test]
fn scim_groups_is_roles_or_org_groups_and_org_groups_need_organizations() {
    use gatehouse_core::scim::ScimGroups;
    assert_eq!(from_env(&[]).unwrap().scim_groups, ScimGroups::Roles);
    let err = from_env(&[("GATEHOUSE_SCIM_GROUPS", "org_groups")]).unwrap_err();
    assert!(err.to_string().contains("scim_groups"), "{err}");
    let config = from_env(&[
        ("GATEHOUSE_SCIM_GROUPS", "org_groups"),
        ("GATEHOUSE_ENABLE_ORG", "true"),
    ])
    .unwrap();
    assert_eq!(config.scim_groups, ScimGroups::OrgGroups);
    let err = from_env(&[("GATEHOUSE_SCIM_GROUPS", "teams")]).unwrap_err();
    assert!(err.to_string().contains("scim_groups"), "{err}");
}

#[test]
fn managed_service_connections_are_checked_against_their_urls() {
    const PG: &str = "postgres://db.example.com/gatehouse";
    let refused = |vars: &[(&str, &str)], key: &str| {
        let err = from_env(vars).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
            "{vars:?}: {err}"
        );
    };
    let master_key = "00".repeat(32);
    let master = ("GATEHOUSE_MASTER_KEY", master_key.as_str());
    // A CA file that the URL's sslmode would ignore, or given to SQLite.
    for url in [
        PG,
        "postgres://db.example.com/gatehouse?sslmode=require",
        "sqlite:x.db",
    ] {
        refused(
            &[
                ("GATEHOUSE_DATABASE_URL", url),
                ("GATEHOUSE_DATABASE_CA_FILE", "/etc/gatehouse/db-ca.pem"),
                master,
            ],
            "database_ca_file",
        );
    }
    let config = from_env(&[
        (
            "GATEHOUSE_DATABASE_URL",
            "postgres://db.example.com/gatehouse?sslmode=verify-full",
        ),
        ("GATEHOUSE_DATABASE_CA_FILE", "/etc/gatehouse/db-ca.pem"),
        ("GATEHOUSE_DATABASE_CONNECT_TIMEOUT", "3"),
        ("GATEHOUSE_DATABASE_STATEMENT_TIMEOUT", "30"),
        master,
    ])
    .unwrap();
    assert_eq!(config.database_connect_timeout, 3);
    assert_eq!(config.database_statement_timeout, 30);
    refused(
        &[("GATEHOUSE_DATABASE_STATEMENT_TIMEOUT", "30")],
        "database_statement_timeout",
    );
    refused(
        &[("GATEHOUSE_DATABASE_CONNECT_TIMEOUT", "0")],
        "database_connect_timeout",
    );
    refused(
        &[("GATEHOUSE_REDIS_CONNECT_TIMEOUT", "0")],
        "redis_connect_timeout",
    );
    // A Redis CA file needs TLS.
    refused(
        &[
            ("GATEHOUSE_REDIS_URL", "redis://cache.example.com:6379"),
            ("GATEHOUSE_REDIS_CA_FILE", "/etc/gatehouse/redis-ca.pem"),
        ],
        "redis_ca_file",
    );
    let config = from_env(&[
        ("GATEHOUSE_REDIS_URL", "rediss://cache.example.com:6380"),
        ("GATEHOUSE_REDIS_CA_FILE", "/etc/gatehouse/redis-ca.pem"),
        ("GATEHOUSE_REDIS_CONNECT_TIMEOUT", "5"),
    ])
    .unwrap();
    assert_eq!(config.redis_ca_file, "/etc/gatehouse/redis-ca.pem");
    assert_eq!(config.redis_connect_timeout, 5);
}
