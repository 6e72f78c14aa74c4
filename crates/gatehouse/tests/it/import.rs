//! `gatehouse import melody`: a Melody-shaped database (PostgreSQL, or a SQLite D1 export) is
//! imported by the real binary into a running server's database; the users sign in with their
//! Melody passwords and TOTP, the S2S app keeps its secret, the S2S API shows what came along.

use serde_json::{json, Value};

use crate::cli::gatehouse;
use crate::flow::*;
use crate::harness::{backend_tests, call, jwt_part, Backend, Isolation, TestApp};
use crate::melody_fixture::*;

const EMBEDDED_ORIGIN: &str = "http://127.0.0.1:5173";

pub(crate) struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    pub(crate) fn report(&self) -> Value {
        assert!(self.ok, "import failed: {}{}", self.stdout, self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

pub(crate) fn import(isolation: &Isolation, source: &[String], extra: &[&str]) -> Run {
    let output = gatehouse()
        .envs(isolation.env())
        .args(["import", "melody"])
        .args(source)
        .args(extra)
        .output()
        .unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

fn counts(report: &Value, name: &str) -> (u64, u64, u64) {
    let t = table(report, name);
    (
        t["read"].as_u64().unwrap(),
        t["imported"].as_u64().unwrap(),
        t["alreadyPresent"].as_u64().unwrap(),
    )
}

/// The stored password hash of a user, read from the database.
async fn stored_password_hash(isolation: &Isolation, auth_id: &str) -> String {
    const SQL: &str = "SELECT password_hash FROM users WHERE auth_id = $1";
    let url = &isolation.database_url;
    /// Reads the hash on a pool of either type, then closes it.
    macro_rules! read_hash {
        ($pool:expr) => {{
            let pool = $pool;
            let (hash,): (String,) = sqlx::query_as(SQL)
                .bind(auth_id)
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            hash
        }};
    }
    if url.starts_with("sqlite:") {
        read_hash!(sqlx::SqlitePool::connect(url).await.unwrap())
    } else {
        read_hash!(sqlx::PgPool::connect(url).await.unwrap())
    }
}

/// The dashboard's stored totals (users, with TOTP, with email MFA, with passkeys, sign-ups
/// summed over every day) and the same counted row by row: an import must keep them equal
/// (on PostgreSQL it counts once at the end instead of per row).
async fn stored_and_recounted_totals(isolation: &Isolation) -> ([i64; 5], [i64; 5]) {
    const STORED: &str = "SELECT \
        (SELECT count FROM user_counts WHERE name = 'users'), \
        (SELECT count FROM user_counts WHERE name = 'users_with_otp'), \
        (SELECT count FROM user_counts WHERE name = 'users_with_email_mfa'), \
        (SELECT count FROM user_counts WHERE name = 'users_with_passkeys'), \
        (SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM daily_counts WHERE name = 'sign_ups')";
    const RECOUNTED: &str = "SELECT \
        (SELECT COUNT(*) FROM users WHERE deleted_at IS NULL), \
        (SELECT COUNT(*) FROM users WHERE deleted_at IS NULL AND ',' || COALESCE(mfa_types, '') || ',' LIKE '%,otp,%'), \
        (SELECT COUNT(*) FROM users WHERE deleted_at IS NULL AND ',' || COALESCE(mfa_types, '') || ',' LIKE '%,email,%'), \
        (SELECT COUNT(DISTINCT p.user_id) FROM user_passkeys p JOIN users u ON u.id = p.user_id \
         WHERE p.deleted_at IS NULL AND u.deleted_at IS NULL), \
        (SELECT COUNT(*) FROM users)";
    type Five = (i64, i64, i64, i64, i64);
    macro_rules! read_both {
        ($pool:expr) => {{
            let pool = $pool;
            let stored: Five = sqlx::query_as(STORED).fetch_one(&pool).await.unwrap();
            let recounted: Five = sqlx::query_as(RECOUNTED).fetch_one(&pool).await.unwrap();
            pool.close().await;
            (stored, recounted)
        }};
    }
    let url = &isolation.database_url;
    let (a, b) = if url.starts_with("sqlite:") {
        read_both!(sqlx::SqlitePool::connect(url).await.unwrap())
    } else {
        read_both!(sqlx::PgPool::connect(url).await.unwrap())
    };
    ([a.0, a.1, a.2, a.3, a.4], [b.0, b.1, b.2, b.3, b.4])
}

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.enable_org = true;
        c.enable_user_attribute = true;
        c.enable_app_banner = true;
        c.allow_passkey_enrollment = true;
        c.embedded_auth_origins = vec![EMBEDDED_ORIGIN.into()];
    })
    .await
}

/// Signs in to the Shop app with a password; returns the browser and the page after it.
async fn password_sign_in(app: &TestApp, email: &str, password: &str) -> (Browser, Page) {
    let browser = Browser::new(app);
    let authorize = authorize_url(SHOP_CLIENT, CB, &[]);
    let page = sign_in(&browser, &authorize, email, password, CB).await;
    let page = browser.follow(page, CB).await;
    (browser, page)
}

async fn embedded(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .header("Origin", EMBEDDED_ORIGIN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Ada signs in through the embedded API with the passkey she registered with Melody: the
/// assertion is signed here with its private key, as her authenticator would.
async fn passkey_sign_in(app: &TestApp) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let initiate = serde_json::json!({
        "clientId": SHOP_CLIENT, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
        "codeChallengeMethod": "S256", "scopes": ["openid", "profile", "offline_access"], "locale": "en",
    });
    let (status, body) = embedded(app, "POST", "/embedded-auth/v1/initiate", Some(initiate)).await;
    assert_eq!(status, 200, "{body}");
    let session = body["sessionId"].as_str().unwrap().to_owned();
    let path = format!("/embedded-auth/v1/{session}/passkey-verify");
    let (status, options) = embedded(app, "GET", &path, None).await;
    assert_eq!(status, 200, "{options}");
    let nonce = options["passkeyOption"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let rp_id = options["passkeyOption"]["rpId"].as_str().unwrap();
    let client_data =
        serde_json::json!({"type": "webauthn.get", "challenge": nonce, "origin": app.base})
            .to_string();
    let mut authenticator_data = Sha256::digest(rp_id.as_bytes()).to_vec();
    authenticator_data.push(0x05); // user present and verified
    authenticator_data.extend(4u32.to_be_bytes()); // past the counter Melody recorded (3)
    let mut signed = authenticator_data.clone();
    signed.extend(Sha256::digest(client_data.as_bytes()));
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let signature = passkey().sign(&rng, &signed).unwrap();
    let assertion = serde_json::json!({
        "challenge": nonce,
        "passkeyInfo": {"id": PASSKEY_ID, "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
            "authenticatorData": URL_SAFE_NO_PAD.encode(&authenticator_data),
            "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
        }},
    });
    let (status, body) = embedded(app, "POST", &path, Some(assertion)).await;
    assert_eq!(status, 200, "{body}");
    let exchange = serde_json::json!({"sessionId": session, "codeVerifier": VERIFIER});
    let (status, tokens) = embedded(
        app,
        "POST",
        "/embedded-auth/v1/token-exchange",
        Some(exchange),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        jwt_part(tokens["access_token"].as_str().unwrap(), 1)["sub"],
        ADA
    );
}

/// Everything a first import from `melody` must show.
async fn imports_and_signs_in(app: &TestApp, melody: &MelodyDb) {
    let run = import(&app.isolation, &melody.args(), &["--json"]);
    let report = run.report();
    assert_eq!(report["dryRun"], false);
    assert_eq!(counts(&report, "user"), (3, 2, 0), "{report}");
    // Progress goes to stderr, each table's end at least; the JSON stays alone on stdout.
    assert!(run.stderr.contains("rows of Melody's"), "{}", run.stderr);
    assert!(
        run.stderr.contains("user: 3 of 3 rows (100%)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        table(&report, "user")["skipped"]["deleted in Melody (deletedAt is set)"],
        1
    );
    let notes = table(&report, "user")["notes"].to_string();
    assert!(notes.contains("user.recoveryCodeHash"), "{notes}");
    let (stored, recounted) = stored_and_recounted_totals(&app.isolation).await;
    assert_eq!(
        stored, recounted,
        "the dashboard's totals count the imported users"
    );
    assert!(recounted[0] >= 2 && recounted[3] >= 1, "{recounted:?}");
    let expected = [
        ("app", (5, 2, 2), "two admin apps map onto Gatehouse's own"),
        ("role", (3, 1, 1), "super_admin is Gatehouse's own"),
        ("scope", (6, 1, 5), "built-in scopes are Gatehouse's own"),
        ("app_scope", (9, 5, 0), "admin-app links stay Gatehouse's"),
        (
            "user_app_consent",
            (2, 2, 0),
            "both consents, one to the admin SPA",
        ),
        ("user_role", (3, 2, 0), "the deleted user's role is left"),
    ];
    for (name, counted, why) in expected {
        assert_eq!(counts(&report, name), counted, "{name}: {why}: {report}");
    }
    for name in [
        "org",
        "org_group",
        "user_org",
        "user_org_group",
        "user_passkey",
        "user_attribute",
        "user_attribute_value",
        "banner",
        "app_banner",
    ] {
        assert_eq!(counts(&report, name).1, 1, "{name}: {report}");
    }

    // Ada signs in with her Melody password; her consent came along, so no consent page.
    assert!(stored_password_hash(&app.isolation, ADA)
        .await
        .starts_with("$2b$"));
    let (_, page) = password_sign_in(app, ADA_EMAIL, ADA_PASSWORD).await;
    let location = page.location.clone().unwrap_or_default();
    assert!(location.starts_with(CB), "{} {}", page.status, page.html);
    let code = query_param(&location, "code").unwrap();
    let (status, tokens) = exchange(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("client_id", SHOP_CLIENT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(
        (claims["sub"].as_str(), claims["roles"].clone()),
        (Some(ADA), serde_json::json!(["editor"]))
    );
    // The rehash is written after the response, so it may take a moment to land.
    let mut stored = String::new();
    for _ in 0..50 {
        stored = stored_password_hash(&app.isolation, ADA).await;
        if stored.starts_with("$argon2id$") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        stored.starts_with("$argon2id$"),
        "the bcrypt hash is replaced at sign-in: {stored}"
    );

    passkey_sign_in(app).await;

    // Grace's TOTP secret carried over (sealed): her authenticator's code is accepted.
    let (browser, mut page) = password_sign_in(app, GRACE_EMAIL, GRACE_PASSWORD).await;
    page = past_consent(&browser, page, CB).await;
    assert!(
        page.html.contains("Enter your authenticator code"),
        "{}",
        page.html
    );
    let secret = gatehouse_core::mfa::base32_decode(GRACE_OTP).unwrap();
    let after = browser
        .post(
            "/identity/v1/view/otp-mfa",
            &hidden_fields(
                &page.html,
                "step-form",
                &[("code", &crate::mfa::totp(&secret, 0))],
            ),
        )
        .await;
    let done = browser.follow(after, CB).await;
    assert!(
        done.location.as_deref().is_some_and(|l| l.starts_with(CB)),
        "{}",
        done.html
    );

    // The S2S app authenticates with the secret Melody gave it and holds its scopes.
    let response = app
        .client_credentials(BILLING_CLIENT, BILLING_SECRET, "read_invoices")
        .await;
    assert_eq!(response.status(), 200);
    let response = app
        .client_credentials(BILLING_CLIENT, "wrong-secret", "read_invoices")
        .await;
    assert_eq!(response.status(), 401);

    let token = app.admin_token("root").await;
    let (status, body) = call(app, "GET", &format!("/api/v1/users/{ADA}"), &token, None).await;
    assert_eq!(status, 200, "{body}");
    let user = &body["user"];
    assert_eq!(user["roles"], serde_json::json!(["editor"]));
    assert_eq!(user["attributes"]["department"], "Research", "{user}");
    assert_eq!(user["org"]["slug"], "acme", "{user}");
    assert_eq!(user["orgGroups"][0]["name"], "Engineering", "{user}");
    assert_eq!(
        (user["emailVerified"].as_bool(), user["createdAt"].as_str()),
        (Some(true), Some("2024-01-02 03:04:05"))
    );
    let (_, grace) = call(app, "GET", &format!("/api/v1/users/{GRACE}"), &token, None).await;
    assert_eq!(
        (
            grace["user"]["roles"].clone(),
            grace["user"]["mfaTypes"].clone()
        ),
        (
            serde_json::json!(["super_admin"]),
            serde_json::json!(["otp"])
        )
    );
    let (_, consented) = call(
        app,
        "GET",
        &format!("/api/v1/users/{ADA}/consented-apps"),
        &token,
        None,
    )
    .await;
    let names: Vec<&str> = consented["consentedApps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["appName"].as_str())
        .collect();
    assert!(
        names.contains(&"Shop") && names.contains(&"Admin Panel (SPA)"),
        "{consented}"
    );
    let (_, passkeys) = call(
        app,
        "GET",
        &format!("/api/v1/users/{ADA}/passkeys"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (
            passkeys["passkeys"][0]["credentialId"].as_str(),
            passkeys["passkeys"][0]["counter"].as_i64()
        ),
        (Some(PASSKEY_ID), Some(4)),
        "the counter Melody recorded, moved on by the sign-in: {passkeys}"
    );
    let (_, banners) = call(app, "GET", "/api/v1/app-banners", &token, None).await;
    assert_eq!(
        banners["appBanners"][0]["text"], "Maintenance on Sunday",
        "{banners}"
    );
    assert_eq!(
        banners["appBanners"][0]["appIds"].as_array().map(Vec::len),
        Some(1)
    );
    let (_, apps) = call(app, "GET", "/api/v1/apps", &token, None).await;
    assert_eq!(apps["apps"].as_array().map(Vec::len), Some(4), "{apps}");
}

backend_tests! {
    async fn a_melody_postgres_database_imports_and_its_users_sign_in(backend: Backend) {
        let app = spawn(backend).await;
        let melody = MelodyDb::build(&app.isolation, true).await;
        imports_and_signs_in(&app, &melody).await;
    }

    async fn a_melody_sqlite_export_imports_and_its_users_sign_in(backend: Backend) {
        let app = spawn(backend).await;
        let melody = MelodyDb::build(&app.isolation, false).await;
        imports_and_signs_in(&app, &melody).await;
    }

    async fn a_second_run_imports_nothing_new_and_a_dry_run_writes_nothing(backend: Backend) {
        let app = spawn(backend).await;
        let melody = MelodyDb::build(&app.isolation, backend == Backend::PostgresRedis).await;
        let before = app.isolation.table_counts().await;
        let dry = import(&app.isolation, &melody.args(), &["--dry-run", "--json"]).report();
        assert_eq!(dry["dryRun"], true);
        assert_eq!(counts(&dry, "user"), (3, 2, 0));
        assert_eq!(app.isolation.table_counts().await, before, "a dry run writes nothing");

        let first = import(&app.isolation, &melody.args(), &["--json"]).report();
        assert_eq!(counts(&first, "user"), (3, 2, 0));
        let after_first = app.isolation.table_counts().await;
        let second = import(&app.isolation, &melody.args(), &[]);
        assert!(second.ok, "{}", second.stderr);
        assert!(second.stdout.contains("Nothing new to import"), "{}", second.stdout);
        let report = import(&app.isolation, &melody.args(), &["--json"]).report();
        for t in report["tables"].as_array().unwrap() {
            assert_eq!(t["imported"], 0, "{t}");
        }
        assert_eq!(counts(&report, "user"), (3, 0, 2));
        assert_eq!(app.isolation.table_counts().await, after_first, "a second run writes nothing");
    }

    async fn a_source_that_cannot_be_read_is_refused_and_changes_nothing(backend: Backend) {
        let app = spawn(backend).await;
        let before = app.isolation.table_counts().await;
        let unreachable = import(&app.isolation, &["--from".into(), "postgres://postgres@127.0.0.1:1/melody".into()], &[]);
        assert!(!unreachable.ok);
        assert!(unreachable.stderr.contains("cannot open the Melody database"), "{}", unreachable.stderr);
        let missing = import(&app.isolation, &["--from-sqlite".into(), "/nonexistent/melody.sqlite".into()], &[]);
        assert!(!missing.ok && missing.stderr.contains("no such file"), "{}", missing.stderr);

        let empty_pg = MelodyDb::empty_postgres(&app.isolation, "notmelody").await;
        empty_pg.execute(&["CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)".into()]).await;
        let other_sqlite = MelodyDb::empty_sqlite(&app.isolation, "notmelody");
        other_sqlite.execute(&["CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)".into()]).await;
        for source in [empty_pg, other_sqlite] {
            let run = import(&app.isolation, &source.args(), &[]);
            assert!(!run.ok);
            assert!(run.stderr.contains("not a Melody Auth database"), "{}", run.stderr);
        }
        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn rows_that_clash_with_existing_records_are_skipped_with_the_reason(backend: Backend) {
        let app = spawn(backend).await;
        let token = app.admin_token("root").await;
        let org = serde_json::json!({"name": "Acme", "slug": "acme-gatehouse"});
        let (status, body) = call(&app, "POST", "/api/v1/orgs", &token, Some(org)).await;
        assert_eq!(status, 201, "{body}");
        let melody = MelodyDb::build(&app.isolation, backend == Backend::PostgresRedis).await;
        let report = import(&app.isolation, &melody.args(), &["--json"]).report();
        assert_eq!(counts(&report, "org"), (1, 0, 0));
        assert_eq!(table(&report, "org")["skipped"]["another orgs row already has this name"], 1, "{report}");
        let unresolved = "references an org that is not imported (deleted, skipped or missing)";
        assert_eq!(table(&report, "user_org")["skipped"][unresolved], 1, "{report}");
        assert_eq!(table(&report, "org_group")["skipped"][unresolved], 1, "{report}");
        assert_eq!(counts(&report, "user"), (3, 2, 0), "the rest imports");
        let (_, orgs) = call(&app, "GET", "/api/v1/orgs", &token, None).await;
        assert_eq!(orgs["orgs"].as_array().map(Vec::len), Some(1), "Gatehouse's org is left as it was: {orgs}");
        assert_eq!(orgs["orgs"][0]["slug"], "acme-gatehouse");
    }

    async fn an_older_melody_lacking_later_columns_reads_them_as_missing(backend: Backend) {
        let app = spawn(backend).await;
        // Only the key columns: a D1 export of a release before the others existed. SQLite
        // would read a missing double-quoted column as its own name, a string.
        let melody = MelodyDb::empty_sqlite(&app.isolation, "melody-old");
        let mut statements: Vec<String> = [
            "\"role\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL)",
            "\"scope\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL)",
            "\"app\" (\"id\" INTEGER PRIMARY KEY, \"clientId\" TEXT NOT NULL, \"type\" TEXT NOT NULL)",
            "\"app_scope\" (\"appId\" INTEGER NOT NULL, \"scopeId\" INTEGER NOT NULL)",
            "\"user\" (\"id\" INTEGER PRIMARY KEY, \"authId\" TEXT NOT NULL, \"email\" TEXT, \"password\" TEXT)",
            "\"user_role\" (\"userId\" INTEGER NOT NULL, \"roleId\" INTEGER NOT NULL)",
        ]
        .iter()
        .map(|table| format!("CREATE TABLE {table}"))
        .collect();
        statements.push(format!(
            "INSERT INTO \"user\" VALUES (1, '{ADA}', 'old-ada@melody.example', NULL), \
             (2, '{GRACE}', 'old-grace@melody.example', NULL)"
        ));
        melody.execute(&statements).await;
        let report = import(&app.isolation, &melody.args(), &["--json"]).report();
        // Two users with no social account: before, both "had" the account "socialAccountId".
        assert_eq!(counts(&report, "user"), (2, 2, 0), "{report}");
        let absent = table(&report, "user")["absentColumns"].to_string();
        assert!(absent.contains("socialAccountId") && absent.contains("recoveryCodeHash"), "{absent}");
        assert_eq!(table(&report, "user")["notes"], json!({}), "no value was read from a missing column");
        let token = app.admin_token("root").await;
        let (status, body) = call(&app, "GET", &format!("/api/v1/users/{GRACE}"), &token, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["socialAccountId"], Value::Null, "{body}");
        assert_eq!(body["user"]["firstName"], "", "{body}");
        assert_eq!(body["user"]["locale"], "en", "{body}");
    }

    async fn a_target_that_was_never_started_is_refused(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        let melody = MelodyDb::build(&isolation, backend == Backend::PostgresRedis).await;
        let run = import(&isolation, &melody.args(), &[]);
        assert!(!run.ok);
        assert!(run.stderr.contains("has not been set up yet"), "{}", run.stderr);
        let tables = isolation.table_counts().await;
        assert!(tables.iter().any(|(name, _)| name == "users"), "migrations ran");
        // The migrations themselves seed the dashboard's counters (at zero), and SQLite's
        // search index (FTS5) keeps its settings in tables of its own.
        let seeded = ["_sqlx_migrations", "user_counts", "users_search_config", "users_search_data"];
        let written: i64 = tables.iter().filter(|(name, _)| !seeded.contains(&name.as_str())).map(|(_, rows)| rows).sum();
        assert_eq!(written, 0, "nothing but the migrations is written: {tables:?}");
    }
}
