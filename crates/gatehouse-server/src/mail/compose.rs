//! The emails Gatehouse sends, in English, French and Simplified Chinese, as HTML and plain
//! text. Each composed email names the secrets it carries (codes, links) so the email log can
//! store it redacted.

use askama::Template;

use super::{Email, SendError};

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

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlMessage<'a> {
    lang: &'a str,
    subject: &'a str,
    logo_url: &'a str,
    sender_name: &'a str,
    title: &'a str,
    lines: &'a [String],
    code: Option<&'a str>,
    button: Option<(&'a str, &'a str)>,
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "email/message.txt")]
struct TextMessage<'a> {
    title: &'a str,
    lines: &'a [String],
    code: Option<&'a str>,
    button: Option<(&'a str, &'a str)>,
    footer: &'a str,
}

/// One locale's words. `{n}` in `invitation_expiry` is the number of days.
struct Words {
    lang: &'static str,
    verify_subject: &'static str,
    verify_text: &'static str,
    verify_button: &'static str,
    welcome_subject: &'static str,
    welcome_text: &'static str,
    reset_subject: &'static str,
    reset_text: &'static str,
    change_email_subject: &'static str,
    change_email_text: &'static str,
    invitation_subject: &'static str,
    invitation_text: &'static str,
    invitation_button: &'static str,
    invitation_expiry: &'static str,
    passwordless_subject: &'static str,
    passwordless_text: &'static str,
    magic_link_subject: &'static str,
    magic_link_text: &'static str,
    magic_link_button: &'static str,
    code_expiry: &'static str,
    ignore: &'static str,
}

const EN: Words = Words {
    lang: "en",
    verify_subject: "Verify your email address",
    verify_text: "Welcome! Enter this code to verify your email address:",
    verify_button: "Verify my email",
    welcome_subject: "Welcome",
    welcome_text: "Your account is ready. You can sign in with this email address.",
    reset_subject: "Reset your password",
    reset_text: "Enter this code to choose a new password:",
    change_email_subject: "Confirm your new email address",
    change_email_text: "Enter this code to make this your account's email address:",
    invitation_subject: "You are invited",
    invitation_text: "You have been invited to create an account. Choose a password to accept:",
    invitation_button: "Accept the invitation",
    invitation_expiry: "The invitation is valid for {n} days.",
    passwordless_subject: "Your sign-in code",
    passwordless_text: "Enter this code to sign in:",
    magic_link_subject: "Your sign-in link",
    magic_link_text: "Open this link in the browser where you started signing in:",
    magic_link_button: "Sign in",
    code_expiry: "The code expires soon and works once.",
    ignore: "If you did not ask for this, you can ignore this email.",
};

const FR: Words = Words {
    lang: "fr",
    verify_subject: "Vérifiez votre adresse e-mail",
    verify_text: "Bienvenue ! Saisissez ce code pour vérifier votre adresse e-mail :",
    verify_button: "Vérifier mon adresse",
    welcome_subject: "Bienvenue",
    welcome_text: "Votre compte est prêt. Vous pouvez vous connecter avec cette adresse e-mail.",
    reset_subject: "Réinitialisez votre mot de passe",
    reset_text: "Saisissez ce code pour choisir un nouveau mot de passe :",
    change_email_subject: "Confirmez votre nouvelle adresse e-mail",
    change_email_text: "Saisissez ce code pour en faire l'adresse e-mail de votre compte :",
    invitation_subject: "Vous êtes invité",
    invitation_text:
        "Vous êtes invité à créer un compte. Choisissez un mot de passe pour accepter :",
    invitation_button: "Accepter l'invitation",
    invitation_expiry: "L'invitation est valable {n} jours.",
    passwordless_subject: "Votre code de connexion",
    passwordless_text: "Saisissez ce code pour vous connecter :",
    magic_link_subject: "Votre lien de connexion",
    magic_link_text: "Ouvrez ce lien dans le navigateur où vous avez commencé à vous connecter :",
    magic_link_button: "Se connecter",
    code_expiry: "Le code expire bientôt et ne sert qu'une fois.",
    ignore: "Si vous n'êtes pas à l'origine de cette demande, ignorez cet e-mail.",
};

const ZH: Words = Words {
    lang: "zh-CN",
    verify_subject: "验证您的电子邮件地址",
    verify_text: "欢迎！请输入以下验证码以验证您的电子邮件地址：",
    verify_button: "验证我的邮箱",
    welcome_subject: "欢迎",
    welcome_text: "您的账户已准备就绪，可以使用此电子邮件地址登录。",
    reset_subject: "重置您的密码",
    reset_text: "请输入以下验证码以设置新密码：",
    change_email_subject: "确认您的新电子邮件地址",
    change_email_text: "请输入以下验证码，将此地址设为您账户的电子邮件地址：",
    invitation_subject: "您收到了邀请",
    invitation_text: "您受邀创建账户。设置密码即可接受邀请：",
    invitation_button: "接受邀请",
    invitation_expiry: "邀请在 {n} 天内有效。",
    passwordless_subject: "您的登录验证码",
    passwordless_text: "请输入以下验证码登录：",
    magic_link_subject: "您的登录链接",
    magic_link_text: "请在开始登录的浏览器中打开此链接：",
    magic_link_button: "登录",
    code_expiry: "验证码很快过期，且只能使用一次。",
    ignore: "如果这不是您本人的操作，请忽略此邮件。",
};

fn words(locale: &str) -> &'static Words {
    match locale {
        "fr" => &FR,
        l if l.eq_ignore_ascii_case("zh-CN") || l.eq_ignore_ascii_case("zh") => &ZH,
        _ => &EN,
    }
}

/// Builds `mail` for `to` in `locale`.
pub fn compose(
    mail: Mail<'_>,
    to: &str,
    locale: &str,
    branding: &MailBranding,
) -> Result<Composed, SendError> {
    let w = words(locale);
    let (subject, lines, code, button, footer) = match mail {
        Mail::VerifyEmail { code, link } => (
            w.verify_subject,
            vec![w.verify_text.to_owned()],
            Some(code),
            Some((w.verify_button, link)),
            w.ignore,
        ),
        Mail::Welcome => (
            w.welcome_subject,
            vec![w.welcome_text.to_owned()],
            None,
            None,
            w.ignore,
        ),
        Mail::PasswordReset { code } => (
            w.reset_subject,
            vec![w.reset_text.to_owned()],
            Some(code),
            None,
            w.ignore,
        ),
        Mail::ChangeEmail { code } => (
            w.change_email_subject,
            vec![w.change_email_text.to_owned()],
            Some(code),
            None,
            w.ignore,
        ),
        Mail::Invitation { link, days } => (
            w.invitation_subject,
            vec![
                w.invitation_text.to_owned(),
                w.invitation_expiry.replace("{n}", &days.to_string()),
            ],
            None,
            Some((w.invitation_button, link)),
            w.ignore,
        ),
        Mail::PasswordlessCode { code } => (
            w.passwordless_subject,
            vec![w.passwordless_text.to_owned(), w.code_expiry.to_owned()],
            Some(code),
            None,
            w.ignore,
        ),
        Mail::MagicLink { link } => (
            w.magic_link_subject,
            vec![w.magic_link_text.to_owned(), w.code_expiry.to_owned()],
            None,
            Some((w.magic_link_button, link)),
            w.ignore,
        ),
    };
    let html = HtmlMessage {
        lang: w.lang,
        subject,
        logo_url: &branding.logo_url,
        sender_name: &branding.sender_name,
        title: subject,
        lines: &lines,
        code,
        button,
        footer,
    }
    .render()
    .map_err(|e| SendError(format!("email template: {e}")))?;
    let text = TextMessage {
        title: subject,
        lines: &lines,
        code,
        button,
        footer,
    }
    .render()
    .map_err(|e| SendError(format!("email template: {e}")))?;
    let mut secrets: Vec<String> = code.into_iter().map(str::to_owned).collect();
    if let Mail::Invitation { link, .. } | Mail::MagicLink { link } = mail {
        secrets.push(link.to_owned());
    }
    Ok(Composed {
        email: Email {
            to: to.to_owned(),
            sender_name: branding.sender_name.clone(),
            subject: subject.to_owned(),
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
