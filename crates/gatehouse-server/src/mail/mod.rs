//! Outgoing email: one [`Mailer`] over SMTP or a provider's HTTP API, chosen by configuration,
//! and the messages it sends ([`compose`]).

pub mod compose;
mod providers;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, Secret};

pub use providers::Provider;

/// One email, ready to send.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub sender_name: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Why an email could not be sent. The text goes to the server log and the email log; it never
/// holds the message itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Http {
        provider: Provider,
        client: reqwest::Client,
        base_url: String,
        key: Secret,
    },
}

/// The configured way out, or none.
pub struct Mailer {
    transport: Option<Transport>,
    sender_address: String,
    /// In development every email goes here instead.
    dev_receiver: Option<String>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("provider", &self.provider_name())
            .finish()
    }
}

/// The provider `email_provider_name` names, else the first one configured (Melody's order).
pub fn selected_provider(config: &Config) -> Option<Provider> {
    match Provider::parse(&config.email_provider_name) {
        Some(named) => Some(named),
        None => Provider::ALL.into_iter().find(|p| p.is_configured(config)),
    }
}

/// Lettre's URL for ours: a bare `smtp://` means STARTTLS required (lettre would send in the
/// clear); `tls=none` asks for the clear explicitly.
fn smtp_url(url: &str) -> String {
    if url.starts_with("smtp://") && !url.contains("tls=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        return format!("{url}{sep}tls=required");
    }
    url.replace("?tls=none&", "?")
        .replace("&tls=none", "")
        .replace("?tls=none", "")
}

/// The TLS mode of `url` (lettre's form) with `ca_file`'s certificates trusted as well.
fn private_ca_tls(url: &str, ca_file: &str) -> Result<Tls, SendError> {
    let parsed =
        url::Url::parse(url).map_err(|e| SendError(format!("smtp_connection_string: {e}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| SendError("smtp_connection_string has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let pem = std::fs::read(ca_file)
        .map_err(|e| SendError(format!("smtp_ca_certificate {ca_file}: {e}")))?;
    let certificate = Certificate::from_pem(&pem)
        .map_err(|e| SendError(format!("smtp_ca_certificate {ca_file}: {e}")))?;
    let parameters = TlsParameters::builder(host)
        .add_root_certificate(certificate)
        .build_rustls()
        .map_err(|e| SendError(format!("smtp_ca_certificate: {e}")))?;
    let mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    Ok(match (parsed.scheme(), mode.as_deref()) {
        ("smtps", _) => Tls::Wrapper(parameters),
        (_, Some("opportunistic")) => Tls::Opportunistic(parameters),
        (_, Some("required")) => Tls::Required(parameters),
        // `tls=none`: the operator asked for no TLS; a CA file changes nothing.
        _ => Tls::None,
    })
}

impl Mailer {
    /// A mailer that sends nothing (no provider configured).
    pub fn none() -> Self {
        Self {
            transport: None,
            sender_address: String::new(),
            dev_receiver: None,
        }
    }

    pub fn from_config(config: &Config) -> Result<Self, SendError> {
        let Some(provider) = selected_provider(config) else {
            return Ok(Self::none());
        };
        let timeout = Duration::from_secs(config.mail_timeout.max(1));
        let transport = match provider {
            Provider::Smtp => {
                let url = smtp_url(config.smtp_connection_string.expose());
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| SendError(format!("smtp_connection_string: {e}")))?
                    .timeout(Some(timeout));
                if !config.smtp_ca_certificate.is_empty() {
                    builder = builder.tls(private_ca_tls(&url, &config.smtp_ca_certificate)?);
                }
                Transport::Smtp(builder.build())
            }
            http => Transport::Http {
                provider: http,
                client: reqwest::Client::builder()
                    .timeout(timeout)
                    .build()
                    .map_err(|e| SendError(format!("HTTP client: {e}")))?,
                base_url: http.api_url(config).trim_end_matches('/').to_owned(),
                key: http.api_key(config).clone(),
            },
        };
        let dev_receiver = (config.environment == "dev" && !config.dev_email_receiver.is_empty())
            .then(|| config.dev_email_receiver.clone());
        Ok(Self {
            transport: Some(transport),
            sender_address: provider.sender_address(config).to_owned(),
            dev_receiver,
        })
    }

    /// Whether email can be sent at all.
    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    pub fn provider_name(&self) -> Option<&'static str> {
        match &self.transport {
            None => None,
            Some(Transport::Smtp(_)) => Some(Provider::Smtp.name()),
            Some(Transport::Http { provider, .. }) => Some(provider.name()),
        }
    }

    /// Where `to`'s mail really goes (the dev receiver in development).
    pub fn receiver<'a>(&'a self, to: &'a str) -> &'a str {
        self.dev_receiver.as_deref().unwrap_or(to)
    }

    /// Sends one email; `Ok` carries the provider's answer for the email log.
    pub async fn send(&self, email: &Email) -> Result<String, SendError> {
        let Some(transport) = &self.transport else {
            return Err(SendError("no email provider is configured".into()));
        };
        let to = self.receiver(&email.to);
        match transport {
            Transport::Smtp(smtp) => {
                let message = self.smtp_message(email, to)?;
                let response = smtp
                    .send(message)
                    .await
                    .map_err(|e| SendError(format!("SMTP: {e}")))?;
                Ok(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ))
            }
            Transport::Http {
                provider,
                client,
                base_url,
                key,
            } => {
                let request = provider.request(
                    client,
                    base_url,
                    key.expose(),
                    &self.sender_address,
                    email,
                    to,
                )?;
                let response = request
                    .send()
                    .await
                    .map_err(|e| SendError(format!("{}: {e}", provider.name())))?;
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                let body: String = body.chars().take(500).collect();
                if status.is_success() {
                    Ok(format!("{} {body}", status.as_u16()))
                } else {
                    Err(SendError(format!(
                        "{} answered {}: {body}",
                        provider.name(),
                        status.as_u16()
                    )))
                }
            }
        }
    }

    fn smtp_message(&self, email: &Email, to: &str) -> Result<Message, SendError> {
        let from = Mailbox::new(
            Some(email.sender_name.clone()),
            self.sender_address
                .parse()
                .map_err(|e| SendError(format!("smtp_sender_address: {e}")))?,
        );
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError(format!("receiver address: {e}")))?;
        Message::builder()
            .from(from)
            .to(to)
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError(format!("message: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_smtp_requires_starttls_and_none_is_explicit() {
        assert_eq!(
            smtp_url("smtp://u:p@mail.example.com:587"),
            "smtp://u:p@mail.example.com:587?tls=required"
        );
        assert_eq!(
            smtp_url("smtp://127.0.0.1:2525?tls=none"),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            smtp_url("smtps://u:p@mail.example.com"),
            "smtps://u:p@mail.example.com"
        );
    }

    #[test]
    fn the_named_provider_wins_else_the_first_configured() {
        let mut config = Config {
            resend_api_key: Secret::new("re_x"),
            resend_sender_address: "a@example.com".into(),
            postmark_api_key: Secret::new("pm"),
            postmark_sender_address: "a@example.com".into(),
            ..Config::default()
        };
        assert_eq!(selected_provider(&config), Some(Provider::Resend));
        config.email_provider_name = "postmark".into();
        assert_eq!(selected_provider(&config), Some(Provider::Postmark));
        assert_eq!(selected_provider(&Config::default()), None);
    }
}
