//! Managed-service connections: PostgreSQL and Redis over TLS, each a server of this test's own
//! started with certificates it makes, so the CA checks, the refusals and their messages are
//! those an operator meets with a managed database.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gatehouse_server::config::{Config, Secret};
use gatehouse_server::startup;
use serde_json::json;
use sqlx::Connection;

use crate::harness::{call, Backend, Isolation, TestApp};
use crate::own_backends::{Postgres, Redis, ServerTls, Setup, TempDir};

/// Both servers' password, sent in every URL: no error message may repeat it.
const PASSWORD: &str = "never-shown-pw-4711";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_and_redis_over_tls_serve_a_flow_and_refuse_what_they_cannot_trust() {
    let dir = TempDir::new("gh_tls");
    let certs = Certificates::make(&dir.0);
    let setup = || Setup {
        tls: Some(&certs.server),
        password: Some(PASSWORD),
    };
    let postgres = Postgres::start(&dir.0, setup());
    let redis = Redis::start(&dir.0, setup());
    postgres.wait_ready().await;
    redis.wait_ready();

    a_flow_runs_with_both_certificates_verified(&dir.0, &certs, &postgres, &redis).await;
    require_encrypts_without_a_ca_file(&dir.0, &certs, &postgres, &redis).await;
    verify_full_with_the_wrong_ca_is_refused(&dir.0, &certs, &postgres, &redis).await;
    plaintext_to_a_tls_only_redis_fails_clearly(&dir.0, &postgres, &redis).await;
    redis_with_the_wrong_ca_is_refused(&dir.0, &certs, &postgres, &redis).await;
    a_missing_ca_file_is_named(&dir.0, &postgres, &redis).await;
    plaintext_to_a_tls_only_postgresql_is_refused(&dir.0, &certs, &postgres, &redis).await;
}

async fn a_flow_runs_with_both_certificates_verified(
    dir: &Path,
    certs: &Certificates,
    postgres: &Postgres,
    redis: &Redis,
) {
    let isolation = isolation(dir, &postgres.url("verify-full"));
    let app = TestApp::spawn_on(isolation, |c| {
        c.database_ca_file = certs.server.ca.display().to_string();
        c.redis_url = Secret::new(redis.url("rediss"));
        c.redis_ca_file = certs.server.ca.display().to_string();
        c.database_statement_timeout = 1;
        c.database_max_connections = 3;
    })
    .await;
    assert_eq!(app.cache.kind(), "redis");

    // Client credentials, then an S2S write and a read of it.
    let token = app.admin_token("root").await;
    let (status, body) = call(
        &app,
        "POST",
        "/api/v1/roles",
        &token,
        Some(json!({ "name": "tls_checked" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(&app, "GET", "/api/v1/roles", &token, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("tls_checked"), "{body}");
    // The server's own cache round-trips through the TLS-only Redis.
    app.cache
        .set("tls-probe", "seen", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        app.cache.get("tls-probe").await.unwrap().as_deref(),
        Some("seen")
    );

    // Every connection Gatehouse holds is encrypted, and named for pg_stat_activity.
    let mut admin = postgres.admin().await;
    let (encrypted, plain): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE s.ssl), COUNT(*) FILTER (WHERE NOT s.ssl) \
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.application_name = 'gatehouse'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(
        encrypted >= 1 && plain == 0,
        "{encrypted} over TLS, {plain} not"
    );

    // A statement stuck behind a lock is cancelled after database_statement_timeout (1 s),
    // so the request ends instead of waiting for the lock.
    let mut locker = postgres.admin().await;
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE roles IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let started = Instant::now();
    let (status, _) = call(&app, "GET", "/api/v1/roles", &token, None).await;
    let waited = started.elapsed();
    tx.rollback().await.unwrap();
    assert_ne!(status, 200);
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "answered {status} after {waited:?}"
    );
    let (status, _) = call(&app, "GET", "/api/v1/roles", &token, None).await;
    assert_eq!(status, 200);
    app.stop().await;
}

async fn require_encrypts_without_a_ca_file(
    dir: &Path,
    certs: &Certificates,
    postgres: &Postgres,
    redis: &Redis,
) {
    let app = TestApp::spawn_on(isolation(dir, &postgres.url("require")), |c| {
        c.redis_url = Secret::new(redis.url("rediss"));
        c.redis_ca_file = certs.server.ca.display().to_string();
    })
    .await;
    let token = app.admin_token("root").await;
    let (status, body) = call(&app, "GET", "/api/v1/roles", &token, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("tls_checked"), "{body}");
    app.stop().await;
}

async fn verify_full_with_the_wrong_ca_is_refused(
    dir: &Path,
    certs: &Certificates,
    postgres: &Postgres,
    redis: &Redis,
) {
    let error = start_error(isolation(dir, &postgres.url("verify-full")), |c| {
        c.database_ca_file = certs.other_ca.display().to_string();
        c.redis_url = Secret::new(redis.url("rediss"));
        c.redis_ca_file = certs.server.ca.display().to_string();
    })
    .await;
    assert!(
        error.starts_with("database_url: ")
            && error.contains("TLS handshake failed")
            && error.contains("database_ca_file"),
        "{error}"
    );
}

async fn plaintext_to_a_tls_only_redis_fails_clearly(
    dir: &Path,
    postgres: &Postgres,
    redis: &Redis,
) {
    let started = Instant::now();
    let error = start_error(isolation(dir, &postgres.url("require")), |c| {
        c.redis_url = Secret::new(redis.url("redis"));
    })
    .await;
    assert!(
        error.starts_with("redis_url: cannot connect to Redis at 127.0.0.1:")
            && error.contains("rediss://"),
        "{error}"
    );
    // One attempt, not the reconnecting manager's retries.
    assert!(started.elapsed() < Duration::from_secs(3), "{error}");
}

async fn redis_with_the_wrong_ca_is_refused(
    dir: &Path,
    certs: &Certificates,
    postgres: &Postgres,
    redis: &Redis,
) {
    let error = start_error(isolation(dir, &postgres.url("require")), |c| {
        c.redis_url = Secret::new(redis.url("rediss"));
        c.redis_ca_file = certs.other_ca.display().to_string();
    })
    .await;
    assert!(
        error.starts_with("redis_url: ") && error.contains("redis_ca_file"),
        "{error}"
    );
}

async fn a_missing_ca_file_is_named(dir: &Path, postgres: &Postgres, redis: &Redis) {
    let missing = dir.join("no-such-ca.pem").display().to_string();
    let error = start_error(isolation(dir, &postgres.url("verify-full")), |c| {
        c.database_ca_file = missing.clone();
    })
    .await;
    assert!(
        error.starts_with("database_ca_file: cannot read ") && error.contains(&missing),
        "{error}"
    );
    // A file that holds no certificate (here, a private key) is named too.
    let key = dir.join("server.key").display().to_string();
    let error = start_error(isolation(dir, &postgres.url("require")), |c| {
        c.redis_url = Secret::new(redis.url("rediss"));
        c.redis_ca_file = key.clone();
    })
    .await;
    assert!(
        error.starts_with("redis_ca_file: ") && error.contains("no PEM certificate"),
        "{error}"
    );
}

async fn plaintext_to_a_tls_only_postgresql_is_refused(
    dir: &Path,
    certs: &Certificates,
    postgres: &Postgres,
    redis: &Redis,
) {
    let error = start_error(isolation(dir, &postgres.url("disable")), |c| {
        c.redis_url = Secret::new(redis.url("rediss"));
        c.redis_ca_file = certs.server.ca.display().to_string();
    })
    .await;
    assert!(
        error.starts_with("database_url: cannot connect to PostgreSQL at 127.0.0.1:")
            && error.contains("no encryption"),
        "{error}"
    );
}

/// Storage for one Gatehouse start on this test's servers.
fn isolation(dir: &Path, database_url: &str) -> Isolation {
    Isolation {
        backend: Backend::PostgresRedis,
        data_dir: dir.join("gatehouse"),
        database_url: database_url.to_owned(),
        redis_prefix: "tls:".into(),
    }
}

/// Starts Gatehouse with `adjust` applied, expecting it to refuse: the message it stops with.
async fn start_error(isolation: Isolation, adjust: impl FnOnce(&mut Config)) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = isolation.config();
    config.listen = listener.local_addr().unwrap().to_string();
    adjust(&mut config);
    let error = match startup::prepare_on(config, listener).await {
        Ok(_) => panic!("the server started"),
        Err(error) => error.to_string(),
    };
    assert!(!error.contains(PASSWORD), "{error}");
    error
}

/// The servers' certificate (for `localhost` and `127.0.0.1`) with the CA that signed it, and
/// another CA that signed nothing here.
struct Certificates {
    server: ServerTls,
    other_ca: PathBuf,
}

impl Certificates {
    fn make(dir: &Path) -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let authority = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let cert = params.self_signed(&key).unwrap();
            (cert.pem(), Issuer::new(params, key))
        };
        let (ca_pem, issuer) = authority("Gatehouse test CA");
        let (other_ca_pem, _) = authority("Some other CA");
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).unwrap();
        let certs = Self {
            server: ServerTls {
                ca: dir.join("ca.pem"),
                cert: dir.join("server.crt"),
                key: dir.join("server.key"),
            },
            other_ca: dir.join("other-ca.pem"),
        };
        fs::write(&certs.server.ca, ca_pem).unwrap();
        fs::write(&certs.other_ca, other_ca_pem).unwrap();
        fs::write(&certs.server.cert, cert.pem()).unwrap();
        fs::write(&certs.server.key, key.serialize_pem()).unwrap();
        // PostgreSQL refuses a key file others can read.
        fs::set_permissions(&certs.server.key, fs::Permissions::from_mode(0o600)).unwrap();
        certs
    }
}
