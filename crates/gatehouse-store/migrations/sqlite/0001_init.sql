-- The initial schema: Melody Auth's 21 tables (snake_case) plus Gatehouse's own.
-- Every row is soft-deleted (deleted_at); uniqueness holds among live rows only.

-- OAuth clients. type: spa (public, PKCE), s2s (client credentials), web (confidential). redirect_uris is a JSON array.
CREATE TABLE apps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    client_id TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    use_system_mfa_config INTEGER NOT NULL DEFAULT 1 CHECK (use_system_mfa_config IN (0, 1)),
    require_email_mfa INTEGER NOT NULL DEFAULT 0 CHECK (require_email_mfa IN (0, 1)),
    require_otp_mfa INTEGER NOT NULL DEFAULT 0 CHECK (require_otp_mfa IN (0, 1)),
    require_sms_mfa INTEGER NOT NULL DEFAULT 0 CHECK (require_sms_mfa IN (0, 1)),
    allow_email_mfa_as_backup INTEGER NOT NULL DEFAULT 0 CHECK (allow_email_mfa_as_backup IN (0, 1)),
    rotate_refresh_tokens INTEGER NOT NULL DEFAULT 1 CHECK (rotate_refresh_tokens IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT,
    CHECK (type IN ('spa', 's2s', 'web'))
);
CREATE UNIQUE INDEX apps_client_id_key ON apps (client_id) WHERE deleted_at IS NULL;

-- People who sign in. Email is not unique (social accounts may share one); password users are found by email where social_account_id IS NULL.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    auth_id TEXT NOT NULL,
    email TEXT,
    password_hash TEXT,
    first_name TEXT,
    last_name TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    login_count INTEGER NOT NULL DEFAULT 0,
    locale TEXT NOT NULL DEFAULT 'en',
    otp_secret TEXT,
    mfa_types TEXT NOT NULL DEFAULT '',
    otp_verified INTEGER NOT NULL DEFAULT 0 CHECK (otp_verified IN (0, 1)),
    social_account_id TEXT,
    social_account_type TEXT,
    sms_phone_number TEXT,
    sms_phone_number_verified INTEGER NOT NULL DEFAULT 0 CHECK (sms_phone_number_verified IN (0, 1)),
    linked_auth_id TEXT,
    org_slug TEXT NOT NULL DEFAULT '',
    skip_passkey_enroll INTEGER NOT NULL DEFAULT 0 CHECK (skip_passkey_enroll IN (0, 1)),
    recovery_code_hash TEXT,
    invitation_token TEXT,
    invitation_expires_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX users_auth_id_key ON users (auth_id) WHERE deleted_at IS NULL;
CREATE INDEX users_email_idx ON users (email) WHERE deleted_at IS NULL;
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
CREATE INDEX users_social_account_type_social_account_id_idx ON users (social_account_type, social_account_id);

CREATE TABLE user_app_consents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL DEFAULT '["openid","profile","offline_access"]',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_app_consents_user_id_app_id_key ON user_app_consents (user_id, app_id) WHERE deleted_at IS NULL;

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX roles_name_key ON roles (name) WHERE deleted_at IS NULL;

CREATE TABLE user_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_roles_user_id_role_id_key ON user_roles (user_id, role_id) WHERE deleted_at IS NULL;
CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);

CREATE TABLE scopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX scopes_name_key ON scopes (name) WHERE deleted_at IS NULL;

CREATE TABLE app_scopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scope_id INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX app_scopes_app_id_scope_id_key ON app_scopes (app_id, scope_id) WHERE deleted_at IS NULL;
CREATE INDEX app_scopes_scope_id_idx ON app_scopes (scope_id);

CREATE TABLE scope_locales (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope_id INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    locale TEXT NOT NULL,
    value TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX scope_locales_scope_id_locale_key ON scope_locales (scope_id, locale) WHERE deleted_at IS NULL;

CREATE TABLE orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    company_logo_url TEXT NOT NULL DEFAULT '',
    company_email_logo_url TEXT NOT NULL DEFAULT '',
    font_family TEXT NOT NULL DEFAULT '',
    font_url TEXT NOT NULL DEFAULT '',
    layout_color TEXT NOT NULL DEFAULT '',
    label_color TEXT NOT NULL DEFAULT '',
    primary_button_color TEXT NOT NULL DEFAULT '',
    primary_button_label_color TEXT NOT NULL DEFAULT '',
    primary_button_border_color TEXT NOT NULL DEFAULT '',
    secondary_button_color TEXT NOT NULL DEFAULT '',
    secondary_button_label_color TEXT NOT NULL DEFAULT '',
    secondary_button_border_color TEXT NOT NULL DEFAULT '',
    critical_indicator_color TEXT NOT NULL DEFAULT '',
    email_sender_name TEXT NOT NULL DEFAULT '',
    terms_link TEXT NOT NULL DEFAULT '',
    privacy_policy_link TEXT NOT NULL DEFAULT '',
    allow_public_registration INTEGER NOT NULL DEFAULT 1 CHECK (allow_public_registration IN (0, 1)),
    only_use_for_branding_override INTEGER NOT NULL DEFAULT 0 CHECK (only_use_for_branding_override IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX orgs_name_key ON orgs (name) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug) WHERE deleted_at IS NULL;

CREATE TABLE user_orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_orgs_user_id_org_id_key ON user_orgs (user_id, org_id) WHERE deleted_at IS NULL;
CREATE INDEX user_orgs_org_id_idx ON user_orgs (org_id);

CREATE TABLE org_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX org_groups_org_id_name_key ON org_groups (org_id, name) WHERE deleted_at IS NULL;

CREATE TABLE user_org_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_group_id INTEGER NOT NULL REFERENCES org_groups(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_org_groups_user_id_org_group_id_key ON user_org_groups (user_id, org_group_id) WHERE deleted_at IS NULL;
CREATE INDEX user_org_groups_org_group_id_idx ON user_org_groups (org_group_id);

-- Several passkeys per user.
CREATE TABLE user_passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    counter INTEGER NOT NULL DEFAULT 0,
    name TEXT,
    transports TEXT,
    last_used_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_passkeys_credential_id_key ON user_passkeys (credential_id) WHERE deleted_at IS NULL;
CREATE INDEX user_passkeys_user_id_idx ON user_passkeys (user_id);

CREATE TABLE user_attributes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    include_in_sign_up_form INTEGER NOT NULL DEFAULT 0 CHECK (include_in_sign_up_form IN (0, 1)),
    required_in_sign_up_form INTEGER NOT NULL DEFAULT 0 CHECK (required_in_sign_up_form IN (0, 1)),
    include_in_id_token_body INTEGER NOT NULL DEFAULT 0 CHECK (include_in_id_token_body IN (0, 1)),
    include_in_user_info INTEGER NOT NULL DEFAULT 0 CHECK (include_in_user_info IN (0, 1)),
    locales TEXT NOT NULL DEFAULT '{}',
    is_unique INTEGER NOT NULL DEFAULT 0 CHECK (is_unique IN (0, 1)),
    validation_regex TEXT,
    validation_locales TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_attributes_name_key ON user_attributes (name) WHERE deleted_at IS NULL;

CREATE TABLE user_attribute_values (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_attribute_id INTEGER NOT NULL REFERENCES user_attributes(id) ON DELETE CASCADE,
    value TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX user_attribute_values_user_id_user_attribute_id_key ON user_attribute_values (user_id, user_attribute_id) WHERE deleted_at IS NULL;
CREATE INDEX user_attribute_values_user_attribute_id_value_idx ON user_attribute_values (user_attribute_id, value);

CREATE TABLE banners (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    locales TEXT NOT NULL DEFAULT '{}',
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);

CREATE TABLE app_banners (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    banner_id INTEGER NOT NULL REFERENCES banners(id) ON DELETE CASCADE,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX app_banners_banner_id_app_id_key ON app_banners (banner_id, app_id) WHERE deleted_at IS NULL;
CREATE INDEX app_banners_app_id_idx ON app_banners (app_id);

CREATE TABLE saml_idps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    user_id_attribute TEXT NOT NULL,
    email_attribute TEXT,
    first_name_attribute TEXT,
    last_name_attribute TEXT,
    metadata TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX saml_idps_name_key ON saml_idps (name) WHERE deleted_at IS NULL;

-- One-time codes are redacted before a row is written.
CREATE TABLE email_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    success INTEGER NOT NULL DEFAULT 0 CHECK (success IN (0, 1)),
    receiver TEXT NOT NULL,
    response TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE INDEX email_logs_created_at_idx ON email_logs (created_at);

CREATE TABLE sms_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    success INTEGER NOT NULL DEFAULT 0 CHECK (success IN (0, 1)),
    receiver TEXT NOT NULL,
    response TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE INDEX sms_logs_created_at_idx ON sms_logs (created_at);

CREATE TABLE sign_in_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ip TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE INDEX sign_in_logs_created_at_idx ON sign_in_logs (created_at);
CREATE INDEX sign_in_logs_user_id_idx ON sign_in_logs (user_id);

-- Token signing keys. The private key is AES-256-GCM sealed with the master key. Once retire_at has passed the key is neither published nor accepted.
CREATE TABLE signing_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kid TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    public_key BLOB NOT NULL,
    private_key_encrypted BLOB NOT NULL,
    retire_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT,
    CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA'))
);
CREATE UNIQUE INDEX signing_keys_kid_key ON signing_keys (kid) WHERE deleted_at IS NULL;

-- Refresh tokens, stored as SHA-256; a family is one chain of rotations.
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    family_id TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    session_id INTEGER,
    scope TEXT NOT NULL DEFAULT '',
    roles TEXT NOT NULL DEFAULT '[]',
    impersonated_by TEXT,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash) WHERE deleted_at IS NULL;
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);

-- Single sign-on sessions, one per browser, stored as the SHA-256 of the cookie value.
CREATE TABLE browser_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    ip TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX browser_sessions_session_hash_key ON browser_sessions (session_hash) WHERE deleted_at IS NULL;
CREATE INDEX browser_sessions_user_id_idx ON browser_sessions (user_id);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE INDEX recovery_codes_user_id_idx ON recovery_codes (user_id);

-- ePass connect apps; the secret is an AES key, so it is sealed with the master key rather than hashed.
CREATE TABLE connect_apps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    secret_encrypted BLOB NOT NULL,
    redirect_url TEXT NOT NULL,
    display_name TEXT,
    logo_url TEXT,
    redirect_patterns TEXT NOT NULL DEFAULT '[]',
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TEXT
);
CREATE UNIQUE INDEX connect_apps_name_key ON connect_apps (name) WHERE deleted_at IS NULL;
