//! A real SMTP server per test (aiosmtpd, started from `tests/clients/smtp_receiver.py`) and a
//! way to wait for the mail it received.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use gatehouse_server::config::{Config, Secret};

pub const SENDER: &str = "no-reply@gatehouse.test";
pub const SMTP_USER: &str = "mailer";
pub const SMTP_PASSWORD: &str = "smtp-password-for-tests";

/// A running SMTP receiver and the folder it writes each message to.
pub struct Mailbox {
    pub port: u16,
    pub dir: PathBuf,
    _child: tokio::process::Child,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub authenticated: bool,
    pub tls: bool,
}

impl Mailbox {
    /// Starts a receiver that requires SMTP AUTH with [`SMTP_USER`] / [`SMTP_PASSWORD`].
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A receiver that speaks TLS (`starttls`, AUTH only after it, or `implicit`) with a
    /// certificate for 127.0.0.1 from a private CA; returns it and the CA's PEM file.
    pub async fn start_tls(mode: &str) -> (Self, PathBuf) {
        let dir = crate::harness::fresh_temp_dir(&format!("gh_smtp_ca_{mode}"));
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(
            dir.join("leaf.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
        )
        .unwrap();
        // Both the CA and the leaf get a fresh, unencrypted P-256 key.
        let new_key = |key_file| {
            [
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key_file,
            ]
        };
        run(&[
            &new_key("ca.key")[..],
            &[
                "-x509",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Gatehouse test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat());
        run(&[
            &new_key("leaf.key")[..],
            &["-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
        ]
        .concat());
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ]);
        let cert = dir.join("leaf.pem").display().to_string();
        let key = dir.join("leaf.key").display().to_string();
        let mailbox = Self::start_with(&[
            ("SMTP_TLS", mode.to_owned()),
            ("SMTP_CERT", cert),
            ("SMTP_KEY", key),
        ])
        .await;
        (mailbox, dir.join("ca.pem"))
    }

    async fn start_with(env: &[(&str, String)]) -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!("gh_mail_{}_{}", std::process::id(), port));
        std::fs::create_dir_all(&dir).unwrap();
        let script = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/clients/smtp_receiver.py"
        ));
        let mut child = tokio::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .env("SMTP_USER", SMTP_USER)
            .env("SMTP_PASSWORD", SMTP_PASSWORD)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the SMTP receiver (./scripts/test installs aiosmtpd)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP receiver starts within 20 s")
            .unwrap();
        assert_eq!(
            ready.as_deref(),
            Some("ready"),
            "the SMTP receiver did not start (is aiosmtpd installed?)"
        );
        Self {
            port,
            dir,
            _child: child,
        }
    }

    /// Points a server's configuration at this receiver.
    pub fn configure(&self, config: &mut Config) {
        config.smtp_connection_string = Secret::new(format!(
            "smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{}?tls=none",
            self.port
        ));
        config.smtp_sender_address = SENDER.into();
    }

    /// Every message received so far, oldest first.
    pub fn all(&self) -> Vec<Mail> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|path| {
                let v: Value =
                    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                Mail {
                    to: v["to"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect(),
                    from: v["from"].as_str().unwrap().to_owned(),
                    subject: v["subject"].as_str().unwrap().to_owned(),
                    text: v["text"].as_str().unwrap().to_owned(),
                    html: v["html"].as_str().unwrap().to_owned(),
                    authenticated: v["authenticated"].as_bool().unwrap_or(false),
                    tls: v["tls"].as_bool().unwrap_or(false),
                }
            })
            .collect()
    }

    /// Waits (up to 15 s) for the `n`th message (1-based) sent to `to`.
    pub async fn nth_to(&self, to: &str, n: usize) -> Mail {
        for _ in 0..150 {
            let mine: Vec<Mail> = self
                .all()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
                .collect();
            if mine.len() >= n {
                return mine[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no message #{n} to {to} arrived; received: {:?}",
            self.all()
        );
    }

    /// Waits (up to 15 s) for a message to `to` with this subject (background sends may arrive
    /// in any order).
    pub async fn with_subject(&self, to: &str, subject: &str) -> Mail {
        for _ in 0..150 {
            let found = self
                .all()
                .into_iter()
                .find(|m| m.subject == subject && m.to.iter().any(|t| t.eq_ignore_ascii_case(to)));
            if let Some(mail) = found {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no message \"{subject}\" to {to} arrived; received: {:?}",
            self.all()
        );
    }

    /// Waits for the first message to `to`.
    pub async fn first_to(&self, to: &str) -> Mail {
        self.nth_to(to, 1).await
    }

    /// How many messages `to` has received.
    pub fn count_to(&self, to: &str) -> usize {
        self.all()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .count()
    }
}

impl Mail {
    /// The six-digit code in the plain-text body.
    pub fn code(&self) -> String {
        self.text
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| panic!("no code in {}", self.text))
            .to_owned()
    }

    /// The first link in the plain-text body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let at = self
            .text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in {}", self.text));
        self.text[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }
}
