//! Every configuration key, declared once.

use std::collections::BTreeMap;
use std::net::IpAddr;

use gatehouse_core::scim::ScimGroups;
use gatehouse_core::signin::MfaType;
use serde::{Deserialize, Serialize};

use super::{OidcProviderConfig, Secret};

/// What the reference page says about one key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    pub section: &'static str,
    pub name: &'static str,
    pub doc: &'static str,
    /// The key's name in the `/info` document (Melody Auth's variable name), if it appears there.
    pub info: Option<&'static str>,
    pub secret: bool,
}

macro_rules! config_keys {
    ($(
        section $section:literal {
            $(
                #[doc = $doc:literal]
                $name:ident : $ty:ty = $default:expr $(, info = $info:literal)? $(, secret = $secret:literal)?;
            )*
        }
    )*) => {
        /// The whole configuration. Field names are the TOML keys.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Config {
            $($(
                #[doc = $doc]
                pub $name: $ty,
            )*)*
        }

        impl Default for Config {
            fn default() -> Self {
                Self { $($( $name: $default, )*)* }
            }
        }

        pub const KEYS: &[KeyDoc] = &[
            $($(
                KeyDoc {
                    section: $section,
                    name: stringify!($name),
                    doc: $doc.trim_ascii(),
                    info: config_keys!(@info $($info)?),
                    secret: config_keys!(@secret $($secret)?),
                },
            )*)*
        ];

        impl Config {
            /// The `{configs: …}` body of `GET /info`: every key that has an `/info` name.
            pub fn info_configs(&self) -> serde_json::Map<String, serde_json::Value> {
                let mut map = serde_json::Map::new();
                $($($(
                    map.insert(
                        $info.to_owned(),
                        serde_json::to_value(&self.$name).unwrap_or(serde_json::Value::Null),
                    );
                )?)*)*
                self.info_overrides(&mut map);
                map
            }
        }
    };
    (@info) => { None };
    (@info $info:literal) => { Some($info) };
    (@secret) => { false };
    (@secret $secret:literal) => { $secret };
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

config_keys! {
    section "Server" {
        /// Public base URL of this server: the token issuer and the base of every link it makes. No trailing slash.
        issuer: String = "http://127.0.0.1:8787".into(), info = "AUTH_SERVER_URL";
        /// Address and port to listen on.
        listen: String = "127.0.0.1:8787".into();
        /// `prod`, or `dev` (development: mail and SMS go to the dev receivers).
        environment: String = "prod".into(), info = "ENVIRONMENT";
        /// Folder for the embedded database and the generated master key.
        data_dir: String = "./data".into();
        /// Largest request body accepted, in bytes.
        max_body_bytes: usize = 64 * 1024;
        /// Serve Prometheus metrics at `/metrics`.
        metrics_enabled: bool = true;
        /// Bearer token `/metrics` asks for (`Authorization: Bearer <token>`). Empty: no token is asked for.
        metrics_token: Secret = Secret::default(), secret = true;
        /// Address and port of a separate listener for `/metrics` (for example `127.0.0.1:9090`, reachable only from inside). Empty: `/metrics` is served on `listen`.
        metrics_listen: String = String::new();
        /// Browser origins (`https://app.example.com`) whose scripts may call the token, userinfo, revoke and logout endpoints (CORS). Discovery and JWKS are open to every origin; the embedded auth origins are allowed too.
        cors_allowed_origins: Vec<String> = Vec::new();
        /// Let apps register `http:` redirect URIs to hosts other than loopback (`localhost`, `127.0.0.1`, `[::1]`). Off: only `https:`, loopback `http:` (RFC 8252 §7.3) and private-use schemes with a dot (`com.example.app:/cb`) are accepted.
        allow_http_redirect_uris: bool = false;
    }
    section "Logging" {
        /// Log filter: `error`, `warn`, `info`, `debug`, `trace`, `silent`, or a tracing directive such as `gatehouse=debug`.
        log_level: String = "info".into(), info = "LOG_LEVEL";
        /// `text` (human-readable) or `json` (one object per line).
        log_format: String = "text".into();
    }
    section "Storage" {
        /// Database URL: `sqlite:PATH` or `postgres://…`. Empty means the SQLite file `gatehouse.db` in `data_dir`. For PostgreSQL over TLS add `sslmode` to the URL: `?sslmode=require` encrypts without checking the server's certificate, `?sslmode=verify-full` also checks that it was signed by a trusted CA (the system's, or `database_ca_file`) for the host in the URL.
        database_url: Secret = Secret::default(), secret = true;
        /// PEM file of the CA certificate(s) that signed the PostgreSQL server's certificate (a managed service's CA bundle), trusted besides the system's. Needs `sslmode=verify-full` (or `verify-ca`) in `database_url`. Read at start; a missing or unreadable file stops the start.
        database_ca_file: String = String::new();
        /// Most database connections this instance opens. The embedded SQLite database closes all but one of them when it finds none in use (it looks every 2 s), so a server at rest holds one.
        database_max_connections: u32 = 8;
        /// Seconds a request waits for a database connection (a free one from the pool, or a new one: TCP, TLS and sign-in) before it fails. At start, an unreachable database stops the start after this long.
        database_connect_timeout: u64 = 10;
        /// Seconds PostgreSQL lets one statement run before cancelling it (its `statement_timeout`, set on each connection; migrations run without it). 0 leaves the server's own setting. A connection pooler that refuses start-up parameters needs 0 here and `ALTER ROLE … SET statement_timeout` instead.
        database_statement_timeout: u64 = 0;
        /// Redis URL for the shared cache: `redis://…`, or `rediss://…` over TLS (the server's certificate checked against the system's CAs, or `redis_ca_file`). Empty means an in-process cache.
        redis_url: Secret = Secret::default(), secret = true;
        /// PEM file of the CA certificate(s) that signed the Redis server's certificate, trusted instead of the system's. Needs a `rediss://` `redis_url`. Read at start; a missing or unreadable file stops the start.
        redis_ca_file: String = String::new();
        /// Seconds one attempt to connect to Redis (TCP, TLS and greeting) may take, and the longest a request waits for Redis while it is away (it then answers 503). At start one attempt is made, so a wrong URL or certificate stops the start at once; a connection lost later is made again in the background, at least every half second.
        redis_connect_timeout: u64 = 1;
        /// Prefix of every Redis key, so deployments can share a Redis server.
        redis_key_prefix: String = "gatehouse:".into();
        /// Seconds an instance may serve a client's app record (secret hash, scopes, active flag) from memory before reading it again.
        client_cache_ttl: u64 = 5;
        /// Seconds an instance may serve what userinfo shows of a user (account, roles, linked account, attributes) from memory. A change made through the same instance is seen at once; one made through another instance within this time. 0 reads the database on every request.
        user_cache_ttl: u64 = 5;
        /// Seconds an instance may trust its last reading of the shared deny-list (Redis) for an access token. A token revoked through this instance is refused here at once; one revoked through another instance, within this time. 0 asks Redis on every request. The in-process cache needs no such copy.
        revocation_check_ttl: u64 = 1;
    }
    section "Keys" {
        /// 32-byte key (64 hex characters or base64) that encrypts signing keys at rest. Required with PostgreSQL; with SQLite it is generated into `data_dir/master.key` when unset.
        master_key: Secret = Secret::default(), secret = true;
        /// Algorithm of newly made signing keys: `RS256`, `ES256` or `EdDSA`.
        signing_algorithm: String = "RS256".into();
        /// Seconds a rotated-out key stays published and accepted. At least the longest token lifetime.
        key_rotation_overlap: u64 = 86_400;
        /// Seconds between checks for keys rotated by another process or instance.
        keys_reload_interval: u64 = 10;
        /// Seconds between scheduled rotations of the signing keys (7776000 for 90 days), counted from when the signing key started signing. One instance makes each new key, however many run. 0 (the default) rotates only by hand (`gatehouse keys rotate`, the panel).
        key_rotation_interval: u64 = 0;
        /// Seconds before it starts signing that a scheduled key is published in the JWKS, so relying parties' cached key sets hold it before the first token it signs. At least `keys_reload_interval` and less than `key_rotation_interval`.
        key_prepublish: u64 = 3600;
    }
    section "Bootstrap" {
        /// Client id of the admin S2S app made on first start (holds `root`). Generated and printed once when unset.
        bootstrap_client_id: String = String::new();
        /// Secret of that app, at least 32 characters. Generated and printed once when unset.
        bootstrap_client_secret: Secret = Secret::default(), secret = true;
        /// Redirect URIs of the admin SPA app made on first start.
        bootstrap_admin_redirect_uris: Vec<String> = strings(&["http://localhost:3000/en/dashboard", "http://localhost:3000/fr/dashboard"]);
    }
    section "Token lifetimes (seconds)" {
        /// How long a browser has to finish signing in (sign-in, sign-up and consent pages).
        sign_in_expires_in: u64 = 1800;
        /// Authorization code lifetime.
        authorization_code_expires_in: u64 = 300, info = "AUTHORIZATION_CODE_EXPIRES_IN";
        /// How long a device code and its user code (device flow, RFC 8628) wait for the user.
        device_code_expires_in: u64 = 600;
        /// Seconds a device must wait between polls of the token endpoint; a faster poll is answered `slow_down`.
        device_code_interval: u64 = 5;
        /// Access tokens of browser apps.
        spa_access_token_expires_in: u64 = 1800, info = "SPA_ACCESS_TOKEN_EXPIRES_IN";
        /// Refresh tokens of browser apps.
        spa_refresh_token_expires_in: u64 = 604_800, info = "SPA_REFRESH_TOKEN_EXPIRES_IN";
        /// Access tokens of S2S apps (client credentials).
        s2s_access_token_expires_in: u64 = 3600, info = "S2S_ACCESS_TOKEN_EXPIRES_IN";
        /// ID tokens.
        id_token_expires_in: u64 = 1800, info = "ID_TOKEN_EXPIRES_IN";
        /// Idle lifetime of the browser sign-in session; 0 turns single sign-on off.
        server_session_expires_in: u64 = 1800, info = "SERVER_SESSION_EXPIRES_IN";
        /// Refresh tokens minted for impersonation.
        impersonation_refresh_token_expires_in: u64 = 1800;
        /// Email verification codes.
        email_verification_code_expires_in: u64 = 7200;
        /// Password reset codes.
        password_reset_code_expires_in: u64 = 7200;
        /// Change-email codes.
        change_email_code_expires_in: u64 = 7200;
        /// Email MFA codes.
        email_mfa_code_expires_in: u64 = 300;
        /// SMS MFA codes.
        sms_mfa_code_expires_in: u64 = 300;
        /// Invitations.
        invitation_expires_in: u64 = 604_800;
        /// Passkey enrollment and verification challenges.
        passkey_challenge_expires_in: u64 = 300;
        /// PKCE verifiers used toward external OIDC providers.
        oidc_code_verifier_expires_in: u64 = 300;
        /// How long "remember this device" skips MFA.
        mfa_remember_device_expires_in: u64 = 2_592_000;
    }
    section "Branding and locales" {
        /// Logo shown on the sign-in pages.
        company_logo_url: String = String::new(), info = "COMPANY_LOGO_URL";
        /// Logo used in emails.
        company_email_logo_url: String = String::new(), info = "COMPANY_EMAIL_LOGO_URL";
        /// Sender name of emails.
        email_sender_name: String = "Gatehouse".into(), info = "EMAIL_SENDER_NAME";
        /// Terms of service link shown on sign-up.
        terms_link: String = String::new(), info = "TERMS_LINK";
        /// Privacy policy link shown on sign-up.
        privacy_policy_link: String = String::new(), info = "PRIVACY_POLICY_LINK";
        /// Locales offered, from `en`, `fr`, `zh-CN`, `de`, `es`, `pt-BR`, `it`, `ja`, `ko`, `ru`, `ar`, `he` (`ar` and `he` are laid out right to left); the first is the fallback. A sign-in's language is the first offered one of its `ui_locales`, its `locale`, the language the browser picked last on a page, then the browser's `Accept-Language`.
        supported_locales: Vec<String> = strings(&crate::i18n::TAGS), info = "SUPPORTED_LOCALES";
        /// Show the locale selector (hidden anyway with one locale).
        enable_locale_selector: bool = true, info = "ENABLE_LOCALE_SELECTOR";
        /// Font family of the pages.
        font_family: String = "system-ui, sans-serif".into();
        /// Stylesheet URL for the font (`https:`; empty: none, nothing is loaded from elsewhere). The pages' Content-Security-Policy allows styles from this URL's origin only.
        font_url: String = String::new();
        /// Hosts an organization's `fontUrl` may load its stylesheet from, besides `font_url`'s host; while a font stylesheet is in use the pages may load font files from these hosts (and from the stylesheet's own).
        font_hosts: Vec<String> = strings(&["fonts.googleapis.com", "fonts.gstatic.com"]);
        /// Page layout colour.
        layout_color: String = "#f4f6f8".into();
        /// Label colour.
        label_color: String = "#1f2937".into();
        /// Primary button colour.
        primary_button_color: String = "#1f2937".into();
        /// Primary button label colour.
        primary_button_label_color: String = "#ffffff".into();
        /// Primary button border colour.
        primary_button_border_color: String = "#1f2937".into();
        /// Secondary button colour.
        secondary_button_color: String = "#ffffff".into();
        /// Secondary button label colour.
        secondary_button_label_color: String = "#1f2937".into();
        /// Secondary button border colour.
        secondary_button_border_color: String = "#d1d5db".into();
        /// Critical indicator (errors) colour.
        critical_indicator_color: String = "#b91c1c".into();
    }
    section "Passwords" {
        /// Argon2id memory cost in KiB (OWASP: 19456).
        password_hash_memory_kib: u32 = 19_456;
        /// Argon2id iterations (OWASP: 2).
        password_hash_iterations: u32 = 2;
        /// Argon2id lanes.
        password_hash_parallelism: u32 = 1;
        /// Password hashes computed at once; more wait their turn. 0 = one per CPU core.
        password_hash_concurrency: usize = 0;
    }
    section "Sign-in features" {
        /// Allow sign-up.
        enable_sign_up: bool = true, info = "ENABLE_SIGN_UP";
        /// Allow email + password sign-in.
        enable_password_sign_in: bool = true, info = "ENABLE_PASSWORD_SIGN_IN";
        /// Allow password reset.
        enable_password_reset: bool = true, info = "ENABLE_PASSWORD_RESET";
        /// Ask for first and last names.
        enable_names: bool = true, info = "ENABLE_NAMES";
        /// Make names required when asked.
        names_is_required: bool = false, info = "NAMES_IS_REQUIRED";
        /// Ask users to consent to each app's scopes.
        enable_user_app_consent: bool = true, info = "ENABLE_USER_APP_CONSENT";
        /// Send a verification code after sign-up.
        enable_email_verification: bool = true, info = "ENABLE_EMAIL_VERIFICATION";
        /// Send a welcome email instead of a verification code.
        replace_email_verification_with_welcome_email: bool = false, info = "REPLACE_EMAIL_VERIFICATION_WITH_WELCOME_EMAIL";
        /// Organizations.
        enable_org: bool = false, info = "ENABLE_ORG";
        /// Organization groups (with `enable_org`).
        enable_org_group: bool = true, info = "ENABLE_ORG_GROUP";
        /// End each sign-in of a user who belongs to an organization with the choice of which one is active (`/identity/v1/view/switch-org`, the embedded API's `user-orgs`).
        allow_user_switch_org_on_sign_in: bool = false, info = "ALLOW_USER_SWITCH_ORG_ON_SIGN_IN";
        /// Custom user attributes.
        enable_user_attribute: bool = false, info = "ENABLE_USER_ATTRIBUTE";
        /// Policies that cannot be started through `/authorize`.
        blocked_policies: Vec<String> = strings(&["change_org"]), info = "BLOCKED_POLICIES";
        /// Sign in with an emailed code instead of a password (turns password sign-in, sign-up, reset, passkeys and recovery codes off).
        enable_passwordless_sign_in: bool = false, info = "ENABLE_PASSWORDLESS_SIGN_IN";
        /// Passwordless sign-in sends a magic link instead of a code.
        use_passwordless_as_magic_link: bool = false, info = "USE_PASSWORDLESS_AS_MAGIC_LINK";
        /// Origins allowed to use the embedded auth API (also accepted as redirect URIs).
        embedded_auth_origins: Vec<String> = Vec::new(), info = "EMBEDDED_AUTH_ORIGINS";
        /// SAML 2.0 sign-in as a service provider.
        enable_saml_sso_as_sp: bool = false, info = "ENABLE_SAML_SSO_AS_SP";
        /// App banners on the sign-in pages.
        enable_app_banner: bool = false, info = "ENABLE_APP_BANNER";
        /// Accept the `plain` PKCE method (not recommended).
        enable_plain_pkce_method: bool = false, info = "ENABLE_PLAIN_PKCE_METHOD";
    }
    section "Multi-factor authentication" {
        /// Require TOTP for every user.
        otp_mfa_is_required: bool = false, info = "OTP_MFA_IS_REQUIRED";
        /// Require email codes for every user.
        email_mfa_is_required: bool = false, info = "EMAIL_MFA_IS_REQUIRED";
        /// Require SMS codes for every user.
        sms_mfa_is_required: bool = false, info = "SMS_MFA_IS_REQUIRED";
        /// When nothing is required, make users enroll in one of these (`otp`, `email`, `sms`).
        enforce_one_mfa_enrollment: Vec<MfaType> = Vec::new(), info = "ENFORCE_ONE_MFA_ENROLLMENT";
        /// Let TOTP and SMS users fall back to an email code.
        allow_email_mfa_as_backup: bool = true, info = "ALLOW_EMAIL_MFA_AS_BACKUP";
        /// Offer passkey enrollment after sign-in.
        allow_passkey_enrollment: bool = false, info = "ALLOW_PASSKEY_ENROLLMENT";
        /// Recovery codes.
        enable_recovery_code: bool = false, info = "ENABLE_RECOVERY_CODE";
        /// "Remember this device" for MFA.
        enable_mfa_remember_device: bool = false, info = "ENABLE_MFA_REMEMBER_DEVICE";
        /// The issuer name authenticator apps show next to TOTP codes.
        otp_issuer: String = "Gatehouse".into();
        /// Country calling code assumed for SMS numbers entered without one.
        sms_country_code: String = "+1".into();
    }
    section "Brute-force limits" {
        /// A password reset unlocks a locked account.
        unlock_account_via_password_reset: bool = true, info = "UNLOCK_ACCOUNT_VIA_PASSWORD_RESET";
        /// A password reset ends the account's browser sessions and revokes its refresh tokens.
        end_sessions_on_password_reset: bool = true;
        /// Password reset emails per email and IP per day.
        password_reset_email_threshold: u32 = 5, info = "PASSWORD_RESET_EMAIL_THRESHOLD";
        /// Wrong reset codes per user and IP per 30 minutes.
        password_reset_code_threshold: u32 = 5, info = "PASSWORD_RESET_CODE_THRESHOLD";
        /// Wrong passwords per email and IP before the account is locked.
        account_lockout_threshold: u32 = 5, info = "ACCOUNT_LOCKOUT_THRESHOLD";
        /// How old (seconds) a browser's single sign-on session may be for changing the password or email, resetting MFA, managing passkeys or making new recovery codes without proving the account again; older sessions confirm the current password (or sign in again) first. 0 = a session is never enough.
        sensitive_action_max_auth_age: u64 = 300;
        /// Seconds a lockout lasts; 0 = until an admin unlocks it.
        account_lockout_expires_in: u64 = 86_400, info = "ACCOUNT_LOCKOUT_EXPIRES_IN";
        /// Email MFA sends per user and IP per 30 minutes.
        email_mfa_email_threshold: u32 = 10, info = "EMAIL_MFA_EMAIL_THRESHOLD";
        /// Change-email code sends per email per 30 minutes.
        change_email_email_threshold: u32 = 5, info = "CHANGE_EMAIL_EMAIL_THRESHOLD";
        /// Wrong change-email codes per user and IP per 30 minutes.
        change_email_code_threshold: u32 = 5, info = "CHANGE_EMAIL_CODE_THRESHOLD";
        /// Wrong email verification codes per user and IP per 30 minutes.
        email_verification_code_threshold: u32 = 5, info = "EMAIL_VERIFICATION_CODE_THRESHOLD";
        /// SMS sends per user and IP per 30 minutes.
        sms_mfa_message_threshold: u32 = 5, info = "SMS_MFA_MESSAGE_THRESHOLD";
        /// Wrong MFA codes (email, SMS, TOTP, passwordless) per user and IP per 30 minutes.
        mfa_code_verify_threshold: u32 = 10, info = "MFA_CODE_VERIFY_THRESHOLD";
        /// Wrong device codes typed on the `/device` page per IP per 15 minutes.
        device_user_code_threshold: u32 = 10;
        /// Wrong PKCE verifiers per user and IP per 30 minutes (unset: no limit).
        auth_code_verifier_threshold: Option<u32> = None, info = "AUTH_CODE_VERIFIER_THRESHOLD";
        /// Proxies (IP addresses) whose `X-Forwarded-For` is trusted for the client IP.
        trusted_proxies: Vec<IpAddr> = Vec::new();
    }
    section "Social sign-in" {
        /// Google client id (unset: Google off). Alone it shows Google Identity Services' button (its script from `accounts.google.com`, allowed by the page's CSP only then), whose ID token is posted to `/identity/v1/authorize-google`.
        google_auth_client_id: String = String::new(), info = "GOOGLE_AUTH_CLIENT_ID";
        /// Google client secret: with it, a "Sign in with Google" button runs the code flow (PKCE, nonce, ID token checked against Google's keys) through `<issuer>/identity/v1/authorize-oidc/Google`, the redirect URI to register at Google.
        google_auth_client_secret: Secret = Secret::default(), secret = true;
        /// Google's issuer, whose discovery document names its endpoints and keys.
        google_auth_url: String = "https://accounts.google.com".into();
        /// Facebook app id (unset: Facebook off).
        facebook_auth_client_id: String = String::new(), info = "FACEBOOK_AUTH_CLIENT_ID";
        /// Facebook app secret.
        facebook_auth_client_secret: Secret = Secret::default(), secret = true;
        /// Scopes asked of Facebook.
        facebook_auth_scope: String = "public_profile".into();
        /// Facebook's Graph API base URL (`/debug_token`, `/me`).
        facebook_graph_url: String = "https://graph.facebook.com".into();
        /// GitHub OAuth app client id (unset: GitHub off).
        github_auth_client_id: String = String::new(), info = "GITHUB_AUTH_CLIENT_ID";
        /// GitHub OAuth app secret.
        github_auth_client_secret: Secret = Secret::default(), secret = true;
        /// GitHub app name shown to users.
        github_auth_app_name: String = String::new(), info = "GITHUB_AUTH_APP_NAME";
        /// GitHub's web base URL (its `/login/oauth/authorize` and `/login/oauth/access_token`); register `<issuer>/identity/v1/authorize-github` as the callback there.
        github_auth_url: String = "https://github.com".into();
        /// GitHub's API base URL (`/user`, `/user/emails`; GitHub Enterprise: `https://<host>/api/v3`).
        github_api_url: String = "https://api.github.com".into();
        /// Discord client id (unset: Discord off).
        discord_auth_client_id: String = String::new(), info = "DISCORD_AUTH_CLIENT_ID";
        /// Discord client secret.
        discord_auth_client_secret: Secret = Secret::default(), secret = true;
        /// Scopes asked of Discord.
        discord_auth_scope: String = "identify email".into();
        /// Discord's base URL (`/oauth2/authorize`, `/api/oauth2/token`, `/api/users/@me`); register `<issuer>/identity/v1/authorize-discord` as the redirect there.
        discord_api_url: String = "https://discord.com".into();
        /// Apple services id (unset: Apple off).
        apple_auth_client_id: String = String::new(), info = "APPLE_AUTH_CLIENT_ID";
        /// Apple client secret (a signed JWT).
        apple_auth_client_secret: Secret = Secret::default(), secret = true;
        /// Scopes asked of Apple.
        apple_auth_scope: String = "name email".into();
        /// Apple's issuer, whose discovery document names its endpoints and keys. Apple answers by `form_post` to `<issuer>/identity/v1/authorize-apple`, the return URL to register there.
        apple_auth_url: String = "https://appleid.apple.com".into();
        /// Users from external providers skip local MFA (not recommended).
        external_sign_in_can_bypass_local_mfa: bool = false;
        /// A provider sign-in whose verified email is a verified password account's asks that account's password, then links the identity to it (off: the identity gets a user of its own).
        link_social_accounts_at_sign_in: bool = false;
        /// Generic OpenID Connect providers, each a `[[oidc_auth_providers]]` table (fields below, under "OpenID Connect providers"). From the environment the whole list is one TOML array of inline tables, which replaces the file's list: `GATEHOUSE_OIDC_AUTH_PROVIDERS='[{ name = "corp", client_id = "…", client_secret = "…", discovery_url = "https://id.corp.example/.well-known/openid-configuration" }]'`. `/info` lists only their names.
        oidc_auth_providers: Vec<OidcProviderConfig> = Vec::new(), info = "OIDC_AUTH_PROVIDERS";
    }
    section "Email" {
        /// `smtp`, `sendgrid`, `mailgun`, `brevo`, `resend` or `postmark`. Empty: the first one configured, in that order; none configured means no email is sent and the features that need it (verification, password reset, change email, invitations, passwordless sign-in) are off.
        email_provider_name: String = String::new(), info = "EMAIL_PROVIDER_NAME";
        /// SMTP server: `smtp://user:password@host:587` (STARTTLS), `smtps://…:465` (TLS) or `smtp://host:25?tls=none` (plain, local relays only).
        smtp_connection_string: Secret = Secret::default(), secret = true;
        /// Sender address of SMTP mail.
        smtp_sender_address: String = String::new();
        /// A PEM file of CA certificates to trust, besides the built-in public roots, for the SMTP server's certificate (a relay with a private CA).
        smtp_ca_certificate: String = String::new();
        /// SendGrid API key.
        sendgrid_api_key: Secret = Secret::default(), secret = true;
        /// Sender address of SendGrid mail.
        sendgrid_sender_address: String = String::new();
        /// SendGrid API base URL (`https://api.eu.sendgrid.com` for the EU region).
        sendgrid_api_url: String = "https://api.sendgrid.com".into();
        /// Mailgun API key.
        mailgun_api_key: Secret = Secret::default(), secret = true;
        /// Sender address of Mailgun mail; its domain is the Mailgun sending domain.
        mailgun_sender_address: String = String::new();
        /// Mailgun API base URL (`https://api.eu.mailgun.net` for the EU region).
        mailgun_api_url: String = "https://api.mailgun.net".into();
        /// Brevo API key.
        brevo_api_key: Secret = Secret::default(), secret = true;
        /// Sender address of Brevo mail.
        brevo_sender_address: String = String::new();
        /// Brevo API base URL.
        brevo_api_url: String = "https://api.brevo.com".into();
        /// Resend API key.
        resend_api_key: Secret = Secret::default(), secret = true;
        /// Sender address of Resend mail.
        resend_sender_address: String = String::new();
        /// Resend API base URL.
        resend_api_url: String = "https://api.resend.com".into();
        /// Postmark server token.
        postmark_api_key: Secret = Secret::default(), secret = true;
        /// Sender address of Postmark mail.
        postmark_sender_address: String = String::new();
        /// Postmark API base URL.
        postmark_api_url: String = "https://api.postmarkapp.com".into();
        /// With `environment = "dev"`: every email goes to this address instead of its receiver.
        dev_email_receiver: String = String::new();
        /// Seconds one delivery attempt (SMTP session or provider API call) may take.
        mail_timeout: u64 = 15;
    }
    section "SMS" {
        /// Twilio account SID (with the auth token and sender number: SMS through Twilio).
        twilio_account_id: String = String::new();
        /// Twilio auth token.
        twilio_auth_token: Secret = Secret::default(), secret = true;
        /// The Twilio number (E.164) messages come from.
        twilio_sender_number: String = String::new();
        /// Twilio API base URL.
        twilio_api_url: String = "https://api.twilio.com".into();
        /// Instead of Twilio: a URL that receives `POST {"to": "+1…", "text": "…"}` (JSON) for each SMS.
        sms_webhook_url: String = String::new();
        /// Sent to the webhook as `Authorization: Bearer <secret>`.
        sms_webhook_secret: Secret = Secret::default(), secret = true;
        /// With `environment = "dev"`: every SMS goes to this number instead.
        dev_sms_receiver: String = String::new();
    }
    section "Captcha" {
        /// `turnstile` (Cloudflare), `hcaptcha`, `recaptcha_v2` or `recaptcha_v3`; empty: no captcha.
        captcha_provider: String = String::new();
        /// The provider's site key (public, shown in the page).
        captcha_site_key: String = String::new();
        /// The provider's secret key, sent to its verify endpoint.
        captcha_secret_key: Secret = Secret::default(), secret = true;
        /// The verify endpoint; empty means the provider's own (`…/siteverify`).
        captcha_verify_url: String = String::new();
        /// reCAPTCHA v3: the lowest score accepted (0.0 to 1.0).
        captcha_min_score: f64 = 0.5;
        /// The forms that ask for it: `sign_in`, `sign_up`, `password_reset`.
        captcha_pages: Vec<String> = strings(&["sign_in", "sign_up", "password_reset"]);
    }
    section "Legacy integrations" {
        /// Serve the Simple-OAuth token API (`/token/get`, `/token/id`) for apps built on it.
        simple_oauth_enabled: bool = false;
        /// Accept `GET /token/get?id=…&password=…` (the original form). Turn off where proxies log query strings; `POST` with a form body always works.
        simple_oauth_allow_get: bool = true;
        /// Seconds a Simple-OAuth token is valid.
        simple_oauth_token_expires_in: u64 = 3600;
        /// Let `/token/get` answer users who have a second factor enrolled, or for whom the server requires one. Off: such users get `PFALSE`, because a token bought with the password alone would skip the second factor every sign-in asks of them. Turn on only for a legacy app that cannot be moved off Simple-OAuth, knowing that its tokens then prove only the password.
        simple_oauth_allow_without_mfa: bool = false;
    }
    section "Logs and S2S rules" {
        /// Keep a log of sent emails (codes redacted).
        enable_email_log: bool = false, info = "ENABLE_EMAIL_LOG";
        /// Keep a log of sent SMS (codes redacted).
        enable_sms_log: bool = false, info = "ENABLE_SMS_LOG";
        /// Keep a log of sign-ins.
        enable_sign_in_log: bool = false, info = "ENABLE_SIGN_IN_LOG";
        /// Days a sign-in log entry is kept before it is removed for good; 0 keeps them forever. One instance prunes, hourly, in small batches.
        sign_in_log_retention_days: u64 = 90;
        /// Days a sent-email log entry is kept; 0 keeps them forever.
        email_log_retention_days: u64 = 90;
        /// Days a sent-SMS log entry is kept; 0 keeps them forever.
        sms_log_retention_days: u64 = 90;
        /// Days an audit record (who changed what) is kept; 0 keeps them forever. Kept a year by default: the trail answers questions asked long after the change.
        audit_log_retention_days: u64 = 365;
        /// Roles whose holders may impersonate users (through the admin panel or the S2S API).
        impersonation_roles: Vec<String> = strings(&["super_admin"]);
        /// Roles only a `root` caller may assign. This role, every `impersonation_roles` and `admin_panel_roles` role and `super_admin` are protected: without `root` (in the panel, `super_admin`) no caller may create, rename to or from, delete, give or take away one, nor disable, delete, link, unlink or change the MFA or passkeys of a user who holds one.
        privileged_roles: Vec<String> = strings(&["super_admin"]);
        /// What SCIM Groups (`/scim/v2/Groups`) are: `roles`, or `org_groups` (organization groups, each named `org-slug/group name`; needs `enable_org` and `enable_org_group`). Either way the other kind cannot be reached through SCIM.
        scim_groups: ScimGroups = ScimGroups::Roles;
        /// Client ids of S2S apps whose `/api/v1` refusals are answered as plain text, the message alone, as Melody Auth answers them (same status). List the S2S app that Melody's admin panel signs in with: the panel shows an error body as it is, and a JSON one as `[object Object]`. Other callers, and refusals made before the token is known (a missing or invalid token), keep the JSON body.
        api_text_error_clients: Vec<String> = Vec::new();
        /// Whether apps created through the API or the panel without `rotateRefreshTokens` rotate their refresh tokens (RFC 9700). Set it to false where Melody's admin panel creates the apps: it cannot set the field, and Melody's SDKs keep the first refresh token, so with rotation every other page load fails. Self-registered clients (RFC 7591) always rotate.
        rotate_refresh_tokens_by_default: bool = true;
    }
    section "High-assurance clients" {
        /// Seconds a pushed authorization request's `request_uri` (RFC 9126) stays usable; it is used once.
        pushed_authorization_request_expires_in: u64 = 60;
        /// Every app must push its authorization requests to `/oauth2/v1/par` first (apps can also ask for it one by one).
        require_pushed_authorization_requests: bool = false;
        /// DPoP proofs (RFC 9449) must carry a nonce from this server (`use_dpop_nonce`, the `DPoP-Nonce` header), so a proof cannot be made ahead of time. Clients fetch one in a first round trip and keep it.
        dpop_nonce_required: bool = true;
        /// Seconds a DPoP nonce is handed out for; one stays accepted for twice this.
        dpop_nonce_lifetime: u64 = 300;
        /// Seconds an app's key set fetched from its `jwks_uri` is used before it is read again (an assertion signed by a key not in it makes it read again, at most every 30 seconds).
        client_jwks_cache_ttl: u64 = 300;
        /// Who may register an app at `/oauth2/v1/register` (RFC 7591): `off`, `token` (with an initial access token made through `POST /api/v1/registration-tokens`), or `open` (anyone).
        client_registration: String = "off".into();
        /// The scopes a self-registered app may hold; it gets those it asks for among them (all of them when it asks for none).
        client_registration_scopes: Vec<String> = strings(&["openid", "profile", "email", "offline_access"]);
        /// Seconds an initial access token for registration stays usable; it registers one app.
        client_registration_token_expires_in: u64 = 86_400;
        /// Hold every app to the FAPI 2.0 Security Profile (apps can also be held one by one): pushed requests, PKCE S256, `private_key_jwt`, DPoP-bound tokens, 60-second codes, no refresh-token rotation, no RS256. `signing_algorithm` must then be ES256 or EdDSA, and spa apps cannot sign users in.
        fapi2_security_profile: bool = false;
        /// Let the server call app-chosen URLs (`jwks_uri`, `backchannel_logout_uri`) on loopback, private and link-local addresses, and over plain http. Off: such addresses, and names resolving to them, are refused, so an app cannot make the server probe the inside network.
        outbound_allow_private_addresses: bool = false;
        /// Hosts whose https URLs are accepted as client ids (client ID metadata documents): the server reads the JSON document at such a `client_id` (at most 5 KiB, through the same guards as `jwks_uri`) and keeps it as an app. A host, `*.domain` for any name under it, or `*` for any public host; empty (the default) turns this off.
        client_id_metadata_document_hosts: Vec<String> = Vec::new();
        /// Seconds a client metadata document is used before it is read again.
        client_id_metadata_document_ttl: u64 = 300;
        /// Seconds between rounds of the back-channel logout sender on each instance: notices owed by other instances, retries, and sessions that ran out idle (a logout on this instance is sent at once).
        logout_notice_interval: u64 = 5;
    }
    section "Webhooks" {
        /// Let webhook endpoints be on loopback, private and link-local addresses, and over plain http. Off: such URLs, and names resolving to such addresses, are refused when an endpoint is registered and again at every delivery, so a webhook cannot make the server probe the inside network.
        webhook_allow_private_addresses: bool = false;
        /// Seconds before the first retry of a failed webhook delivery; each later retry waits twice as long (at most 6 hours), and a delivery is given up once its retries would pass a day.
        webhook_retry_base_seconds: u64 = 10;
        /// Seconds between rounds of the webhook sender on each instance: deliveries owed by other instances and retries (an event raised on this instance is sent at once).
        webhook_poll_interval: u64 = 5;
        /// Days a webhook delivery is kept in the delivery log once delivered or given up (its event goes with the last one); 0 keeps them forever. Pruned with the other logs.
        webhook_log_retention_days: u64 = 30;
    }
    section "Admin panel" {
        /// Roles besides `super_admin` whose holders may use the admin panel at `/admin` (they act without `root`: no `root` scope, and no change to a protected role or its holders; see `privileged_roles`).
        admin_panel_roles: Vec<String> = Vec::new();
        /// Seconds the one-time setup link printed at start-up (while no active user holds an admin role) stays valid.
        admin_setup_link_expires_in: u64 = 86400;
    }
}

impl Config {
    /// `/info` shows what Melody shows: the OIDC providers by name only.
    fn info_overrides(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
        let names: Vec<&str> = self
            .oidc_auth_providers
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        map.insert("OIDC_AUTH_PROVIDERS".into(), names.into());
    }
}

/// Each key's default rendered as TOML; keys whose default is unset are absent.
pub fn default_values() -> BTreeMap<&'static str, String> {
    let table = toml::Table::try_from(Config::default()).unwrap_or_default();
    KEYS.iter()
        .filter_map(|key| table.get(key.name).map(|v| (key.name, v.to_string())))
        .collect()
}
