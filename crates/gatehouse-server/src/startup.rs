//! Turning a configuration into a running server: storage, cache, keys, seed, HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_store::{
    Cache, CacheError, ConnectFailure, DatabaseOptions, RedisOptions, Store, StoreError,
};
use serde_json::json;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::crypto::{Algorithm, MasterKey};
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::services::bootstrap::{self, GeneratedCredentials};
use crate::services::clients::ClientCache;
use crate::state::{AppState, Documents, Shared};
use gatehouse_core::key_rotation::RotationSchedule;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Setup(String),
    #[error("database: {0}")]
    Store(#[from] gatehouse_store::StoreError),
    #[error("cache: {0}")]
    Cache(#[from] gatehouse_store::CacheError),
    #[error("{0}")]
    Service(#[from] crate::error::ServiceError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// The database URL in effect: the configured one, or the SQLite file in `data_dir`.
pub fn database_url(config: &Config) -> Result<String, StartError> {
    if !config.database_url.is_empty() {
        return Ok(config.database_url.expose().to_owned());
    }
    let dir = Path::new(&config.data_dir);
    std::fs::create_dir_all(dir)
        .map_err(|e| StartError::Setup(format!("cannot create data_dir {}: {e}", dir.display())))?;
    Ok(format!("sqlite:{}", dir.join("gatehouse.db").display()))
}

/// Connects to the database and applies pending migrations.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let options = DatabaseOptions {
        max_connections: config.database_max_connections,
        connect_timeout: Duration::from_secs(config.database_connect_timeout),
        statement_timeout: (config.database_statement_timeout > 0)
            .then(|| Duration::from_secs(config.database_statement_timeout)),
        ca_pem: ca_file("database_ca_file", &config.database_ca_file)?,
    };
    let store = Store::connect_with(&database_url(config)?, &options)
        .await
        .map_err(|err| match err {
            StoreError::Connect { failure, .. } => StartError::Setup(match failure {
                ConnectFailure::Tls => {
                    format!("database_url: {err} (check its sslmode and database_ca_file)")
                }
                ConnectFailure::Timeout => {
                    format!("database_url: {err} (database_connect_timeout)")
                }
                ConnectFailure::Refused => format!("database_url: {err}"),
            }),
            other => StartError::Store(other),
        })?;
    store.migrate().await?;
    Ok(store)
}

/// The CA certificates in the PEM file named by the key `key`, if one is named: read once at
/// start, so a missing or wrong file stops the start with the key's name rather than failing
/// each connection later.
fn ca_file(key: &str, path: &str) -> Result<Option<Vec<u8>>, StartError> {
    if path.is_empty() {
        return Ok(None);
    }
    let pem = std::fs::read(path)
        .map_err(|e| StartError::Setup(format!("{key}: cannot read {path}: {e}")))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(StartError::Setup(format!(
            "{key}: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(Some(pem))
}

/// The configured master key; with the embedded database, the one in `data_dir/master.key`,
/// generated on first use.
pub fn master_key(config: &Config) -> Result<MasterKey, StartError> {
    if !config.master_key.is_empty() {
        return MasterKey::parse(config.master_key.expose())
            .map_err(|e| StartError::Setup(format!("master_key: {e}")));
    }
    let path = PathBuf::from(&config.data_dir).join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::parse(&text)
            .map_err(|e| StartError::Setup(format!("{}: {e}", path.display()))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            write_private_file(&path, &key.to_hex())?;
            tracing::info!(path = %path.display(), "generated a master key");
            Ok(key)
        }
        Err(err) => Err(StartError::Setup(format!(
            "cannot read {}: {err}",
            path.display()
        ))),
    }
}

fn write_private_file(path: &Path, contents: &str) -> Result<(), StartError> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| StartError::Setup(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| StartError::Setup(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| StartError::Setup(format!("cannot write {}: {e}", path.display())))
}

pub async fn open_cache(config: &Config) -> Result<Cache, StartError> {
    if config.redis_url.is_empty() {
        return Ok(Cache::in_memory());
    }
    let options = RedisOptions {
        connect_timeout: Duration::from_secs(config.redis_connect_timeout),
        ca_pem: ca_file("redis_ca_file", &config.redis_ca_file)?,
    };
    Cache::redis_with(
        config.redis_url.expose(),
        &config.redis_key_prefix,
        &options,
    )
    .await
    .map_err(|err| match err {
        CacheError::Connect { .. } => {
            let hint = if config.redis_url.expose().starts_with("rediss://") {
                "over TLS, the server's certificate must be signed by redis_ca_file or a CA \
                 the system trusts"
            } else {
                "a server that expects TLS needs a rediss:// URL"
            };
            StartError::Setup(format!("redis_url: {err} ({hint})"))
        }
        other => StartError::Cache(other),
    })
}

/// The key ring for this configuration, loaded from the store.
pub async fn key_ring(config: &Config, store: &Store) -> Result<KeyRing, StartError> {
    let algorithm = Algorithm::parse(&config.signing_algorithm)
        .ok_or_else(|| StartError::Setup("signing_algorithm is not supported".into()))?;
    let seconds = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    Ok(KeyRing::load(
        store.clone(),
        master_key(config)?,
        algorithm,
        Duration::from_secs(config.key_rotation_overlap),
    )
    .await?
    .with_schedule(RotationSchedule {
        interval: seconds(config.key_rotation_interval),
        prepublish: seconds(config.key_prepublish),
        overlap: seconds(config.key_rotation_overlap),
    }))
}

/// A server that is listening, with what it generated at start-up.
pub struct Prepared {
    pub listener: TcpListener,
    pub state: AppState,
    pub generated_credentials: Option<GeneratedCredentials>,
    /// The admin panel's one-time setup link, made while no active user holds an admin role.
    pub setup_link: Option<String>,
}

impl Prepared {
    pub fn local_addr(&self) -> Result<SocketAddr, std::io::Error> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let reloader = self
            .state
            .keys
            .spawn_reloader(Duration::from_secs(self.state.config.keys_reload_interval));
        let logout_sender = crate::services::logout_notices::spawn_sender(self.state.clone());
        let webhook_sender = crate::services::webhooks::spawn_sender(self.state.clone());
        let log_pruner = crate::services::retention::spawn_pruner(self.state.clone());
        let store = self.state.store.clone();
        let connection_trimmer = spawn_connection_trimmer(store.clone());
        let metrics = match self.state.config.metrics_listen.as_str() {
            "" => None,
            _ if !self.state.config.metrics_enabled => None,
            addr => {
                let listener = TcpListener::bind(addr).await?;
                let app = crate::http::system::metrics_router(self.state.clone());
                Some(tokio::spawn(async move {
                    if let Err(err) = axum::serve(listener, app).await {
                        tracing::error!(error = %err, "the metrics listener stopped");
                    }
                }))
            }
        };
        let app = crate::http::router(self.state);
        let result = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        reloader.abort();
        logout_sender.abort();
        webhook_sender.abort();
        log_pruner.abort();
        connection_trimmer.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        store.close().await;
        result
    }
}

/// How often the embedded database's surplus connections are looked for: one found idle at a
/// look is closed (see [`Store::close_surplus_connections`]).
const CONNECTION_TRIM_INTERVAL: Duration = Duration::from_secs(2);

/// Keeps the embedded database at one open connection while it is not busy; the first look is
/// right away, for what the start opened.
fn spawn_connection_trimmer(store: Store) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut looks = tokio::time::interval(CONNECTION_TRIM_INTERVAL);
        looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            looks.tick().await;
            let closed = store.close_surplus_connections().await;
            if closed > 0 {
                tracing::debug!(closed, "idle database connections closed");
            }
        }
    })
}

/// Binds the configured address and opens everything the server needs.
pub async fn prepare(config: Config) -> Result<Prepared, StartError> {
    let listener =
        TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen.clone(),
                source,
            })?;
    prepare_on(config, listener).await
}

/// `/info`: the configuration under Melody's names, except that what needs email is reported
/// as it is offered: without an email provider there is no verification and no password reset,
/// whatever the configuration says, and a client (Melody's admin panel) must not offer them.
fn info_document(config: &Config, email_configured: bool) -> String {
    use crate::services::lifecycle::{reset_offered, verification_offered};
    let mut configs = config.info_configs();
    configs.insert(
        "ENABLE_EMAIL_VERIFICATION".into(),
        json!(verification_offered(config, email_configured)),
    );
    configs.insert(
        "ENABLE_PASSWORD_RESET".into(),
        json!(reset_offered(config, email_configured)),
    );
    json!({ "configs": configs }).to_string()
}

/// Opens everything the server needs, to serve on an already bound listener.
pub async fn prepare_on(config: Config, listener: TcpListener) -> Result<Prepared, StartError> {
    let store = open_store(&config).await?;
    let cache = open_cache(&config).await?;
    let generated_credentials = bootstrap::bootstrap(&store, &config).await?;
    let setup_link =
        crate::services::admin_panel::issue_setup_link(&store, &cache, &config).await?;
    let keys = Arc::new(key_ring(&config, &store).await?);
    let passwords = crate::crypto::PasswordHasher::new(
        config.password_hash_memory_kib,
        config.password_hash_iterations,
        config.password_hash_parallelism,
        config.password_hash_concurrency,
    )
    .map_err(StartError::Setup)?;
    let mailer = crate::mail::Mailer::from_config(&config)
        .map_err(|e| StartError::Setup(format!("email: {e}")))?;
    let discovery = crate::http::openid_configuration_document(&config);
    let documents = Documents {
        info: info_document(&config, mailer.is_configured()).into(),
        openid_configuration: discovery.to_string().into(),
        resource_metadata: crate::http::own_resource_metadata_document(&config)
            .to_string()
            .into(),
    };
    match mailer.provider_name() {
        Some(name) => tracing::info!(provider = name, "email is sent through {name}"),
        None => tracing::warn!(
            "no email provider is configured: email verification, password reset, change \
             email, invitation emails and passwordless sign-in are off"
        ),
    }
    if config.allow_passkey_enrollment {
        let host = crate::services::passkeys::relying_party_id(&config.issuer);
        if host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok()
        {
            tracing::warn!(
                issuer = %config.issuer,
                "passkeys need the issuer to be a host name: browsers refuse an IP address as WebAuthn relying party"
            );
        }
    }
    let sms = crate::sms::SmsSender::from_config(&config)
        .map_err(|e| StartError::Setup(format!("SMS: {e}")))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.mail_timeout.max(1)))
        .build()
        .map_err(|e| StartError::Setup(format!("HTTP client: {e}")))?;
    let federation = Arc::new(crate::services::oidc_metadata::ProviderDirectory::new(
        &config,
    ));
    let outbound =
        crate::services::outbound::Outbound::new(config.outbound_allow_private_addresses)
            .map_err(|e| StartError::Setup(format!("HTTP client: {e}")))?;
    let webhook_outbound = Arc::new(
        crate::services::outbound::Outbound::new(config.webhook_allow_private_addresses)
            .map_err(|e| StartError::Setup(format!("HTTP client: {e}")))?,
    );
    let client_keys = Arc::new(crate::services::client_keys::ClientKeyDirectory::new(
        outbound,
        Duration::from_secs(config.client_jwks_cache_ttl),
    ));
    let client_documents = crate::services::client_documents::ClientDocuments::new(&config)
        .map_err(|e| StartError::Setup(format!("HTTP client: {e}")))?;
    let user_views = crate::services::user_views::UserViews::new(
        store.clone(),
        Duration::from_secs(config.user_cache_ttl),
        config.enable_user_attribute,
    );
    // The in-process cache is read as fast as a copy of it would be.
    let revocation_check_ttl = match cache {
        gatehouse_store::Cache::Memory(_) => Duration::ZERO,
        gatehouse_store::Cache::Redis(_) => Duration::from_secs(config.revocation_check_ttl),
    };
    let state = AppState::new(Shared {
        user_views,
        revocations: crate::services::memo::Memo::new(revocation_check_ttl, 65_536),
        // A window's nonce never changes; keep each for the two windows it is good for.
        dpop_nonces: crate::services::memo::Memo::new(
            Duration::from_secs(config.dpop_nonce_lifetime.max(1) * 2),
            16,
        ),
        http,
        client_keys,
        mailer: Arc::new(mailer),
        sms: Arc::new(sms),
        passwords: Arc::new(passwords),
        clients: Arc::new(ClientCache::new(
            store.clone(),
            Duration::from_secs(config.client_cache_ttl),
            config.fapi2_security_profile,
            client_documents,
        )),
        config: Arc::new(config),
        store,
        cache,
        keys,
        metrics: Arc::new(Metrics::default()),
        federation,
        documents: Arc::new(documents),
        logout_wake: Arc::new(tokio::sync::Notify::new()),
        webhook_outbound,
    });
    Ok(Prepared {
        listener,
        state,
        generated_credentials,
        setup_link,
    })
}

/// Installs the log subscriber: human-readable or JSON, filtered by `log_level`, on stderr.
/// Every line written while a request is handled carries its `request_id` (the `request`
/// span; in JSON under `span` and `spans`).
pub fn init_logging(config: &Config) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let level = match config.log_level.as_str() {
        "silent" => "off",
        other => other,
    };
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = log_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if config.log_format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init()
    } else {
        builder.with_ansi(colour).try_init()
    };
    // Already installed (tests start several servers in one process): keep the first.
    let _ = result;
}

/// Colours only for a person at a terminal: files, pipes and journald get plain text, and
/// `NO_COLOR` set to anything but the empty string turns them off (https://no-color.org).
fn log_colour(to_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    to_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::log_colour;
    use std::ffi::OsStr;

    #[test]
    fn logs_are_coloured_only_at_a_terminal_without_no_color() {
        assert!(log_colour(true, None));
        assert!(log_colour(true, Some(OsStr::new(""))));
        assert!(!log_colour(true, Some(OsStr::new("1"))));
        assert!(!log_colour(false, None));
    }
}
