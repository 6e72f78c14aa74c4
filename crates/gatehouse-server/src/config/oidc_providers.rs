//! Generic OpenID Connect providers for federated sign-in: one `[[oidc_auth_providers]]` table
//! each, checked strictly at start-up.

use serde::{Deserialize, Serialize};

use super::load::ConfigError;
use super::Secret;

/// A generic OpenID Connect provider for federated sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcProviderConfig {
    pub name: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub token_endpoint_auth_method: String,
    pub discovery_url: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub scopes: Vec<String>,
    pub use_pkce: bool,
    pub enable_sign_in_button: bool,
    pub button_text: String,
    pub logo_url: String,
    /// The provider answers by POST (`response_mode=form_post`; Apple), at this path.
    #[serde(skip)]
    pub form_post_path: Option<&'static str>,
}

impl Default for OidcProviderConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            token_endpoint_auth_method: "client_secret_basic".into(),
            discovery_url: String::new(),
            issuer: String::new(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            jwks_uri: String::new(),
            scopes: ["openid", "profile", "email"].map(String::from).to_vec(),
            use_pkce: true,
            enable_sign_in_button: true,
            button_text: String::new(),
            logo_url: String::new(),
            form_post_path: None,
        }
    }
}

impl OidcProviderConfig {
    /// Google's code flow, when its client id and secret are set: an OpenID Connect provider
    /// named `Google` (Melody's `socialAccountType`).
    pub fn google(c: &super::Config) -> Option<Self> {
        if c.google_auth_client_secret.is_empty() {
            return None;
        }
        Self::google_identity(c)
    }

    /// Sign in with Apple, when its services id and client secret (the signed JWT) are set.
    pub fn apple(c: &super::Config) -> Option<Self> {
        if c.apple_auth_client_id.is_empty() || c.apple_auth_client_secret.is_empty() {
            return None;
        }
        Some(Self {
            name: "Apple".into(),
            client_id: c.apple_auth_client_id.clone(),
            client_secret: c.apple_auth_client_secret.clone(),
            token_endpoint_auth_method: "client_secret_post".into(),
            discovery_url: format!("{}/.well-known/openid-configuration", c.apple_auth_url),
            issuer: c.apple_auth_url.clone(),
            scopes: c
                .apple_auth_scope
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            // Apple documents no PKCE; the state and nonce bind its answer.
            use_pkce: false,
            form_post_path: Some("/identity/v1/authorize-apple"),
            ..Self::default()
        })
    }

    /// Google as Google Identity Services' ID tokens are checked: its client id is enough.
    pub fn google_identity(c: &super::Config) -> Option<Self> {
        if c.google_auth_client_id.is_empty() {
            return None;
        }
        Some(Self {
            name: "Google".into(),
            client_id: c.google_auth_client_id.clone(),
            client_secret: c.google_auth_client_secret.clone(),
            discovery_url: format!("{}/.well-known/openid-configuration", c.google_auth_url),
            issuer: c.google_auth_url.clone(),
            ..Self::default()
        })
    }

    /// Whether the endpoints come from the provider's discovery document.
    pub fn uses_discovery(&self) -> bool {
        !self.discovery_url.is_empty()
    }
}

/// Each field of a provider table: (name, default, meaning), for the reference page.
pub const PROVIDER_FIELDS: &[(&str, &str, &str)] = &[
    ("name", "required", "The provider's name: letters, digits, `-` and `_`, at most 50. It names the callback (`/identity/v1/authorize-oidc/<name>`), the `oidc_sso_<name>` policy and the users' `socialAccountType`; changing it orphans the users it made."),
    ("client_id", "required", "The client id this server has at the provider."),
    ("client_secret", "`\"\"`", "*secret.* The client secret; required unless `token_endpoint_auth_method` is `none`."),
    ("token_endpoint_auth_method", "`\"client_secret_basic\"`", "How the token request authenticates: `client_secret_basic`, `client_secret_post`, or `none` (a public client; needs `use_pkce`)."),
    ("discovery_url", "`\"\"`", "The provider's `/.well-known/openid-configuration`; read at first use. Leave empty to give `issuer`, `authorization_endpoint`, `token_endpoint` and `jwks_uri` instead."),
    ("issuer", "`\"\"`", "The `iss` its ID tokens carry. Required without `discovery_url`; with it, the document's issuer must equal this when set."),
    ("authorization_endpoint", "`\"\"`", "Where the browser is sent to sign in (without `discovery_url`)."),
    ("token_endpoint", "`\"\"`", "Where the code is exchanged (without `discovery_url`)."),
    ("jwks_uri", "`\"\"`", "The provider's signing keys (without `discovery_url`); ID tokens in RS256, ES256 or EdDSA."),
    ("scopes", "`[\"openid\", \"profile\", \"email\"]`", "Scopes asked for; must include `openid`."),
    ("use_pkce", "`true`", "Send a PKCE S256 challenge with the authorization request."),
    ("enable_sign_in_button", "`true`", "Show a button on the sign-in page; `false` leaves only the `oidc_sso_<name>` policy on `/authorize`."),
    ("button_text", "`\"\"`", "The button's label; empty shows \"Sign in with <name>\" in the page's language."),
    ("logo_url", "`\"\"`", "An image shown on the button (http(s))."),
];

const BUILT_IN: [&str; 5] = ["google", "facebook", "github", "discord", "apple"];
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// Checks every provider; errors name the provider's position and field.
pub fn validate(providers: &[OidcProviderConfig]) -> Result<(), ConfigError> {
    for (i, p) in providers.iter().enumerate() {
        let field = |name: &str| format!("oidc_auth_providers[{i}].{name}");
        let invalid = |name: &str, reason: String| Err(ConfigError::invalid(&field(name), reason));
        let name_ok = !p.name.is_empty()
            && p.name.len() <= 50
            && p.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return invalid(
                "name",
                format!("`{}` must be 1 to 50 letters, digits, `-` or `_`", p.name),
            );
        }
        let lower = p.name.to_ascii_lowercase();
        if BUILT_IN.contains(&lower.as_str()) || lower.starts_with("saml_") {
            return invalid(
                "name",
                format!(
                    "`{}` is the name of a built-in provider; choose another",
                    p.name
                ),
            );
        }
        if providers[..i]
            .iter()
            .any(|other| other.name.eq_ignore_ascii_case(&p.name))
        {
            return invalid("name", format!("`{}` is used by another provider", p.name));
        }
        if p.client_id.is_empty() {
            return invalid("client_id", "is required".into());
        }
        if !AUTH_METHODS.contains(&p.token_endpoint_auth_method.as_str()) {
            return invalid(
                "token_endpoint_auth_method",
                format!(
                    "`{}` is not one of {}",
                    p.token_endpoint_auth_method,
                    AUTH_METHODS.join(", ")
                ),
            );
        }
        let public = p.token_endpoint_auth_method == "none";
        if public && !p.use_pkce {
            return invalid(
                "use_pkce",
                "must be true when token_endpoint_auth_method is `none`".into(),
            );
        }
        if !public && p.client_secret.is_empty() {
            return invalid(
                "client_secret",
                "is required (or set token_endpoint_auth_method = \"none\" for a public client)"
                    .into(),
            );
        }
        let explicit = [
            ("issuer", &p.issuer),
            ("authorization_endpoint", &p.authorization_endpoint),
            ("token_endpoint", &p.token_endpoint),
            ("jwks_uri", &p.jwks_uri),
        ];
        if p.uses_discovery() {
            check_url(&field("discovery_url"), &p.discovery_url)?;
            if let Some((name, _)) = explicit[1..].iter().find(|(_, v)| !v.is_empty()) {
                return invalid(
                    name,
                    "comes from discovery_url; give one or the other".into(),
                );
            }
        } else {
            for (name, value) in explicit {
                if value.is_empty() {
                    return invalid(name, "is required when discovery_url is not set".into());
                }
            }
        }
        for (name, value) in explicit {
            if !value.is_empty() {
                check_url(&field(name), value)?;
            }
        }
        if !p.logo_url.is_empty() {
            check_url(&field("logo_url"), &p.logo_url)?;
        }
        if !p.scopes.iter().any(|s| s == "openid") {
            return invalid("scopes", "must include `openid`".into());
        }
        if let Some(bad) = p
            .scopes
            .iter()
            .find(|s| s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"'))
        {
            return invalid("scopes", format!("`{bad}` is not a scope name"));
        }
    }
    Ok(())
}

/// The built-in code-flow providers: a client id needs its secret, and their URLs are https.
pub fn validate_social(c: &super::Config) -> Result<(), ConfigError> {
    for (id, secret, secret_key) in [
        (
            &c.github_auth_client_id,
            &c.github_auth_client_secret,
            "github_auth_client_secret",
        ),
        (
            &c.discord_auth_client_id,
            &c.discord_auth_client_secret,
            "discord_auth_client_secret",
        ),
    ] {
        if !id.is_empty() && secret.is_empty() {
            return Err(ConfigError::invalid(
                secret_key,
                "is required with its client id",
            ));
        }
    }
    if c.google_auth_client_id.is_empty() && !c.google_auth_client_secret.is_empty() {
        return Err(ConfigError::invalid(
            "google_auth_client_id",
            "is required with google_auth_client_secret",
        ));
    }
    for (key, url) in [
        ("github_auth_url", &c.github_auth_url),
        ("github_api_url", &c.github_api_url),
        ("discord_api_url", &c.discord_api_url),
        ("google_auth_url", &c.google_auth_url),
        ("apple_auth_url", &c.apple_auth_url),
        ("facebook_graph_url", &c.facebook_graph_url),
    ] {
        check_url(key, url)?;
    }
    Ok(())
}

/// An https URL, or http to this machine only (a provider run next to the server).
fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Err(ConfigError::invalid(key, format!("`{url}` is not a URL")));
    };
    let loopback = matches!(
        parsed.host(),
        Some(
            url::Host::Domain("localhost")
                | url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST)
                | url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST)
        )
    );
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(ConfigError::invalid(
            key,
            format!("`{url}` must be an https URL (http only for localhost)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(name: &str) -> OidcProviderConfig {
        OidcProviderConfig {
            name: name.into(),
            client_id: "client".into(),
            client_secret: Secret::new("secret"),
            issuer: "https://id.example.com".into(),
            authorization_endpoint: "https://id.example.com/authorize".into(),
            token_endpoint: "https://id.example.com/token".into(),
            jwks_uri: "https://id.example.com/jwks".into(),
            ..OidcProviderConfig::default()
        }
    }

    fn refused_field(providers: &[OidcProviderConfig]) -> String {
        match validate(providers) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn from_env(value: &str) -> Result<super::super::Config, ConfigError> {
        super::super::load(&super::super::ConfigSource {
            file: None,
            file_required: false,
            env: vec![("GATEHOUSE_OIDC_AUTH_PROVIDERS".into(), value.into())],
        })
    }

    #[test]
    fn the_environment_gives_the_whole_list_and_info_shows_only_names() {
        let config = from_env(
            r#"[{ name = "corp", client_id = "c", client_secret = "s3cret", discovery_url = "https://id.corp.example/.well-known/openid-configuration" }]"#,
        )
        .unwrap();
        let provider = &config.oidc_auth_providers[0];
        assert_eq!(provider.client_secret.expose(), "s3cret");
        assert!(provider.use_pkce && provider.enable_sign_in_button);
        let info = serde_json::to_string(&config.info_configs()).unwrap();
        assert!(info.contains(r#""OIDC_AUTH_PROVIDERS":["corp"]"#), "{info}");
        assert!(
            !info.contains("id.corp.example") && !info.contains("s3cret"),
            "{info}"
        );

        let err = from_env(r#"[{ name = "corp", client_id = "c", colour = "red" }]"#).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = from_env(
            r#"[{ name = "corp", client_id = "c", discovery_url = "https://x.example" }]"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                key: "oidc_auth_providers[0].client_secret".into(),
                env: "GATEHOUSE_OIDC_AUTH_PROVIDERS".into(),
                reason:
                    "is required (or set token_endpoint_auth_method = \"none\" for a public client)"
                        .into(),
            }
        );
    }

    #[test]
    fn a_complete_provider_passes_with_either_form() {
        let discovered = OidcProviderConfig {
            name: "corp".into(),
            client_id: "client".into(),
            client_secret: Secret::new("secret"),
            discovery_url: "http://127.0.0.1:9000/.well-known/openid-configuration".into(),
            ..OidcProviderConfig::default()
        };
        assert_eq!(validate(&[explicit("one"), discovered]), Ok(()));
    }

    #[test]
    fn each_mistake_names_its_field() {
        let mut cases: Vec<(OidcProviderConfig, &str)> = Vec::new();
        cases.push((explicit("has space"), "name"));
        cases.push((explicit("GitHub"), "name"));
        cases.push((explicit("SAML_corp"), "name"));
        let mut p = explicit("a");
        p.client_id.clear();
        cases.push((p, "client_id"));
        let mut p = explicit("a");
        p.client_secret = Secret::default();
        cases.push((p, "client_secret"));
        let mut p = explicit("a");
        p.token_endpoint_auth_method = "none".into();
        p.client_secret = Secret::default();
        p.use_pkce = false;
        cases.push((p, "use_pkce"));
        let mut p = explicit("a");
        p.jwks_uri.clear();
        cases.push((p, "jwks_uri"));
        let mut p = explicit("a");
        p.token_endpoint = "http://id.example.com/token".into();
        cases.push((p, "token_endpoint"));
        let mut p = explicit("a");
        p.discovery_url = "https://id.example.com/.well-known/openid-configuration".into();
        cases.push((p, "authorization_endpoint"));
        let mut p = explicit("a");
        p.scopes = vec!["email".into()];
        cases.push((p, "scopes"));
        for (provider, field) in cases {
            assert_eq!(
                refused_field(std::slice::from_ref(&provider)),
                format!("oidc_auth_providers[0].{field}"),
                "{provider:?}"
            );
        }
        assert_eq!(
            refused_field(&[explicit("corp"), explicit("Corp")]),
            "oidc_auth_providers[1].name"
        );
    }
}
