//! The forms the sign-in pages post, one type a form: each names the fields its page has, so a
//! handler reads `form.code`, never a field of another page's form. Every field may be absent
//! (an empty value), as a browser posts it; what a field must hold is parsed where it is used
//! (see [`PasskeyAction`]).

use std::collections::BTreeMap;

use gatehouse_core::signin::SignInError;
use serde::Deserialize;

use crate::error::ServiceError;

/// What every form the pages post carries: the browser's CSRF token.
pub trait Protected: serde::de::DeserializeOwned + Send + Sync + 'static {
    fn csrf_token(&self) -> &str;
}

/// What every form posted within a sign-in carries besides: its transaction.
pub trait Posted: Protected {
    fn tx(&self) -> &str;
}

/// Declares a form: `Name { field: Type, … }` gets `tx` and `csrf_token` besides.
macro_rules! posted_forms {
    ($($(#[$doc:meta])* $form:ident { $($(#[$field_doc:meta])* $field:ident: $ty:ty,)* })+) => {$(
        $(#[$doc])*
        #[derive(Debug, Default, Deserialize)]
        #[serde(default)]
        pub struct $form {
            pub tx: String,
            pub csrf_token: String,
            $($(#[$field_doc])* pub $field: $ty,)*
        }

        impl Posted for $form {
            fn tx(&self) -> &str {
                &self.tx
            }
        }

        impl Protected for $form {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    )+};
}

posted_forms! {
    /// A button with nothing to say but which sign-in it belongs to.
    TxForm {}
    /// The sign-in page: the email and password; `extra` holds the captcha's answer.
    SignInForm {
        email: String,
        password: String,
        #[serde(flatten)]
        extra: BTreeMap<String, String>,
    }
    /// The sign-up page; `extra` holds the custom attribute inputs (`attribute.<id>`) and the
    /// captcha's answer.
    SignUpForm {
        email: String,
        password: String,
        first_name: Option<String>,
        last_name: Option<String>,
        #[serde(flatten)]
        extra: BTreeMap<String, String>,
    }
    /// The consent page: `decision=accept`, or anything else to deny.
    ConsentForm {
        decision: Option<String>,
    }
    /// A password, or `stage` naming the other way out (`restart`, `cancel`).
    PasswordForm {
        password: String,
        stage: String,
    }
    /// The policy pages: the new password, the names, or the organization.
    PolicyForm {
        password: String,
        first_name: Option<String>,
        last_name: Option<String>,
        org: Option<String>,
    }
    /// The MFA enrollment page: the chosen factor.
    EnrollForm {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    /// A one-time code (TOTP, email, SMS, passwordless, sign-up verification), or
    /// `stage=resend` (`setup` with `phone_number` on the SMS page); `backup` names the factor
    /// an email code stands in for; `remember` asks to remember the device.
    CodeForm {
        code: String,
        stage: String,
        phone_number: String,
        backup: Option<String>,
        remember: Option<String>,
    }
    /// The passkey pages: `stage=add` with the authenticator's `credential`, `stage=delete`
    /// with `passkey_id`, or done (`remember` declines enrolling for good).
    PasskeyForm {
        stage: String,
        credential: String,
        passkey_id: Option<String>,
        remember: Option<String>,
    }
    /// A credential posted by a script: a passkey's assertion, a provider SDK's token.
    CredentialForm {
        credential: String,
    }
    /// The sign-in with a recovery code.
    RecoveryForm {
        email: String,
        recovery_code: String,
    }
    /// The `change_email` policy: `stage=send` with the new `email`, `stage=confirm` with the
    /// `code` as well.
    ChangeEmailForm {
        email: String,
        code: String,
        stage: String,
    }
    /// The password reset: `stage=request` with the `email` (`extra` holds the captcha's
    /// answer), `stage=reset` with the `code` and the new `password`.
    ResetForm {
        email: String,
        code: String,
        password: String,
        stage: String,
        #[serde(flatten)]
        extra: BTreeMap<String, String>,
    }
    /// The email verification: within a sign-up (`tx`), or from the emailed link (`id`, the
    /// user's `authId`, with the page's `locale`).
    VerifyEmailForm {
        code: String,
        stage: String,
        id: String,
        locale: Option<String>,
    }
    /// Accepting an invitation: its `token`, the password, and where to link on after.
    InvitationForm {
        token: String,
        password: String,
        locale: Option<String>,
        #[serde(rename = "signinUrl")]
        signin_url: Option<String>,
    }
    /// The account page's names.
    NamesForm {
        first_name: Option<String>,
        last_name: Option<String>,
    }
}

/// Prefix of the sign-up form's custom attribute inputs.
pub const ATTRIBUTE_INPUT: &str = "attribute.";

impl SignUpForm {
    /// The custom attribute values the sign-up form posted, by attribute id.
    pub fn attributes(&self) -> BTreeMap<i64, String> {
        self.extra
            .iter()
            .filter_map(|(name, value)| {
                let id = name.strip_prefix(ATTRIBUTE_INPUT)?.parse().ok()?;
                Some((id, value.clone()))
            })
            .collect()
    }
}

/// What a passkey page's post asks for, parsed from [`PasskeyForm`].
pub enum PasskeyAction {
    /// Enroll the passkey the authenticator made.
    Add(crate::services::passkeys::RegistrationResponse),
    /// Remove one of the user's passkeys.
    Delete(i64),
    /// Go on; `remember` declines enrolling a passkey for good.
    Done { remember: bool },
}

impl TryFrom<&PasskeyForm> for PasskeyAction {
    type Error = ServiceError;

    fn try_from(form: &PasskeyForm) -> Result<Self, ServiceError> {
        let refused = |text: &str| ServiceError::from(SignInError::BadInput(text.into()));
        match form.stage.as_str() {
            "add" => serde_json::from_str(&form.credential)
                .map(Self::Add)
                .map_err(|_| refused("Invalid passkey request")),
            "delete" => match form
                .passkey_id
                .as_deref()
                .map(|id| id.trim().parse::<i64>())
            {
                Some(Ok(id)) => Ok(Self::Delete(id)),
                _ => Err(refused("Choose the passkey to remove")),
            },
            _ => Ok(Self::Done {
                remember: form.remember.is_some(),
            }),
        }
    }
}
