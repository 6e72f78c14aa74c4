//! The emails Gatehouse sends, in each language of the catalogue (`crate::i18n`), as HTML and
//! plain text. Each composed email names the secrets it carries (codes, links) so the email log can
//! store it redacted.

use askama::Template;

use super::{Email, SendError};
use crate::i18n;

/// Whose name and logo an email carries: the user's organization's, else the server's.
#[derive(Debug, Clone, Default)]
pub struct MailBranding {
    pub sender_name: String,
    pub logo_url: String,
}

/// What to send.
#[derive(Debug, Clone, Copy)]
pub enum Mail<'a> {
    /// The code that proves a new account's address, with the page to enter it on.
    VerifyEmail {
        code: &'a str,
        link: &'a str,
    },
    /// Sent after sign-up instead of a verification code, when so configured.
    Welcome,
    PasswordReset {
        code: &'a str,
    },
    /// The code that proves a new address, sent to that address.
    ChangeEmail {
        code: &'a str,
    },
    Invitation {
        link: &'a str,
        days: u64,
    },
    PasswordlessCode {
        code: &'a str,
    },
    MagicLink {
        link: &'a str,
    },
}

/// A composed email and the secrets in it.
pub struct Composed {
    pub email: Email,
    pub secrets: Vec<String>,
}

/// What a message says, in both its forms.
struct Message<'a> {
    title: &'a str,
    lines: Vec<String>,
    code: Option<&'a str>,
    button: Option<(&'a str, &'a str)>,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlMessage<'a> {
    lang: &'a str,
    dir: &'a str,
    logo_url: &'a str,
    sender_name: &'a str,
    m: &'a Message<'a>,
}

#[derive(Template)]
#[template(path = "email/message.txt")]
struct TextMessage<'a> {
    m: &'a Message<'a>,
}

fn render(template: &impl Template) -> Result<String, SendError> {
    template
        .render()
        .map_err(|e| SendError(format!("email template: {e}")))
}

/// Builds `mail` for `to` in `locale`.
pub fn compose(
    mail: Mail<'_>,
    to: &str,
    locale: &str,
    branding: &MailBranding,
) -> Result<Composed, SendError> {
    let language = i18n::catalogue(locale);
    let w = &language.mail;
    let one = |line: &str| vec![line.to_owned()];
    let expiring = |line: &str| vec![line.to_owned(), w.code_expiry.to_owned()];
    let (title, lines, code, button) = match mail {
        Mail::VerifyEmail { code, link } => (
            w.verify_subject,
            one(w.verify_text),
            Some(code),
            Some((w.verify_button, link)),
        ),
        Mail::Welcome => (w.welcome_subject, one(w.welcome_text), None, None),
        Mail::PasswordReset { code } => (w.reset_subject, one(w.reset_text), Some(code), None),
        Mail::ChangeEmail { code } => (
            w.change_email_subject,
            one(w.change_email_text),
            Some(code),
            None,
        ),
        Mail::Invitation { link, days } => (
            w.invitation_subject,
            vec![
                w.invitation_text.to_owned(),
                w.invitation_expiry.replace("{n}", &days.to_string()),
            ],
            None,
            Some((w.invitation_button, link)),
        ),
        Mail::PasswordlessCode { code } => (
            w.passwordless_subject,
            expiring(w.passwordless_text),
            Some(code),
            None,
        ),
        Mail::MagicLink { link } => (
            w.magic_link_subject,
            expiring(w.magic_link_text),
            None,
            Some((w.magic_link_button, link)),
        ),
    };
    let message = Message {
        title,
        lines,
        code,
        button,
        footer: w.ignore,
    };
    let html = render(&HtmlMessage {
        lang: language.page.lang,
        dir: language.page.dir(),
        logo_url: &branding.logo_url,
        sender_name: &branding.sender_name,
        m: &message,
    })?;
    let text = render(&TextMessage { m: &message })?;
    let mut secrets: Vec<String> = code.into_iter().map(str::to_owned).collect();
    if let Mail::Invitation { link, .. } | Mail::MagicLink { link } = mail {
        secrets.push(link.to_owned());
    }
    Ok(Composed {
        email: Email {
            to: to.to_owned(),
            sender_name: branding.sender_name.clone(),
            subject: title.to_owned(),
            html,
            text,
        },
        secrets,
    })
}

/// `content` with every secret replaced, as the email log stores it; the HTML-escaped form of
/// a secret (a link's `&` written `&#38;`) is replaced too.
pub fn redact(content: &str, secrets: &[String]) -> String {
    let mut out = content.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret.as_str(), "[redacted]");
        let escaped = html_escaped(secret);
        if escaped != *secret {
            out = out.replace(&escaped, "[redacted]");
        }
    }
    out
}

/// Text as the HTML templates write it.
fn html_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&#38;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_links_are_redacted_from_the_logged_copy() {
        let branding = MailBranding {
            sender_name: "Acme".into(),
            logo_url: String::new(),
        };
        let link = "https://id.example.com/identity/v1/view/verify-email?id=u1&locale=fr";
        let composed = compose(
            Mail::VerifyEmail {
                code: "123456",
                link,
            },
            "a@example.com",
            "fr",
            &branding,
        )
        .unwrap();
        assert!(composed.email.html.contains("123456"));
        assert!(composed.email.text.contains("123456"));
        assert!(composed.email.subject.contains("Vérifiez"));
        let logged = redact(&composed.email.html, &composed.secrets);
        assert!(!logged.contains("123456"), "{logged}");

        let invite =
            "https://id.example.com/identity/v1/view/accept-invitation?token=abc&locale=en";
        let composed = compose(
            Mail::Invitation {
                link: invite,
                days: 7,
            },
            "a@example.com",
            "zh-CN",
            &branding,
        )
        .unwrap();
        assert!(composed.email.text.contains(invite));
        assert!(composed.email.text.contains("7 天"));
        let logged = redact(&composed.email.html, &composed.secrets);
        assert!(!logged.contains("token=abc"), "{logged}");
    }
}
