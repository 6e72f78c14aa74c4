//! `TestApp::spawn`: one server per test with its own database (a SQLite file, or a PostgreSQL
//! schema) and its own cache (in-process, or a Redis key prefix).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::{engine::general_purpose::STANDARD, Engine};
use gatehouse_server::config::{Config, Secret};
use gatehouse_server::startup;
use serde_json::{json, Value};
use tokio::sync::{oneshot, OnceCell};

pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const BOOTSTRAP_ID: &str = "bootstrap-admin-s2s";
pub const BOOTSTRAP_SECRET: &str = "bootstrap-secret-0123456789abcdefghijklmnop";
pub const MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Runs each listed test body once per backend pair, as `name::sqlite` and `name::postgres_redis`.
macro_rules! backend_tests {
    ($( $(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                $(#[$meta])*
                async fn run($backend: crate::harness::Backend) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run(crate::harness::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis() {
                    run(crate::harness::Backend::PostgresRedis).await
                }
            }
        )*
    };
}
pub(crate) use backend_tests;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    PostgresRedis,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
static SWEPT: OnceCell<()> = OnceCell::const_new();

/// Where one test keeps its data, so a CLI run or a second instance can share it.
#[derive(Debug, Clone)]
pub struct Isolation {
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub redis_prefix: String,
}

impl Isolation {
    pub async fn new(backend: Backend) -> Self {
        let n = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        let tag = format!("gh_t_{}_{n}", std::process::id());
        let data_dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&data_dir).unwrap();
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite:{}", data_dir.join("gatehouse.db").display()),
            Backend::PostgresRedis => {
                SWEPT.get_or_init(sweep_old_schemas).await;
                let admin = pg_admin().await;
                sqlx::query(&format!("CREATE SCHEMA {tag}"))
                    .execute(&admin)
                    .await
                    .expect("create test schema");
                admin.close().await;
                format!("{POSTGRES_URL}?options=-c%20search_path%3D{tag}")
            }
        };
        Self {
            backend,
            data_dir,
            database_url,
            redis_prefix: format!("{tag}:"),
        }
    }

    /// The configuration every test server starts from.
    pub fn config(&self) -> Config {
        let mut config = Config {
            data_dir: self.data_dir.display().to_string(),
            database_url: Secret::new(self.database_url.clone()),
            log_level: "warn".into(),
            bootstrap_client_id: BOOTSTRAP_ID.into(),
            bootstrap_client_secret: Secret::new(BOOTSTRAP_SECRET),
            keys_reload_interval: 1,
            ..Config::default()
        };
        if self.backend == Backend::PostgresRedis {
            config.redis_url = Secret::new(REDIS_URL);
            config.redis_key_prefix = self.redis_prefix.clone();
            config.master_key = Secret::new(MASTER_KEY);
        }
        config
    }

    /// Environment variables giving a `gatehouse` process the same storage.
    pub fn env(&self) -> Vec<(String, String)> {
        let config = self.config();
        let mut env = vec![
            ("GATEHOUSE_DATA_DIR".into(), config.data_dir.clone()),
            ("GATEHOUSE_DATABASE_URL".into(), self.database_url.clone()),
            ("GATEHOUSE_LOG_LEVEL".into(), "warn".into()),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_ID".into(), BOOTSTRAP_ID.into()),
            (
                "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET".into(),
                BOOTSTRAP_SECRET.into(),
            ),
        ];
        if self.backend == Backend::PostgresRedis {
            env.push(("GATEHOUSE_REDIS_URL".into(), REDIS_URL.into()));
            env.push((
                "GATEHOUSE_REDIS_KEY_PREFIX".into(),
                self.redis_prefix.clone(),
            ));
            env.push(("GATEHOUSE_MASTER_KEY".into(), MASTER_KEY.into()));
        }
        env
    }

    /// Row counts of every table, to show a refused request changed nothing. The dashboard's
    /// daily counts are left out: a refusal is one of the things they count.
    pub async fn table_counts(&self) -> Vec<(String, i64)> {
        /// Lists the tables with `$list`, then counts each one's rows, on either pool type.
        macro_rules! count_rows {
            ($pool:expr, $list:expr) => {{
                let pool = $pool;
                let tables: Vec<(String,)> = sqlx::query_as($list).fetch_all(&pool).await.unwrap();
                let mut counts = Vec::new();
                for (table,) in tables {
                    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM \"{table}\""))
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                    counts.push((table, n));
                }
                pool.close().await;
                counts
            }};
        }
        match self.backend {
            Backend::Sqlite => count_rows!(
                sqlx::SqlitePool::connect(&self.database_url).await.unwrap(),
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'daily_counts' ORDER BY name"
            ),
            Backend::PostgresRedis => count_rows!(
                sqlx::PgPool::connect(&self.database_url).await.unwrap(),
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'daily_counts' ORDER BY 1"
            ),
        }
    }

    /// Runs one statement with one text parameter directly against the test's database.
    pub async fn execute(&self, sql: &str, param: &str) {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
                sqlx::query(sql).bind(param).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::PostgresRedis => {
                let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
                sqlx::query(sql).bind(param).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }
}

async fn pg_admin() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(POSTGRES_URL)
        .await
        .expect(
            "PostgreSQL at 127.0.0.1:5432 (database `test`) must be reachable for the test suite",
        )
}

/// Drops schemas left by earlier test runs (a crashed run cannot clean up after itself).
async fn sweep_old_schemas() {
    let admin = pg_admin().await;
    let mine = format!("gh_t_{}_%", std::process::id());
    let stale: Vec<(String,)> = sqlx::query_as(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'gh\\_t\\_%' AND nspname NOT LIKE $1",
    )
    .bind(mine)
    .fetch_all(&admin)
    .await
    .unwrap();
    for (schema,) in stale {
        // Another test run may be going on beside this one: leave the schemas of live processes.
        let pid = schema.split('_').nth(2).unwrap_or_default();
        if !pid.is_empty() && std::path::Path::new("/proc").join(pid).exists() {
            continue;
        }
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&admin)
            .await;
    }
    admin.close().await;
}

/// A running server.
pub struct TestApp {
    /// The server's own cache (the in-process one, or Redis under this test's prefix).
    pub cache: gatehouse_store::Cache,
    pub base: String,
    pub client: reqwest::Client,
    pub isolation: Isolation,
    /// The admin panel's one-time setup link, when start-up made one.
    pub setup_link: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let isolation = Isolation::new(backend).await;
        Self::spawn_on(isolation, adjust).await
    }

    /// Starts a server on existing storage (a second instance, or a restart).
    pub async fn spawn_on(isolation: Isolation, adjust: impl FnOnce(&mut Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = isolation.config();
        config.listen = addr.to_string();
        config.issuer = format!("http://{addr}");
        adjust(&mut config);
        startup::init_logging(&config);
        let prepared = startup::prepare_on(config, listener)
            .await
            .expect("server starts");
        let cache = prepared.state.cache.clone();
        let setup_link = prepared.setup_link.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(prepared.serve(async {
            let _ = rx.await;
        }));
        Self {
            cache,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            isolation,
            setup_link,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs a JSON document.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        json_answer(self.client.get(self.url(path))).await
    }

    /// POSTs a form and reads the JSON answer.
    pub async fn post_form_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> T {
        json_answer(self.client.post(self.url(path)).form(form)).await
    }

    /// POSTs a client-credentials request with HTTP Basic credentials.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
        scope: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/oauth2/v1/token"))
            .header("Authorization", basic(client_id, secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap()
    }

    /// An access token of the bootstrap admin S2S app.
    pub async fn admin_token(&self, scope: &str) -> String {
        let response = self
            .client_credentials(BOOTSTRAP_ID, BOOTSTRAP_SECRET, scope)
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn stop(mut self) -> Isolation {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.isolation.clone()
    }
}

async fn json_answer<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    request.send().await.unwrap().json().await.unwrap()
}

/// Posts `body` as JSON to `path` from a page of `origin` (the embedded API's way); the status
/// and the JSON answer (`null` when it is not JSON).
pub async fn post_from_origin(
    app: &TestApp,
    path: &str,
    origin: &str,
    body: Value,
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .header("Origin", origin)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Sends `request` and reads its body as JSON.
pub async fn json_body(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

pub fn basic(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

/// Decodes a JWT's header or payload segment without checking anything.
pub fn jwt_part(token: &str, index: usize) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Sends a JSON request with a bearer token; returns the status and the body (null when empty).
pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Seconds since the Unix epoch, as the server reckons time.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An S2S app made through the API, with a token holding all of its scopes.
pub struct S2sApp {
    pub id: i64,
    pub client_id: String,
    pub secret: String,
    pub token: String,
}

/// Creates an S2S app holding `scopes` and gets a token for it with all of them.
pub async fn s2s_app(app: &TestApp, root: &str, scopes: &[&str]) -> S2sApp {
    let (status, body) = call(app, "POST", "/api/v1/apps", root, Some(json!({
        "name": format!("s2s caller {}", NEXT_ID.fetch_add(1, Ordering::SeqCst)), "type": "s2s", "scopes": scopes, "redirectUris": []
    }))).await;
    assert_eq!(status, 201, "{body}");
    let client_id = body["app"]["clientId"].as_str().unwrap().to_owned();
    let secret = body["app"]["secret"].as_str().unwrap().to_owned();
    let response = app
        .client_credentials(&client_id, &secret, &scopes.join(" "))
        .await;
    assert_eq!(response.status(), 200);
    let token = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    S2sApp {
        id: body["app"]["id"].as_i64().unwrap(),
        client_id,
        secret,
        token,
    }
}

/// An S2S app holding `scopes`, and a token for it with all of them.
pub async fn token_with(app: &TestApp, root: &str, scopes: &[&str]) -> String {
    s2s_app(app, root, scopes).await.token
}

/// A new, empty folder under the system's temporary folder, named after `label`, this process
/// and the time.
pub fn fresh_temp_dir(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("{label}_{}_{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
