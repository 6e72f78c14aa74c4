//! A Melody Auth database built the way Melody's migrations leave it (melody.md §10): quoted
//! camelCase columns, singular tables, smallint booleans, `deletedAt` soft deletion. The same
//! DDL and rows go into a PostgreSQL schema or a SQLite file (a D1 export).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::sync::OnceLock;

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

use crate::harness::{Isolation, POSTGRES_URL};

pub const ADA: &str = "6f1c2a9e-5b3d-4c7e-9a10-1b2c3d4e5f60";
pub const GRACE: &str = "7a2d3b0f-6c4e-4d8f-8b21-2c3d4e5f6071";
pub const ADA_EMAIL: &str = "ada@melody.example";
pub const GRACE_EMAIL: &str = "grace@melody.example";
pub const ADA_PASSWORD: &str = "Melody-Passw0rd!";
pub const GRACE_PASSWORD: &str = "Grace-Passw0rd!";
/// Grace's TOTP secret as Melody keeps it: base32 in plain text.
pub const GRACE_OTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const SHOP_CLIENT: &str = "melody-shop-client";
pub const BILLING_CLIENT: &str = "melody-billing-client";
pub const BILLING_SECRET: &str = "billing-secret-kept-in-plain-text-by-melody";
pub const CB: &str = "http://127.0.0.1:5173/cb";
pub const PASSKEY_ID: &str = "cGFzc2tleS1jcmVkZW50aWFs";

/// Where a Melody database lives: a URL for `--from` or a file for `--from-sqlite`.
pub enum MelodyDb {
    Postgres { url: String },
    Sqlite { path: std::path::PathBuf },
}

impl MelodyDb {
    /// An empty PostgreSQL schema beside the test's own (dropped with it by the sweep).
    pub async fn empty_postgres(isolation: &Isolation, name: &str) -> Self {
        let schema = format!("{}_{name}", isolation.redis_prefix.trim_end_matches(':'));
        let admin = sqlx::PgPool::connect(POSTGRES_URL).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        Self::Postgres {
            url: format!("{POSTGRES_URL}?options=-c%20search_path%3D{schema}"),
        }
    }

    pub fn empty_sqlite(isolation: &Isolation, name: &str) -> Self {
        Self::Sqlite {
            path: isolation.data_dir.join(format!("{name}.sqlite")),
        }
    }

    /// The import command's source arguments.
    pub fn args(&self) -> Vec<String> {
        match self {
            Self::Postgres { url } => vec!["--from".into(), url.clone()],
            Self::Sqlite { path } => vec!["--from-sqlite".into(), path.display().to_string()],
        }
    }

    pub async fn execute(&self, statements: &[String]) {
        /// Runs every statement on a pool of either type, then closes it.
        macro_rules! run_all {
            ($pool:expr) => {{
                let pool = $pool;
                for sql in statements {
                    sqlx::query(sql)
                        .execute(&pool)
                        .await
                        .unwrap_or_else(|e| panic!("{sql}: {e}"));
                }
                pool.close().await;
            }};
        }
        match self {
            Self::Postgres { url } => run_all!(sqlx::PgPool::connect(url).await.unwrap()),
            Self::Sqlite { path } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                run_all!(sqlx::SqlitePool::connect_with(options).await.unwrap())
            }
        }
    }

    /// Melody's tables with a bcrypt user, a TOTP user, a passkey, roles, an org and group,
    /// an attribute value, consents, an app with a banner, an S2S app and deleted rows.
    pub async fn build(isolation: &Isolation, postgres: bool) -> Self {
        let db = if postgres {
            Self::empty_postgres(isolation, "melody").await
        } else {
            Self::empty_sqlite(isolation, "melody")
        };
        let (ts, flag) = if postgres {
            ("TIMESTAMP", "SMALLINT")
        } else {
            ("DATETIME", "INTEGER")
        };
        let mut statements: Vec<String> = SCHEMA
            .iter()
            .map(|(table, columns)| {
                format!(
                    "CREATE TABLE \"{table}\" (\"id\" INTEGER PRIMARY KEY, {}, \"createdAt\" {ts} DEFAULT CURRENT_TIMESTAMP, \"updatedAt\" {ts} DEFAULT CURRENT_TIMESTAMP, \"deletedAt\" {ts})",
                    columns.replace("{flag}", flag)
                )
            })
            .collect();
        statements.extend(rows());
        db.execute(&statements).await;
        db
    }
}

/// Each table's columns besides `id` and the three timestamps.
const SCHEMA: [(&str, &str); 17] = [
    ("role", "\"name\" VARCHAR(50) NOT NULL, \"note\" TEXT NOT NULL DEFAULT ''"),
    ("scope", "\"name\" VARCHAR(50) NOT NULL, \"type\" VARCHAR(3) NOT NULL, \"note\" TEXT NOT NULL DEFAULT ''"),
    ("scope_locale", "\"scopeId\" INTEGER NOT NULL, \"locale\" VARCHAR(5) NOT NULL, \"value\" TEXT NOT NULL DEFAULT ''"),
    ("app", "\"name\" VARCHAR(50) NOT NULL, \"type\" VARCHAR(3) NOT NULL, \"clientId\" VARCHAR(64) NOT NULL, \"secret\" VARCHAR(128) NOT NULL, \"redirectUris\" TEXT NOT NULL DEFAULT '', \"isActive\" {flag} NOT NULL DEFAULT 1, \"useSystemMfaConfig\" {flag} NOT NULL DEFAULT 1, \"requireEmailMfa\" {flag} NOT NULL DEFAULT 0, \"requireOtpMfa\" {flag} NOT NULL DEFAULT 0, \"requireSmsMfa\" {flag} NOT NULL DEFAULT 0, \"allowEmailMfaAsBackup\" {flag} NOT NULL DEFAULT 0"),
    ("app_scope", "\"appId\" INTEGER NOT NULL, \"scopeId\" INTEGER NOT NULL"),
    ("org", "\"name\" VARCHAR(50) NOT NULL, \"slug\" VARCHAR(50) NOT NULL, \"companyLogoUrl\" VARCHAR(250) NOT NULL DEFAULT '', \"companyEmailLogoUrl\" TEXT NOT NULL DEFAULT '', \"fontFamily\" VARCHAR(50) NOT NULL DEFAULT '', \"fontUrl\" VARCHAR(250) NOT NULL DEFAULT '', \"layoutColor\" VARCHAR(20) NOT NULL DEFAULT '', \"labelColor\" VARCHAR(20) NOT NULL DEFAULT '', \"primaryButtonColor\" VARCHAR(20) NOT NULL DEFAULT '', \"primaryButtonLabelColor\" VARCHAR(20) NOT NULL DEFAULT '', \"primaryButtonBorderColor\" VARCHAR(20) NOT NULL DEFAULT '', \"secondaryButtonColor\" VARCHAR(20) NOT NULL DEFAULT '', \"secondaryButtonLabelColor\" VARCHAR(20) NOT NULL DEFAULT '', \"secondaryButtonBorderColor\" VARCHAR(20) NOT NULL DEFAULT '', \"criticalIndicatorColor\" VARCHAR(20) NOT NULL DEFAULT '', \"emailSenderName\" VARCHAR(20) NOT NULL DEFAULT '', \"termsLink\" VARCHAR(250) NOT NULL DEFAULT '', \"privacyPolicyLink\" VARCHAR(250) NOT NULL DEFAULT '', \"allowPublicRegistration\" {flag} NOT NULL DEFAULT 1, \"onlyUseForBrandingOverride\" {flag} NOT NULL DEFAULT 0"),
    ("org_group", "\"orgId\" INTEGER NOT NULL, \"name\" VARCHAR(50) NOT NULL"),
    ("user", "\"authId\" VARCHAR(36) NOT NULL, \"email\" VARCHAR(255), \"password\" VARCHAR(255), \"firstName\" VARCHAR(50), \"lastName\" VARCHAR(50), \"emailVerified\" {flag} NOT NULL DEFAULT 0, \"isActive\" {flag} NOT NULL DEFAULT 1, \"loginCount\" INTEGER NOT NULL DEFAULT 0, \"locale\" VARCHAR(5) NOT NULL DEFAULT 'en', \"otpSecret\" VARCHAR(255) NOT NULL DEFAULT '', \"mfaTypes\" VARCHAR(100) NOT NULL DEFAULT '', \"otpVerified\" {flag} NOT NULL DEFAULT 0, \"socialAccountId\" VARCHAR(255), \"socialAccountType\" VARCHAR(10), \"smsPhoneNumber\" VARCHAR(20), \"smsPhoneNumberVerified\" {flag} NOT NULL DEFAULT 0, \"linkedAuthId\" VARCHAR(36), \"orgSlug\" VARCHAR(50) NOT NULL DEFAULT '', \"skipPasskeyEnroll\" {flag} NOT NULL DEFAULT 0, \"recoveryCodeHash\" VARCHAR(100), \"invitationToken\" VARCHAR(255), \"invitationExpiresAt\" VARCHAR(19)"),
    ("user_role", "\"userId\" INTEGER NOT NULL, \"roleId\" INTEGER NOT NULL"),
    ("user_org", "\"userId\" INTEGER NOT NULL, \"orgId\" INTEGER NOT NULL"),
    ("user_org_group", "\"userId\" INTEGER NOT NULL, \"orgGroupId\" INTEGER NOT NULL"),
    ("user_passkey", "\"userId\" INTEGER NOT NULL, \"credentialId\" TEXT NOT NULL, \"publicKey\" TEXT NOT NULL, \"counter\" INTEGER NOT NULL DEFAULT 0"),
    ("user_attribute", "\"name\" VARCHAR(50) NOT NULL, \"includeInSignUpForm\" {flag} NOT NULL DEFAULT 0, \"requiredInSignUpForm\" {flag} NOT NULL DEFAULT 0, \"includeInIdTokenBody\" {flag} NOT NULL DEFAULT 0, \"includeInUserInfo\" {flag} NOT NULL DEFAULT 0, \"locales\" TEXT NOT NULL DEFAULT '', \"unique\" {flag} NOT NULL DEFAULT 0, \"validationRegex\" TEXT NOT NULL DEFAULT '', \"validationLocales\" TEXT NOT NULL DEFAULT ''"),
    ("user_attribute_value", "\"userId\" INTEGER NOT NULL, \"userAttributeId\" INTEGER NOT NULL, \"value\" TEXT NOT NULL DEFAULT ''"),
    ("user_app_consent", "\"userId\" INTEGER NOT NULL, \"appId\" INTEGER NOT NULL, \"scopes\" TEXT NOT NULL DEFAULT '[\"openid\",\"profile\",\"offline_access\"]'"),
    ("banner", "\"type\" VARCHAR(10) NOT NULL, \"text\" TEXT NOT NULL DEFAULT '', \"locales\" TEXT NOT NULL DEFAULT '', \"isActive\" {flag} NOT NULL DEFAULT 1"),
    ("app_banner", "\"bannerId\" INTEGER NOT NULL, \"appId\" INTEGER NOT NULL"),
];

/// Ada's passkey: a P-256 key made once per test process; Melody holds its public half.
pub fn passkey() -> &'static EcdsaKeyPair {
    static KEY: OnceLock<EcdsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap())
}

/// The passkey's ES256 COSE key (kty 2, alg -7, crv 1, x, y), as SimpleWebAuthn hands it to
/// Melody, in base64.
fn cose_public_key() -> String {
    let point = passkey().public_key().as_ref();
    let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
    cose.extend(&point[1..33]);
    cose.extend([0x22, 0x58, 0x20]);
    cose.extend(&point[33..65]);
    STANDARD.encode(cose)
}

fn rows() -> Vec<String> {
    // Melody hashes with bcrypt cost 12; 10 keeps the test quick and verifies the same way.
    let ada_hash = bcrypt::hash(ADA_PASSWORD, 10).unwrap();
    let grace_hash = bcrypt::hash(GRACE_PASSWORD, 10).unwrap();
    let recovery_hash = bcrypt::hash("ABCDEFGHIJKLMNOPQRSTUVWX", 4).unwrap();
    let credential = URL_SAFE_NO_PAD.encode(URL_SAFE_NO_PAD.decode(PASSKEY_ID).unwrap());
    let key = cose_public_key();
    vec![
        "INSERT INTO \"role\" (\"id\", \"name\", \"note\") VALUES (1, 'super_admin', ''), (2, 'editor', 'Edits articles')".into(),
        "INSERT INTO \"role\" (\"id\", \"name\", \"deletedAt\") VALUES (3, 'retired', '2024-06-01 00:00:00')".into(),
        "INSERT INTO \"scope\" (\"id\", \"name\", \"type\") VALUES (1, 'openid', 'spa'), (2, 'profile', 'spa'), (3, 'offline_access', 'spa'), (4, 'root', 's2s'), (5, 'read_user', 's2s')".into(),
        "INSERT INTO \"scope\" (\"id\", \"name\", \"type\", \"note\") VALUES (15, 'read_invoices', 's2s', 'Read invoices')".into(),
        "INSERT INTO \"scope_locale\" (\"id\", \"scopeId\", \"locale\", \"value\") VALUES (1, 15, 'fr', 'Lire les factures')".into(),
        "INSERT INTO \"app\" (\"id\", \"name\", \"type\", \"clientId\", \"secret\", \"redirectUris\") VALUES \
         (1, 'Admin Panel (SPA)', 'spa', 'melody-admin-spa', 'unused', 'http://localhost:3000/en/dashboard,http://localhost:3000/fr/dashboard'), \
         (2, 'Admin Panel (S2S)', 's2s', 'melody-admin-s2s', 'melody-admin-secret', '')".into(),
        format!("INSERT INTO \"app\" (\"id\", \"name\", \"type\", \"clientId\", \"secret\", \"redirectUris\") VALUES \
         (3, 'Shop', 'spa', '{SHOP_CLIENT}', 'unused-spa-secret', '{CB},http://localhost:5173/cb'), \
         (4, 'Billing', 's2s', '{BILLING_CLIENT}', '{BILLING_SECRET}', '')"),
        "INSERT INTO \"app\" (\"id\", \"name\", \"type\", \"clientId\", \"secret\", \"deletedAt\") VALUES (5, 'Gone', 's2s', 'melody-gone', 'x', '2024-06-01 00:00:00')".into(),
        "INSERT INTO \"app_scope\" (\"id\", \"appId\", \"scopeId\") VALUES (1, 1, 1), (2, 1, 2), (3, 1, 3), (4, 2, 4), (5, 3, 1), (6, 3, 2), (7, 3, 3), (8, 4, 5), (9, 4, 15)".into(),
        "INSERT INTO \"org\" (\"id\", \"name\", \"slug\", \"layoutColor\") VALUES (1, 'Acme', 'acme', '#123456')".into(),
        "INSERT INTO \"org_group\" (\"id\", \"orgId\", \"name\") VALUES (1, 1, 'Engineering')".into(),
        format!("INSERT INTO \"user\" (\"id\", \"authId\", \"email\", \"password\", \"firstName\", \"lastName\", \"emailVerified\", \"loginCount\", \"orgSlug\", \"createdAt\", \"updatedAt\") VALUES \
         (1, '{ADA}', '{ADA_EMAIL}', '{ada_hash}', 'Ada', 'Lovelace', 1, 4, 'acme', '2024-01-02 03:04:05', '2024-01-03 03:04:05')"),
        format!("INSERT INTO \"user\" (\"id\", \"authId\", \"email\", \"password\", \"firstName\", \"emailVerified\", \"otpSecret\", \"mfaTypes\", \"otpVerified\", \"recoveryCodeHash\", \"skipPasskeyEnroll\") VALUES \
         (2, '{GRACE}', '{GRACE_EMAIL}', '{grace_hash}', 'Grace', 1, '{GRACE_OTP}', 'otp', 1, '{recovery_hash}', 1)"),
        "INSERT INTO \"user\" (\"id\", \"authId\", \"email\", \"deletedAt\") VALUES (3, '8b3e4c1a-7d5f-4e9a-9c32-3d4e5f607182', 'gone@melody.example', '2024-06-01 00:00:00')".into(),
        "INSERT INTO \"user_role\" (\"id\", \"userId\", \"roleId\") VALUES (1, 1, 2), (2, 2, 1), (3, 3, 2)".into(),
        "INSERT INTO \"user_org\" (\"id\", \"userId\", \"orgId\") VALUES (1, 1, 1)".into(),
        "INSERT INTO \"user_org_group\" (\"id\", \"userId\", \"orgGroupId\") VALUES (1, 1, 1)".into(),
        format!("INSERT INTO \"user_passkey\" (\"id\", \"userId\", \"credentialId\", \"publicKey\", \"counter\") VALUES (1, 1, '{credential}', '{key}', 3)"),
        "INSERT INTO \"user_attribute\" (\"id\", \"name\", \"includeInUserInfo\", \"locales\") VALUES (1, 'department', 1, '{\"en\":\"Department\"}')".into(),
        "INSERT INTO \"user_attribute_value\" (\"id\", \"userId\", \"userAttributeId\", \"value\") VALUES (1, 1, 1, 'Research')".into(),
        "INSERT INTO \"user_app_consent\" (\"id\", \"userId\", \"appId\", \"scopes\") VALUES (1, 1, 3, '[\"openid\",\"profile\",\"offline_access\"]'), (2, 1, 1, '[\"openid\",\"profile\",\"offline_access\"]')".into(),
        "INSERT INTO \"banner\" (\"id\", \"type\", \"text\", \"locales\") VALUES (1, 'info', 'Maintenance on Sunday', '{\"fr\":\"Maintenance dimanche\"}')".into(),
        "INSERT INTO \"app_banner\" (\"id\", \"bannerId\", \"appId\") VALUES (1, 1, 3)".into(),
    ]
}
