//! Sending email off the request path: a request composes the message and returns; delivery,
//! its server-log line and its email-log row happen in the background.

use gatehouse_store::{LogStore, MessageLog, NewMessageLog, OrgStore};

use crate::error::ServiceError;
use crate::mail::compose::{compose, redact, Mail, MailBranding};
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
        if state.config.enable_email_log {
            let content = redact(&email.html, &composed.secrets);
            let entry = NewMessageLog {
                success,
                receiver: &receiver,
                response: &redact(&response, &composed.secrets),
                content: &content,
            };
            if let Err(err) = state
                .store
                .insert_message_log(MessageLog::Email, &entry)
                .await
            {
                tracing::warn!(error = %err, "could not write the email log");
            }
        }
    });
    Ok(())
}
