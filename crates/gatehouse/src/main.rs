//! The `gatehouse` command: serve, migrate, backup, restore, keys, config, connect-app, import.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use gatehouse_server::config::{self, Config, ConfigSource};
use gatehouse_server::startup;
use gatehouse_store::{format_timestamp, now_utc};

/// mimalloc, for Rust and (with `override`) for the C libraries' `malloc` too. glibc's
/// allocator gives each busy thread an arena of its own (the runtime's workers, one per SQLite
/// connection, the hashing threads) and keeps what is freed in the middle of each: under a
/// steady load the process grew by some 12 MiB over six minutes with the live heap up by 2
/// (heaptrack), and only a `malloc_trim` (an unsafe call) gives it back. mimalloc returns freed
/// pages to the system on its own, shortly after.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BUILT_FROM_COMMIT"), ")"),
    about = "OAuth 2.0 / OpenID Connect authentication server"
)]
struct Cli {
    /// Configuration file (default: gatehouse.toml in the working directory, when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the embedded (SQLite) database to FILE, consistently, while the server runs.
    Backup {
        /// The file to write; it must not exist unless --force is given.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the embedded (SQLite) database with a backup; the server must be stopped.
    Restore {
        /// The backup made by `gatehouse backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the configuration.
    #[command(subcommand, name = "config")]
    Configuration(ConfigCommand),
    /// Manage administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage ePass connect apps (`/connect/<name>`).
    #[command(subcommand, name = "connect-app")]
    ConnectApp(ConnectAppCommand),
    /// Import users, apps and the rest from another server's database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), as packaged in gatehouse(1).
    #[command(hide = true)]
    Man,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import from Melody Auth: its PostgreSQL database or its SQLite (D1) file. Idempotent:
    /// what is already present is left alone.
    Melody {
        /// Melody's PostgreSQL database, `postgres://…`.
        #[arg(
            long,
            value_name = "URL",
            required_unless_present = "from_sqlite",
            conflicts_with = "from_sqlite"
        )]
        from: Option<String>,
        /// Melody's SQLite database file (a D1 export).
        #[arg(long, value_name = "FILE")]
        from_sqlite: Option<PathBuf>,
        /// Report what would be imported and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConnectAppCommand {
    /// Register an app; prints its secret (the sauce's AES key) once.
    Create {
        /// Kebab-case name, used in the URL (`i` is reserved).
        name: String,
        /// Where signed-in users are sent with the sauce.
        #[arg(long)]
        redirect_url: String,
        /// Name shown on the sign-in page.
        #[arg(long)]
        display_name: Option<String>,
        /// Logo shown on the sign-in page.
        #[arg(long)]
        logo_url: Option<String>,
        /// A regular expression other redirect URLs (`?redirect=`) must match in full; repeatable.
        #[arg(long = "redirect-pattern")]
        redirect_patterns: Vec<String>,
    },
    /// List the apps.
    List,
    /// Delete an app.
    Delete { name: String },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a `super_admin` user; the password is read from stdin (one line).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key; the current ones stay published and accepted for
    /// `key_rotation_overlap` seconds.
    Rotate,
    /// List the signing keys and their state.
    List,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (file and environment) and exit.
    Check,
    /// Print a commented configuration file with every key and its default.
    Example,
    /// Print the configuration reference (docs/configuration.md).
    Docs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // Generated from the argument parser itself, so they cannot drift from it.
    match command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "gatehouse",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("gatehouse: cannot write the manual page: {err}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    if matches!(command, Command::Configuration(ConfigCommand::Example)) {
        print!("{}", config::example_toml());
        return ExitCode::SUCCESS;
    }
    if matches!(command, Command::Configuration(ConfigCommand::Docs)) {
        print!("{}", config::reference_markdown());
        return ExitCode::SUCCESS;
    }
    let config = match config::load(&ConfigSource::from_process(cli.config)) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("gatehouse: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    if matches!(command, Command::Configuration(ConfigCommand::Check)) {
        println!("configuration is valid");
        return ExitCode::SUCCESS;
    }
    startup::init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("gatehouse: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(config).await,
            Command::Backup { to, force } => backup(config, to, force).await,
            Command::Restore { from } => restore(config, from).await,
            Command::Keys(KeysCommand::List) => list_keys(config).await,
            Command::Configuration(_) => Ok(()),
            // The commands that change data record it as the command line's.
            Command::Keys(KeysCommand::Rotate) => as_cli(rotate_keys(config)).await,
            Command::ConnectApp(command) => as_cli(connect_app(config, command)).await,
            Command::Import(command) => as_cli(import(config, command)).await,
            Command::Admin(command) => as_cli(admin(config, command)).await,
            Command::Completions { .. } | Command::Man => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatehouse: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command whose changes the audit trail records as made by `cli`.
async fn as_cli<T>(work: impl std::future::Future<Output = T>) -> T {
    gatehouse_store::changes::acting_as(gatehouse_store::changes::Actor::cli(), work).await
}

async fn serve(config: Config) -> Result<(), String> {
    let issuer = config.issuer.clone();
    // Held until the process ends: `gatehouse restore` refuses while it is.
    let _serving =
        gatehouse_server::backup::hold_serving_lock(&config).map_err(|e| e.to_string())?;
    let prepared = startup::prepare(config).await.map_err(|e| e.to_string())?;
    if let Some(generated) = &prepared.generated_credentials {
        // Shown once, on the console only; only its hash is stored.
        println!(
            "Admin S2S app created (scope root). Save these credentials now; the secret is not shown again:\n  \
             client_id:     {}\n  client_secret: {}\nAdmin SPA app client_id: {}",
            generated.client_id, generated.client_secret, generated.spa_client_id
        );
    }
    if let Some(link) = &prepared.setup_link {
        println!(
            "No administrator exists yet. Open this one-time link to create the first super_admin \
             (or run `gatehouse admin create-user`):\n  {link}"
        );
    }
    let addr = prepared.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, %issuer, "listening");
    prepared
        .serve(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

async fn migrate(config: Config) -> Result<(), String> {
    startup::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    println!("migrations applied");
    Ok(())
}

async fn backup(config: Config, to: PathBuf, force: bool) -> Result<(), String> {
    let database = gatehouse_server::backup::backup(&config, &to, force)
        .await
        .map_err(|e| e.to_string())?;
    println!("backed up {} to {}", database.display(), to.display());
    println!("{}", gatehouse_server::backup::master_key_reminder(&config));
    Ok(())
}

async fn restore(config: Config, from: PathBuf) -> Result<(), String> {
    let restored = gatehouse_server::backup::restore(&config, &from)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "restored {} from {} (schema version {})",
        restored.database.display(),
        from.display(),
        restored.version.0
    );
    if let Some(kept) = &restored.kept {
        println!("the database it replaced is kept as {}", kept.display());
    }
    if restored.version < restored.supported {
        println!(
            "the backup's schema is older than this binary's ({}); it is migrated when the server next starts",
            restored.supported.0
        );
    }
    println!(
        "The server reads the master key from {}: it must be the key the backup was made with.",
        gatehouse_server::backup::master_key_place(&config)
    );
    Ok(())
}

async fn rotate_keys(config: Config) -> Result<(), String> {
    let store = startup::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    let ring = startup::key_ring(&config, &store)
        .await
        .map_err(|e| e.to_string())?;
    let record = ring.rotate().await.map_err(|e| e.to_string())?;
    println!(
        "new signing key {} ({}); previous keys stay published for {} s",
        record.kid, record.algorithm, config.key_rotation_overlap
    );
    Ok(())
}

async fn list_keys(config: Config) -> Result<(), String> {
    let store = startup::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    let keys = gatehouse_server::services::signing_keys::list(&store, now_utc())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{:<64}  {:<6}  {:<19}  {:<8}  retires",
        "kid", "alg", "created", "state"
    );
    for (key, state) in keys {
        println!(
            "{:<64}  {:<6}  {:<19}  {:<8}  {}",
            key.kid,
            key.algorithm,
            format_timestamp(&key.created_at),
            state.as_str(),
            key.retire_at
                .as_ref()
                .map(format_timestamp)
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn admin(config: Config, command: AdminCommand) -> Result<(), String> {
    use gatehouse_server::services::admin_accounts::{create_super_admin, NewAccount};
    use std::io::{BufRead, IsTerminal};
    let AdminCommand::CreateUser {
        email,
        first_name,
        last_name,
    } = command;
    let password = if std::io::stdin().is_terminal() {
        // Typed at a terminal: not echoed, and asked twice since it cannot be seen.
        let ask = |prompt: String| {
            rpassword::prompt_password(prompt)
                .map_err(|e| format!("cannot read the password from the terminal: {e}"))
        };
        let password = ask(format!("Password for {email}: "))?;
        if ask("The same password again: ".to_owned())? != password {
            return Err("the two passwords differ; nothing was created".into());
        }
        password
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let store = startup::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    let passwords = gatehouse_server::crypto::PasswordHasher::new(
        config.password_hash_memory_kib,
        config.password_hash_iterations,
        config.password_hash_parallelism,
        config.password_hash_concurrency,
    )?;
    // The role the first start seeds; the rest of the seed (and its one-time credentials) is
    // left to the first `serve`.
    gatehouse_server::services::bootstrap::ensure_super_admin_role(&store)
        .await
        .map_err(|e| e.to_string())?;
    let input = NewAccount {
        email,
        password,
        first_name,
        last_name,
    };
    let user = create_super_admin(&store, &passwords, &config, input)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "super_admin {} created (authId {})",
        user.email.unwrap_or_default(),
        user.auth_id
    );
    Ok(())
}

async fn connect_app(config: Config, command: ConnectAppCommand) -> Result<(), String> {
    use gatehouse_server::services::connect::{self, ConnectApps};
    let store = startup::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    let apps = ConnectApps::new(&store, config.allow_http_redirect_uris);
    match command {
        ConnectAppCommand::Create {
            name,
            redirect_url,
            display_name,
            logo_url,
            redirect_patterns,
        } => {
            let keys = startup::key_ring(&config, &store)
                .await
                .map_err(|e| e.to_string())?;
            let app = connect::NewApp {
                name,
                redirect_url,
                display_name,
                logo_url,
                redirect_patterns,
            };
            let (record, secret) = apps.create(&keys, app).await.map_err(|e| e.to_string())?;
            // Shown once; stored sealed with the master key.
            println!(
                "connect app {} created; sign-in URL {}/connect/{}\napp secret (save it now, it is not shown again): {secret}",
                record.name, config.issuer, record.name
            );
        }
        ConnectAppCommand::List => {
            for app in apps.list().await.map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}",
                    app.name,
                    app.redirect_url,
                    app.display_name.unwrap_or_default()
                );
            }
        }
        ConnectAppCommand::Delete { name } => {
            apps.delete(&name).await.map_err(|e| match e {
                gatehouse_server::error::ServiceError::NotFound(_) => {
                    format!("no connect app named {name}")
                }
                other => other.to_string(),
            })?;
            println!("connect app {name} deleted");
        }
    }
    Ok(())
}

async fn import(config: Config, command: ImportCommand) -> Result<(), String> {
    use gatehouse_server::services::melody_import::{self, MelodyLocation};
    let ImportCommand::Melody {
        from,
        from_sqlite,
        dry_run,
        json,
    } = command;
    let location = match (from, from_sqlite) {
        (Some(url), None) => MelodyLocation::Postgres(url),
        (None, Some(path)) => MelodyLocation::Sqlite(path),
        _ => return Err("give either --from URL or --from-sqlite FILE".into()),
    };
    // The whole source is read before the target is opened: a bad source changes nothing.
    let started = std::time::Instant::now();
    let tables = melody_import::read_source(&location)
        .await
        .map_err(|e| e.to_string())?;
    let rows: usize = tables
        .iter()
        .filter_map(|t| t.rows.as_ref())
        .map(Vec::len)
        .sum();
    eprintln!(
        "read {rows} rows of Melody's {} tables in {:.1} s",
        tables.len(),
        started.elapsed().as_secs_f64()
    );
    let store = startup::open_store(&config)
        .await
        .map_err(|e| e.to_string())?;
    // Before the key ring, which would make a signing key in an empty database.
    melody_import::ensure_target_ready(&store)
        .await
        .map_err(|e| e.to_string())?;
    let keys = startup::key_ring(&config, &store)
        .await
        .map_err(|e| e.to_string())?;
    // Progress on stderr (the report, JSON or text, stays alone on stdout): at most once a
    // second, and each table's end.
    let mut last_shown = std::time::Instant::now();
    let mut show = |p: melody_import::ImportProgress| {
        let finished = p.done == p.total;
        if p.total == 0 || (!finished && last_shown.elapsed().as_secs() < 1) {
            return;
        }
        last_shown = std::time::Instant::now();
        eprintln!(
            "{}: {} of {} rows ({}%), {:.0} s",
            p.table,
            p.done,
            p.total,
            p.done * 100 / p.total,
            started.elapsed().as_secs_f64()
        );
    };
    let report = melody_import::import(&store, &keys, &tables, dry_run, &mut show)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}
