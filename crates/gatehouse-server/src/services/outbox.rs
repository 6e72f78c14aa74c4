//! Sending email off the request path: a request composes the message and returns; delivery,
//! its server-log line, its email-log row and its count on the dashboard happen in the
//! background.

use gatehouse_store::{CountedEvent, LogStore, MessageLog, NewMessageLog, OrgStore};

use crate::error::ServiceError;
use crate::mail::compose::{compose, redact, Mail, MailBranding};
use crate::services::dashboard::count_event;
use crate::state::AppState;

/// The sender name and logo for a user in organization `org_slug` (empty: the server's).
pub async fn branding_for(
    state: &AppState,
    org_slug: Option<&str>,
) -> Result<MailBranding, ServiceError> {
    let config = &state.config;
    let mut branding = MailBranding {
        sender_name: config.email_sender_name.clone(),
        logo_url: config.company_email_logo_url.clone(),
    };
    let slug = org_slug.map(str::trim).filter(|s| !s.is_empty());
    if let (true, Some(slug)) = (config.enable_org, slug) {
        if let Some(org) = state.store.org_by_slug(slug).await? {
            if !org.email_sender_name.is_empty() {
                branding.sender_name = org.email_sender_name;
            }
            if !org.company_email_logo_url.is_empty() {
                branding.logo_url = org.company_email_logo_url;
            }
        }
    }
    Ok(branding)
}

/// Composes `mail` for `to` and sends it in the background.
pub async fn send(
    state: &AppState,
    mail: Mail<'_>,
    to: &str,
    locale: &str,
    org_slug: Option<&str>,
) -> Result<(), ServiceError> {
    let branding = branding_for(state, org_slug).await?;
    let composed =
        compose(mail, to, locale, &branding).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let state = state.clone();
    tokio::spawn(async move {
        let email = composed.email;
        let receiver = state.mailer.receiver(&email.to).to_owned();
        let result = state.mailer.send(&email).await;
        let (success, response) = match &result {
            Ok(answer) => {
                tracing::info!(subject = %email.subject, "email sent");
                (true, answer.clone())
            }
            Err(err) => {
                tracing::warn!(code = "GH-MAIL", error = %err, subject = %email.subject, "email not sent");
                (false, err.to_string())
            }
        };
        state.metrics.record_email(success);
        let delivery = if success {
            CountedEvent::EmailSent
        } else {
            CountedEvent::EmailFailed
        };
        count_event(&state.store, delivery);
        if state.config.enable_email_log {
            let content = redact(&email.html, &composed.secrets);
            let response = redact(&response, &composed.secrets);
            record(
                &state,
                MessageLog::Email,
                success,
                &receiver,
                &response,
                &content,
            )
            .await;
        }
    });
    Ok(())
}

/// Texts `text` to `to` in the background; `secret` (the code in it) is redacted from the SMS
/// log.
pub fn send_sms(state: &AppState, to: &str, text: &str, secret: &str) {
    let state = state.clone();
    let (to, text, secret) = (to.to_owned(), text.to_owned(), secret.to_owned());
    tokio::spawn(async move {
        let receiver = state.sms.receiver(&to).to_owned();
        let (success, response) = match state.sms.send(&to, &text).await {
            Ok(answer) => (true, answer),
            Err(err) => {
                tracing::warn!(code = "GH-SMS", error = %err, "SMS not sent");
                (false, err.to_string())
            }
        };
        let delivery = if success {
            CountedEvent::SmsSent
        } else {
            CountedEvent::SmsFailed
        };
        count_event(&state.store, delivery);
        if state.config.enable_sms_log {
            let secrets = [secret];
            let response = redact(&response, &secrets);
            let content = redact(&text, &secrets);
            record(
                &state,
                MessageLog::Sms,
                success,
                &receiver,
                &response,
                &content,
            )
            .await;
        }
    });
}

/// Writes one delivery to its log (the content already redacted).
async fn record(
    state: &AppState,
    log: MessageLog,
    success: bool,
    receiver: &str,
    response: &str,
    content: &str,
) {
    let entry = NewMessageLog {
        success,
        receiver,
        response,
        content,
    };
    if let Err(err) = state.store.insert_message_log(log, &entry).await {
        tracing::warn!(error = %err, "could not write a delivery log");
    }
}
