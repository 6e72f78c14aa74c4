//! The email providers and, for those with an HTTP API, the request each one documents.

use serde_json::json;

use super::{Email, SendError};
use crate::config::{Config, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Smtp,
    SendGrid,
    Mailgun,
    Brevo,
    Resend,
    Postmark,
}

impl Provider {
    /// Melody's order of preference when none is named.
    pub const ALL: [Provider; 6] = [
        Self::Smtp,
        Self::SendGrid,
        Self::Mailgun,
        Self::Brevo,
        Self::Resend,
        Self::Postmark,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::SendGrid => "sendgrid",
            Self::Mailgun => "mailgun",
            Self::Brevo => "brevo",
            Self::Resend => "resend",
            Self::Postmark => "postmark",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The provider's configured credential (the connection string for SMTP), sender address
    /// and API base URL (none for SMTP), read from one place.
    fn settings(self, c: &Config) -> (&Secret, &str, &str) {
        match self {
            Self::Smtp => (&c.smtp_connection_string, &c.smtp_sender_address, ""),
            Self::SendGrid => (
                &c.sendgrid_api_key,
                &c.sendgrid_sender_address,
                &c.sendgrid_api_url,
            ),
            Self::Mailgun => (
                &c.mailgun_api_key,
                &c.mailgun_sender_address,
                &c.mailgun_api_url,
            ),
            Self::Brevo => (&c.brevo_api_key, &c.brevo_sender_address, &c.brevo_api_url),
            Self::Resend => (
                &c.resend_api_key,
                &c.resend_sender_address,
                &c.resend_api_url,
            ),
            Self::Postmark => (
                &c.postmark_api_key,
                &c.postmark_sender_address,
                &c.postmark_api_url,
            ),
        }
    }

    /// The secret that authenticates to the provider (the connection string for SMTP).
    pub fn api_key(self, c: &Config) -> &Secret {
        self.settings(c).0
    }

    pub fn sender_address(self, c: &Config) -> &str {
        self.settings(c).1
    }

    pub fn api_url(self, c: &Config) -> &str {
        self.settings(c).2
    }

    /// Both the credential and the sender address are set.
    pub fn is_configured(self, c: &Config) -> bool {
        !self.api_key(c).is_empty() && !self.sender_address(c).is_empty()
    }

    /// The API call that sends `email` to `to`, as the provider's reference describes it.
    pub(super) fn request(
        self,
        client: &reqwest::Client,
        base: &str,
        key: &str,
        sender: &str,
        email: &Email,
        to: &str,
    ) -> Result<reqwest::RequestBuilder, SendError> {
        let from = display_address(&email.sender_name, sender);
        Ok(match self {
            // https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
            Self::SendGrid => client
                .post(format!("{base}/v3/mail/send"))
                .bearer_auth(key)
                .json(&json!({
                    "personalizations": [{ "to": [{ "email": to }] }],
                    "from": { "email": sender, "name": email.sender_name },
                    "subject": email.subject,
                    "content": [
                        { "type": "text/plain", "value": email.text },
                        { "type": "text/html", "value": email.html },
                    ],
                })),
            // https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages
            Self::Mailgun => {
                let domain = sender
                    .rsplit_once('@')
                    .map(|(_, d)| d)
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| {
                        SendError("mailgun_sender_address must be an email address".into())
                    })?;
                client
                    .post(format!("{base}/v3/{domain}/messages"))
                    .basic_auth("api", Some(key))
                    .form(&[
                        ("from", from.as_str()),
                        ("to", to),
                        ("subject", &email.subject),
                        ("text", &email.text),
                        ("html", &email.html),
                    ])
            }
            // https://developers.brevo.com/reference/sendtransacemail
            Self::Brevo => client
                .post(format!("{base}/v3/smtp/email"))
                .header("api-key", key)
                .header("accept", "application/json")
                .json(&json!({
                    "sender": { "name": email.sender_name, "email": sender },
                    "to": [{ "email": to }],
                    "subject": email.subject,
                    "htmlContent": email.html,
                    "textContent": email.text,
                })),
            // https://resend.com/docs/api-reference/emails/send-email
            Self::Resend => client
                .post(format!("{base}/emails"))
                .bearer_auth(key)
                .json(&json!({
                    "from": from,
                    "to": [to],
                    "subject": email.subject,
                    "html": email.html,
                    "text": email.text,
                })),
            // https://postmarkapp.com/developer/api/email-api
            Self::Postmark => client
                .post(format!("{base}/email"))
                .header("X-Postmark-Server-Token", key)
                .header("accept", "application/json")
                .json(&json!({
                    "From": from,
                    "To": to,
                    "Subject": email.subject,
                    "HtmlBody": email.html,
                    "TextBody": email.text,
                    "MessageStream": "outbound",
                })),
            Self::Smtp => {
                return Err(SendError("SMTP has no HTTP API".into()));
            }
        })
    }
}

/// `"Name" <address>`, the name quoted so commas and brackets in it stay part of the name.
fn display_address(name: &str, address: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    if name.is_empty() {
        address.to_owned()
    } else {
        format!("\"{name}\" <{address}>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        assert_eq!(
            display_address("Acme, \"Inc\"", "a@example.com"),
            "\"Acme, \\\"Inc\\\"\" <a@example.com>"
        );
        assert_eq!(display_address("", "a@example.com"), "a@example.com");
    }
}
