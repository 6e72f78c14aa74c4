//! Managed-service connections: PostgreSQL and Redis over TLS, each a server of this test's own
//! started with certificates it makes, so the CA checks, the refusals and their messages are
//! those an operator meets with a managed database.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse_server::config::{Config, Secret};
use gatehouse_server::startup;
use serde_json::json;
use sqlx::Connection;

use crate::harness::{call, Backend, Isolation, TestApp};

/// Sent in every URL and never needed (the test server trusts local connections): no error
/// message may repeat it.
const PASSWORD: &str = "never-shown-pw-4711";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_and_redis_over_tls_serve_a_flow_and_refuse_what_they_cannot_trust() {
    let dir = TempDir::new();
    let certs = Certificates::make(&dir.0);
    let postgres = Postgres::start(&dir.0, &certs);
    let redis = Redis::start(&dir.0, &certs);
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
        c.database_ca_file = certs.ca.display().to_string();
        c.redis_url = Secret::new(redis.url("rediss"));
        c.redis_ca_file = certs.ca.display().to_string();
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
        c.redis_ca_file = certs.ca.display().to_string();
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
        c.redis_ca_file = certs.ca.display().to_string();
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
        c.redis_ca_file = certs.ca.display().to_string();
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

/// A CA that signs the servers' certificate (for `localhost` and `127.0.0.1`), and another
/// CA that signed nothing here.
struct Certificates {
    ca: PathBuf,
    other_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
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
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        };
        fs::write(&certs.ca, ca_pem).unwrap();
        fs::write(&certs.other_ca, other_ca_pem).unwrap();
        fs::write(&certs.server_cert, cert.pem()).unwrap();
        fs::write(&certs.server_key, key.serialize_pem()).unwrap();
        // PostgreSQL refuses a key file others can read.
        fs::set_permissions(&certs.server_key, fs::Permissions::from_mode(0o600)).unwrap();
        certs
    }
}

/// A directory removed at the end, servers' files included.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("gh_tls_{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server process, stopped (SIGTERM, then SIGKILL) when dropped, even when a check fails.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn spawn(mut command: Command, log: PathBuf) -> Self {
        let out = fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Self { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL cluster in the test's directory that accepts only TLS connections over TCP.
struct Postgres {
    port: u16,
    daemon: Daemon,
}

impl Postgres {
    fn start(dir: &Path, certs: &Certificates) -> Self {
        let bin = postgres_bin_dir();
        // PostgreSQL will not run as root: as root, the test runs it as `postgres` and gives
        // that user the directory.
        let owner = (fs::metadata("/proc/self").unwrap().uid() == 0).then(|| {
            let id = |flag: &str| -> u32 {
                let out = Command::new("id")
                    .args([flag, "postgres"])
                    .output()
                    .unwrap();
                String::from_utf8(out.stdout)
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            };
            (id("-u"), id("-g"))
        });
        let as_owner = |command: &mut Command| {
            if let Some((uid, gid)) = owner {
                command.uid(uid).gid(gid);
            }
        };
        if let Some((uid, gid)) = owner {
            for path in [dir, certs.server_cert.as_path(), certs.server_key.as_path()] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            }
        }
        let data = dir.join("pgdata");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-N",
                "--no-locale",
                "-E",
                "UTF8",
            ])
            .env("LC_ALL", "C")
            .current_dir(dir);
        as_owner(&mut initdb);
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // TCP connections must be encrypted: a plaintext one finds no entry.
        fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let port = free_port();
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args([
                "-c",
                "ssl=on",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=30",
            ])
            .arg("-c")
            .arg(format!("ssl_cert_file={}", certs.server_cert.display()))
            .arg("-c")
            .arg(format!("ssl_key_file={}", certs.server_key.display()))
            .current_dir(dir);
        as_owner(&mut server);
        let daemon = Daemon::spawn(server, dir.join("postgres.log"));
        Self { port, daemon }
    }

    /// Gatehouse's URL for this server with this `sslmode`.
    fn url(&self, sslmode: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/postgres?sslmode={sslmode}",
            self.port
        )
    }

    async fn admin(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.url("require"))
            .await
            .unwrap()
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match sqlx::PgConnection::connect(&self.url("require")).await {
                Ok(conn) => return conn.close().await.unwrap(),
                Err(e) if Instant::now() > deadline => {
                    panic!("PostgreSQL did not start: {e}\n{}", self.daemon.log())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

/// The newest installed PostgreSQL's programs (Debian keeps them out of `PATH`).
fn postgres_bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server programs in /usr/lib/postgresql (scripts/test installs them)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
        .1
}

/// A Redis server that listens only for TLS, with a password as a managed one has.
struct Redis {
    port: u16,
    daemon: Daemon,
}

impl Redis {
    fn start(dir: &Path, certs: &Certificates) -> Self {
        let port = free_port();
        let mut server = Command::new("redis-server");
        server
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--tls-cert-file")
            .arg(&certs.server_cert)
            .arg("--tls-key-file")
            .arg(&certs.server_key)
            .arg("--tls-ca-cert-file")
            .arg(&certs.ca)
            .args(["--tls-auth-clients", "no", "--requirepass", PASSWORD])
            .arg("--dir")
            .arg(dir);
        let daemon = Daemon::spawn(server, dir.join("redis.log"));
        Self { port, daemon }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Redis did not start:\n{}",
                self.daemon.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
