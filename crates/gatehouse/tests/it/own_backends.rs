//! A test's own PostgreSQL and Redis servers, for tests that must do to them what the suite's
//! shared ones (5432, 6379) must never suffer: TLS-only listeners, passwords, restarts, FLUSHALL.
//! Each runs from a directory of the test's own on a free port, and is stopped when dropped.

use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// A directory removed at the end, servers' files included.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `label`, then this process's id, under the system's temporary directory.
    pub fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{label}_{}", std::process::id()));
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

/// A server process, stopped with its own shutdown signal (then SIGKILL) when dropped, even
/// when a check fails.
pub struct Daemon {
    child: Child,
    stop_signal: &'static str,
    /// Reaped: its id may belong to another process now, so it is never signalled again.
    exited: bool,
}

impl Daemon {
    /// Starts `command` with its output appended to `log`; `stop_signal` (`TERM`, `INT`…) is
    /// how it is asked to stop.
    pub fn spawn(mut command: Command, log: &Path, stop_signal: &'static str) -> Self {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Self {
            child,
            stop_signal,
            exited: false,
        }
    }

    /// Sends `signal` and waits up to `patience` for the process to end; kills it after that.
    fn stop_with(&mut self, signal: &str, patience: Duration) {
        let reaped = self.exited || matches!(self.child.try_wait(), Ok(Some(_)));
        self.exited = true;
        if reaped {
            return;
        }
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop_with(self.stop_signal, Duration::from_secs(5));
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server's certificate and key, and the CA that signed them, as PEM files.
pub struct ServerTls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How a server of the test's own listens: TLS only (with these files) or plain TCP, and
/// whether signing in takes a password.
#[derive(Default)]
pub struct Setup<'a> {
    pub tls: Option<&'a ServerTls>,
    pub password: Option<&'a str>,
}

/// How PostgreSQL is asked to stop (`pg_ctl -m`): `Fast` ends the sessions and checkpoints,
/// `Immediate` quits at once, as a crash would, and recovers from the WAL at the next start.
#[derive(Debug, Clone, Copy)]
pub enum Shutdown {
    Fast,
    Immediate,
}

/// A PostgreSQL cluster in the test's directory, on a free port of 127.0.0.1. With TLS, TCP
/// connections must be encrypted; with a password, they must sign in with it (SCRAM).
pub struct Postgres {
    pub port: u16,
    password: Option<String>,
    program: PathBuf,
    args: Vec<OsString>,
    dir: PathBuf,
    owner: Option<(u32, u32)>,
    daemon: Option<Daemon>,
}

impl Postgres {
    pub fn start(dir: &Path, setup: Setup<'_>) -> Self {
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
        if let Some((uid, gid)) = owner {
            let mut paths = vec![dir];
            if let Some(tls) = setup.tls {
                paths.extend([tls.cert.as_path(), tls.key.as_path()]);
            }
            for path in paths {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            }
        }
        let data = dir.join("pgdata");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-N", "--no-locale"])
            .args(["-E", "UTF8"])
            .env("LC_ALL", "C")
            .current_dir(dir);
        if let Some(password) = setup.password {
            let file = dir.join("pwfile");
            fs::write(&file, password).unwrap();
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&file, Some(uid), Some(gid)).unwrap();
            }
            initdb.arg(format!("--pwfile={}", file.display()));
        }
        as_owner(&mut initdb, owner);
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = fs::remove_file(dir.join("pwfile"));
        // Without TLS a plaintext TCP connection is let in; with it, it finds no entry.
        let host = if setup.tls.is_some() {
            "hostssl"
        } else {
            "host"
        };
        let method = if setup.password.is_some() {
            "scram-sha-256"
        } else {
            "trust"
        };
        fs::write(
            data.join("pg_hba.conf"),
            format!("local all all trust\n{host} all all 127.0.0.1/32 {method}\n"),
        )
        .unwrap();
        let port = free_port();
        let mut args: Vec<OsString> = vec!["-D".into(), data.into_os_string()];
        let mut set = |setting: String| args.extend(["-c".into(), setting.into()]);
        set(format!("port={port}"));
        set("listen_addresses=127.0.0.1".into());
        set(format!("unix_socket_directories={}", dir.display()));
        set("fsync=off".into());
        set("max_connections=30".into());
        if let Some(tls) = setup.tls {
            set("ssl=on".into());
            set(format!("ssl_cert_file={}", tls.cert.display()));
            set(format!("ssl_key_file={}", tls.key.display()));
        }
        let mut postgres = Self {
            port,
            password: setup.password.map(str::to_owned),
            program: bin.join("postgres"),
            args,
            dir: dir.to_owned(),
            owner,
            daemon: None,
        };
        postgres.start_again();
        postgres
    }

    /// Starts the server after [`Postgres::stop`]: the same port and data directory.
    pub fn start_again(&mut self) {
        assert!(self.daemon.is_none(), "PostgreSQL is running");
        let mut server = Command::new(&self.program);
        server.args(&self.args).current_dir(&self.dir);
        as_owner(&mut server, self.owner);
        // SIGINT is PostgreSQL's fast shutdown: unlike SIGTERM, it does not wait for clients
        // to leave.
        self.daemon = Some(Daemon::spawn(server, &self.dir.join("postgres.log"), "INT"));
    }

    /// Stops the server and waits until it has exited.
    pub fn stop(&mut self, how: Shutdown) {
        let signal = match how {
            Shutdown::Fast => "INT",
            Shutdown::Immediate => "QUIT",
        };
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop_with(signal, Duration::from_secs(10));
        }
    }

    /// Gatehouse's URL for this server with this `sslmode`.
    pub fn url(&self, sslmode: &str) -> String {
        let user = match &self.password {
            Some(password) => format!("postgres:{password}"),
            None => "postgres".to_owned(),
        };
        format!(
            "postgres://{user}@127.0.0.1:{}/postgres?sslmode={sslmode}",
            self.port
        )
    }

    /// The URL an admin connection of the test uses: encrypted when the server takes only that.
    fn admin_url(&self) -> String {
        let sslmode = if self.args.iter().any(|a| a == "ssl=on") {
            "require"
        } else {
            "disable"
        };
        self.url(sslmode)
    }

    pub async fn admin(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.admin_url())
            .await
            .unwrap()
    }

    /// Waits until the server takes connections.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match sqlx::PgConnection::connect(&self.admin_url()).await {
                Ok(conn) => return conn.close().await.unwrap(),
                Err(e) if Instant::now() > deadline => {
                    panic!("PostgreSQL did not start: {e}\n{}", self.log())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop(Shutdown::Fast);
    }
}

fn as_owner(command: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
}

/// The newest installed PostgreSQL's programs (Debian keeps them out of `PATH`).
pub fn postgres_bin_dir() -> PathBuf {
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

/// A Redis server on a free port of 127.0.0.1 that keeps nothing on disk: with TLS it listens
/// only for TLS; with a password, as a managed one has, every client must give it.
pub struct Redis {
    pub port: u16,
    password: Option<String>,
    tls_ca: Option<PathBuf>,
    args: Vec<OsString>,
    dir: PathBuf,
    daemon: Option<Daemon>,
}

impl Redis {
    pub fn start(dir: &Path, setup: Setup<'_>) -> Self {
        let port = free_port();
        let mut args: Vec<OsString> = match setup.tls {
            Some(tls) => vec![
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port.to_string().into(),
                "--tls-cert-file".into(),
                tls.cert.clone().into(),
                "--tls-key-file".into(),
                tls.key.clone().into(),
                "--tls-ca-cert-file".into(),
                tls.ca.clone().into(),
                "--tls-auth-clients".into(),
                "no".into(),
            ],
            None => vec!["--port".into(), port.to_string().into()],
        };
        let nothing_on_disk = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        args.extend(nothing_on_disk.map(OsString::from));
        args.extend(["--dir".into(), dir.as_os_str().to_owned()]);
        if let Some(password) = setup.password {
            args.extend(["--requirepass".into(), password.into()]);
        }
        let mut redis = Self {
            port,
            password: setup.password.map(str::to_owned),
            tls_ca: setup.tls.map(|tls| tls.ca.clone()),
            args,
            dir: dir.to_owned(),
            daemon: None,
        };
        redis.start_again();
        redis
    }

    /// Starts the server after [`Redis::stop`], on the same port and empty.
    pub fn start_again(&mut self) {
        assert!(self.daemon.is_none(), "Redis is running");
        let mut server = Command::new("redis-server");
        server.args(&self.args);
        self.daemon = Some(Daemon::spawn(server, &self.dir.join("redis.log"), "TERM"));
    }

    /// Stops the server (SIGTERM: it closes every connection) and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop_with("TERM", Duration::from_secs(10));
        }
    }

    /// Empties the server, every deployment's keys at once.
    pub fn flushall(&self) {
        let mut cli = Command::new("redis-cli");
        cli.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(ca) = &self.tls_ca {
            cli.arg("--tls").arg("--cacert").arg(ca);
        }
        if let Some(password) = &self.password {
            cli.args(["-a", password, "--no-auth-warning"]);
        }
        let out = cli
            .arg("FLUSHALL")
            .output()
            .expect("redis-cli is installed");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.trim() == "OK",
            "FLUSHALL: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Gatehouse's URL for this server, with `scheme` (`redis` or `rediss`).
    pub fn url(&self, scheme: &str) -> String {
        match &self.password {
            Some(password) => format!("{scheme}://:{password}@127.0.0.1:{}", self.port),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    /// Waits until the server listens.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Redis did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}
