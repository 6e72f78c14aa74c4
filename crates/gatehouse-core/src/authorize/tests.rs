use super::*;

#[test]
fn client_problems_keep_melodys_statuses_as_classes() {
    assert_eq!(ClientError::UnknownClient.class(), ErrorClass::NotFound);
    assert_eq!(
        ClientError::NotABrowserApp.class(),
        ErrorClass::Unauthenticated
    );
    assert_eq!(
        ClientError::UnregisteredRedirectUri.class(),
        ErrorClass::Unauthenticated
    );
    assert_eq!(ClientError::MissingClientId.class(), ErrorClass::Invalid);
    assert_eq!(ClientError::DisabledApp.class(), ErrorClass::Invalid);
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn params() -> AuthorizeParams {
    AuthorizeParams {
        client_id: Some("spa1".into()),
        redirect_uri: Some("https://app.example/Callback".into()),
        response_type: Some("code".into()),
        state: Some("xyz".into()),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some("S256".into()),
        scope: Some("openid profile openid read_user".into()),
        ..Default::default()
    }
}

struct Fixture {
    uris: Vec<String>,
    scopes: Vec<String>,
    locales: Vec<String>,
    blocked: Vec<String>,
}

fn fixture() -> Fixture {
    Fixture {
        uris: strings(&["https://app.example/Callback"]),
        scopes: strings(&["openid", "profile", "offline_access"]),
        locales: strings(&["en", "fr", "zh-CN"]),
        blocked: strings(&["change_org"]),
    }
}

fn facts(f: &Fixture, app_type: AppType) -> ClientFacts<'_> {
    ClientFacts {
        app_type,
        is_active: true,
        redirect_uris: &f.uris,
        scopes: &f.scopes,
    }
}

fn settings(f: &Fixture) -> AuthorizeSettings<'_> {
    AuthorizeSettings {
        allow_plain_pkce: false,
        embedded_origins: &[],
        supported_locales: &f.locales,
        policy_pages: true,
        spa_only: false,
        blocked_policies: &f.blocked,
        federated_providers: vec!["corp"],
        saml_sso: true,
    }
}

#[test]
fn a_good_request_is_accepted_with_scopes_narrowed() {
    let f = fixture();
    let p = params();
    let uri = check_client(&p, Some(facts(&f, AppType::Spa)), &settings(&f)).unwrap();
    let req = check_request(&p, facts(&f, AppType::Spa), uri, &settings(&f)).unwrap();
    assert_eq!(req.scopes, strings(&["openid", "profile"]));
    assert_eq!(req.response_mode, ResponseMode::Query);
    assert_eq!(req.locale, "en");
    assert!(req.challenge.is_some());
}

#[test]
fn redirect_uri_must_match_exactly() {
    let f = fixture();
    for uri in [
        "https://app.example/callback",
        "https://app.example/Callback/",
        "https://app.example/Callback?x=1",
        "https://app.example/Callback#",
        "https://evil.example/Callback",
    ] {
        let p = AuthorizeParams {
            redirect_uri: Some(uri.into()),
            ..params()
        };
        assert_eq!(
            check_client(&p, Some(facts(&f, AppType::Spa)), &settings(&f)),
            Err(ClientError::UnregisteredRedirectUri),
            "{uri}"
        );
    }
}

#[test]
fn client_problems_are_not_redirected() {
    let f = fixture();
    let p = params();
    assert_eq!(
        check_client(&p, None, &settings(&f)),
        Err(ClientError::UnknownClient)
    );
    assert_eq!(
        check_client(&p, Some(facts(&f, AppType::S2s)), &settings(&f)),
        Err(ClientError::NotABrowserApp)
    );
    // The embedded API takes SPA apps only: a `web` app's session could never be exchanged.
    let spa_only = AuthorizeSettings {
        spa_only: true,
        ..settings(&f)
    };
    assert_eq!(
        check_client(&p, Some(facts(&f, AppType::Web)), &spa_only),
        Err(ClientError::NotABrowserApp)
    );
    assert!(check_client(&p, Some(facts(&f, AppType::Web)), &settings(&f)).is_ok());
    assert!(check_client(&p, Some(facts(&f, AppType::Spa)), &spa_only).is_ok());
    let disabled = ClientFacts {
        is_active: false,
        ..facts(&f, AppType::Spa)
    };
    assert_eq!(
        check_client(&p, Some(disabled), &settings(&f)),
        Err(ClientError::DisabledApp)
    );
}

#[test]
fn spa_needs_pkce_and_web_may_omit_it() {
    let f = fixture();
    let p = AuthorizeParams {
        code_challenge: None,
        code_challenge_method: None,
        ..params()
    };
    let err = check_request(&p, facts(&f, AppType::Spa), "u", &settings(&f)).unwrap_err();
    assert_eq!(err.code, "invalid_request");
    let ok = check_request(&p, facts(&f, AppType::Web), "u", &settings(&f)).unwrap();
    assert_eq!(ok.challenge, None);
}

#[test]
fn later_problems_carry_oauth_codes() {
    let f = fixture();
    let s = settings(&f);
    let cases: Vec<(AuthorizeParams, &str)> = vec![
        (
            AuthorizeParams {
                response_type: Some("token".into()),
                ..params()
            },
            "unsupported_response_type",
        ),
        (
            AuthorizeParams {
                response_type: None,
                ..params()
            },
            "invalid_request",
        ),
        (
            AuthorizeParams {
                state: None,
                ..params()
            },
            "invalid_request",
        ),
        (
            AuthorizeParams {
                scope: Some("read_user".into()),
                ..params()
            },
            "invalid_scope",
        ),
        (
            AuthorizeParams {
                prompt: Some("none login".into()),
                ..params()
            },
            "invalid_request",
        ),
        (
            AuthorizeParams {
                max_age: Some("-1".into()),
                ..params()
            },
            "invalid_request",
        ),
        (
            AuthorizeParams {
                response_mode: Some("fragment".into()),
                ..params()
            },
            "invalid_request",
        ),
        (
            AuthorizeParams {
                policy: Some("change_org".into()),
                ..params()
            },
            "invalid_request",
        ),
        (
            AuthorizeParams {
                policy: Some("nope".into()),
                ..params()
            },
            "invalid_request",
        ),
        (
            AuthorizeParams {
                policy: Some("oidc_sso_other".into()),
                ..params()
            },
            "invalid_request",
        ),
    ];
    for (p, code) in cases {
        let err = check_request(&p, facts(&f, AppType::Spa), "u", &s).unwrap_err();
        assert_eq!(err.code, code, "{p:?}");
    }
}

#[test]
fn a_configured_provider_policy_is_kept() {
    let f = fixture();
    let p = AuthorizeParams {
        policy: Some("oidc_sso_corp".into()),
        ..params()
    };
    let req = check_request(&p, facts(&f, AppType::Spa), "u", &settings(&f)).unwrap();
    assert_eq!(
        req.policy.as_deref().and_then(federated_policy),
        Some("corp")
    );
}

#[test]
fn a_saml_policy_is_kept_only_while_saml_is_on() {
    let f = fixture();
    let p = AuthorizeParams {
        policy: Some("saml_sso_corp".into()),
        ..params()
    };
    let req = check_request(&p, facts(&f, AppType::Spa), "u", &settings(&f)).unwrap();
    assert_eq!(req.policy.as_deref(), Some("saml_sso_corp"));
    let off = AuthorizeSettings {
        saml_sso: false,
        ..settings(&f)
    };
    let err = check_request(&p, facts(&f, AppType::Spa), "u", &off).unwrap_err();
    assert_eq!(err.code, "invalid_request");
    let empty = AuthorizeParams {
        policy: Some("saml_sso_".into()),
        ..params()
    };
    assert!(check_request(&empty, facts(&f, AppType::Spa), "u", &settings(&f)).is_err());
}

#[test]
fn melody_extras_are_read() {
    let f = fixture();
    let p = AuthorizeParams {
        authorize_method: Some("popup".into()),
        locale: Some("ZH".into()),
        policy: Some("update_info".into()),
        org: Some("acme".into()),
        prompt: Some("login consent".into()),
        max_age: Some("60".into()),
        ..params()
    };
    let req = check_request(&p, facts(&f, AppType::Spa), "u", &settings(&f)).unwrap();
    assert_eq!(req.response_mode, ResponseMode::WebMessage);
    assert_eq!(req.locale, "zh-CN");
    assert_eq!(req.policy.as_deref(), Some("update_info"));
    assert_eq!(req.org.as_deref(), Some("acme"));
    assert!(req.prompt.login && req.prompt.consent && !req.prompt.none);
    assert_eq!(req.max_age, Some(60));
}

#[test]
fn locale_is_negotiated_ui_locales_then_locale_then_the_browser() {
    let supported = strings(&["en", "fr", "de", "ar"]);
    let browser = ["ar", "fr"];
    let pick = |ui, locale| negotiate_locale(ui, locale, &browser, &supported);
    assert_eq!(pick(Some("xx de"), Some("fr")), "de");
    assert_eq!(pick(Some("xx"), Some("fr")), "fr");
    assert_eq!(pick(None, Some("xx")), "ar");
    assert_eq!(pick(Some(""), None), "ar");
    assert_eq!(negotiate_locale(None, None, &["xx"], &supported), "en");
    // The request's own order: ui_locales first.
    let p = AuthorizeParams {
        ui_locales: Some("de-AT fr".into()),
        locale: Some("fr".into()),
        ..params()
    };
    let f = fixture();
    let mut s = settings(&f);
    let with_de = strings(&["en", "fr", "de"]);
    s.supported_locales = &with_de;
    let req = check_request(&p, facts(&f, AppType::Spa), "u", &s).unwrap();
    assert_eq!(req.locale, "de");
}

#[test]
fn locale_falls_back_to_the_first_supported() {
    let supported = strings(&["fr", "en"]);
    assert_eq!(pick_locale(["de"], &supported), "fr");
    assert_eq!(pick_locale(["en-GB"], &supported), "en");
    assert_eq!(pick_locale(["de", "EN"], &supported), "en");
}
