//! Outgoing SMS: Twilio's Messages API, or a generic webhook, chosen by configuration.

use std::time::Duration;

use crate::config::{Config, Secret};
use crate::mail::SendError;

enum Route {
    Twilio {
        base_url: String,
        account: String,
        token: Secret,
        from: String,
    },
    Webhook {
        url: String,
        secret: Secret,
    },
}

/// The configured way to send SMS, or none.
pub struct SmsSender {
    route: Option<Route>,
    client: reqwest::Client,
    dev_receiver: Option<String>,
}

impl std::fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSender")
            .field("provider", &self.provider_name())
            .finish()
    }
}

/// `+` and 7 to 15 digits, the first not 0 (E.164).
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A number as typed, in E.164: spaces, dashes, dots and brackets dropped; without a leading
/// `+`, the configured country code is assumed.
pub fn normalize_number(typed: &str, country_code: &str) -> Option<String> {
    let kept: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let number = if kept.starts_with('+') {
        kept
    } else {
        format!("{country_code}{}", kept.trim_start_matches('0'))
    };
    is_e164(&number).then_some(number)
}

impl SmsSender {
    pub fn from_config(config: &Config) -> Result<Self, SendError> {
        let route = if !config.twilio_account_id.is_empty() {
            Some(Route::Twilio {
                base_url: config.twilio_api_url.trim_end_matches('/').to_owned(),
                account: config.twilio_account_id.clone(),
                token: config.twilio_auth_token.clone(),
                from: config.twilio_sender_number.clone(),
            })
        } else if !config.sms_webhook_url.is_empty() {
            Some(Route::Webhook {
                url: config.sms_webhook_url.clone(),
                secret: config.sms_webhook_secret.clone(),
            })
        } else {
            None
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.mail_timeout.max(1)))
            .build()
            .map_err(|e| SendError(format!("HTTP client: {e}")))?;
        let dev_receiver = (config.environment == "dev" && !config.dev_sms_receiver.is_empty())
            .then(|| config.dev_sms_receiver.clone());
        Ok(Self {
            route,
            client,
            dev_receiver,
        })
    }

    pub fn is_configured(&self) -> bool {
        self.route.is_some()
    }

    pub fn provider_name(&self) -> Option<&'static str> {
        match self.route {
            Some(Route::Twilio { .. }) => Some("twilio"),
            Some(Route::Webhook { .. }) => Some("webhook"),
            None => None,
        }
    }

    /// Where `to`'s messages really go (the dev receiver in development).
    pub fn receiver<'a>(&'a self, to: &'a str) -> &'a str {
        self.dev_receiver.as_deref().unwrap_or(to)
    }

    /// Sends `text` to `to`; `Ok` carries the provider's answer for the SMS log.
    pub async fn send(&self, to: &str, text: &str) -> Result<String, SendError> {
        let to = self.receiver(to);
        let request = match &self.route {
            None => return Err(SendError("no SMS provider is configured".into())),
            // https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
            Some(Route::Twilio {
                base_url,
                account,
                token,
                from,
            }) => self
                .client
                .post(format!(
                    "{base_url}/2010-04-01/Accounts/{account}/Messages.json"
                ))
                .basic_auth(account, Some(token.expose()))
                .form(&[("To", to), ("From", from.as_str()), ("Body", text)]),
            Some(Route::Webhook { url, secret }) => {
                let request = self
                    .client
                    .post(url)
                    .json(&serde_json::json!({ "to": to, "text": text }));
                if secret.is_empty() {
                    request
                } else {
                    request.bearer_auth(secret.expose())
                }
            }
        };
        let response = request
            .send()
            .await
            .map_err(|e| SendError(format!("SMS: {e}")))?;
        let status = response.status();
        let body: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        if status.is_success() {
            Ok(format!("{} {body}", status.as_u16()))
        } else {
            Err(SendError(format!(
                "SMS provider answered {}: {body}",
                status.as_u16()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked_and_normalized() {
        assert!(is_e164("+14155550123"));
        assert!(!is_e164("14155550123") && !is_e164("+0123456789") && !is_e164("+1415abc0123"));
        assert_eq!(
            normalize_number("(415) 555-0123", "+1").as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            normalize_number("+33 6 12 34 56 78", "+1").as_deref(),
            Some("+33612345678")
        );
        assert_eq!(normalize_number("12", "+1"), None);
    }
}
