//! Sign-up: a new account from the form (names, custom attributes checked before anything is
//! written), its email verification during a browser sign-up, then the rest of the sign-in.

use std::collections::BTreeMap;

use gatehouse_core::admin::{email_address, AdminRuleError};
use gatehouse_core::password::check_new_password;
use gatehouse_core::signin::{FirstFactor, SignInError, Step};
use gatehouse_core::webhooks;
use gatehouse_store::changes::recording;
use gatehouse_store::{AccountStore, NewSignUp, UserAttributeRecord, UserAttributeStore};

use crate::error::ServiceError;
use crate::services::signin::{
    at_step, complete_step, signed_in, Outcome, RequestMeta, SignedInUser, StepCall, Transaction,
    TxCall,
};
use crate::services::{audit, lifecycle, user_attributes};
use crate::state::AppState;

/// New-account fields from the sign-up form.
#[derive(Debug, Clone, Default)]
pub struct SignUpInput {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Values of custom attributes by attribute id (`enable_user_attribute`).
    pub attributes: BTreeMap<i64, String>,
}

fn optional_name(
    value: Option<&str>,
    label: &str,
    required: bool,
) -> Result<Option<String>, SignInError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        None if required => Err(SignInError::BadInput(format!("{label} is required"))),
        Some(v) if v.chars().count() > 50 => Err(SignInError::BadInput(format!(
            "{label} must be at most 50 characters"
        ))),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Creates an account and signs it in.
pub async fn sign_up(
    state: &AppState,
    id: &str,
    tx: Transaction,
    input: SignUpInput,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    let config = &state.config;
    if !sign_up_open(state, &tx) {
        return Err(SignInError::FeatureOff("Sign-up").into());
    }
    tx.expect_first_factor()?;
    let email = email_address(&input.email).map_err(|e| SignInError::BadInput(e.to_string()))?;
    check_new_password(&input.password).map_err(|e| SignInError::BadInput(e.to_string()))?;
    let (first_name, last_name) = if config.enable_names {
        (
            optional_name(
                input.first_name.as_deref(),
                "First name",
                config.names_is_required,
            )?,
            optional_name(
                input.last_name.as_deref(),
                "Last name",
                config.names_is_required,
            )?,
        )
    } else {
        (None, None)
    };
    if state.store.password_account(&email).await?.is_some() {
        return Err(SignInError::EmailInUse.into());
    }
    let attributes = checked_attributes(state, &input.attributes, &tx.request.locale).await?;
    let password_hash = state.passwords.hash(input.password).await?;
    let auth_id = uuid::Uuid::new_v4().to_string();
    let change = audit::user_created(
        &auth_id,
        Some(&email),
        first_name.as_deref(),
        last_name.as_deref(),
        webhooks::USER_SIGNED_UP,
    );
    let new_user = NewSignUp {
        auth_id,
        email,
        password_hash: Some(password_hash),
        first_name,
        last_name,
        locale: tx.request.locale.clone(),
    };
    let user = recording(change, state.store.insert_sign_up(&new_user))
        .await
        .map_err(|err| match err {
            gatehouse_store::StoreError::Conflict(_) => SignInError::EmailInUse.into(),
            other => ServiceError::Store(other),
        })?;
    for (attribute_id, value) in &attributes {
        state
            .store
            .set_user_attribute_value(user.id, *attribute_id, Some(value))
            .await?;
    }
    lifecycle::after_sign_up(
        state,
        &lifecycle::Recipient {
            user_id: user.id,
            auth_id: &user.auth_id,
            email: user.email.as_deref().unwrap_or_default(),
            locale: &user.locale,
            // Signing up through an organization's pages: its name and logo on the email.
            org_slug: tx
                .request
                .org
                .as_deref()
                .filter(|_| tx.branding.is_some())
                .unwrap_or(&user.org_slug),
        },
    )
    .await?;
    let user = SignedInUser {
        id: user.id,
        auth_id: user.auth_id,
    };
    signed_in(state, id, tx, user, FirstFactor::SignUp, meta).await
}

/// Whether this sign-in may create an account: sign-up on, passwordless off, and the
/// organization the request names (if any) open to public registration.
pub fn sign_up_open(state: &AppState, tx: &Transaction) -> bool {
    let config = &state.config;
    config.enable_sign_up
        && !config.enable_passwordless_sign_in
        && tx.branding.as_ref().is_none_or(|b| b.allow_sign_up)
}

/// The custom attributes the sign-up form asks for: none unless `enable_user_attribute`.
pub async fn sign_up_attributes(
    state: &AppState,
) -> Result<Vec<UserAttributeRecord>, ServiceError> {
    if !state.config.enable_user_attribute {
        return Ok(Vec::new());
    }
    let mut attributes = state.store.list_user_attributes().await?;
    attributes.retain(|a| a.include_in_sign_up_form);
    Ok(attributes)
}

/// The submitted attribute values to store, after checking each against the form: required
/// ones present, each matching its rule, unique ones not taken. Ids not on the form are refused.
async fn checked_attributes(
    state: &AppState,
    submitted: &BTreeMap<i64, String>,
    locale: &str,
) -> Result<Vec<(i64, String)>, ServiceError> {
    let fields = sign_up_attributes(state).await?;
    if let Some(id) = submitted
        .keys()
        .find(|id| !fields.iter().any(|f| f.id == **id))
    {
        return Err(SignInError::BadInput(format!("Unknown attribute: {id}")).into());
    }
    let mut values = Vec::new();
    for field in &fields {
        let value = submitted
            .get(&field.id)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty());
        let Some(value) = value else {
            if field.required_in_sign_up_form {
                let message = format!("Attribute is required: {}", field.name);
                return Err(SignInError::BadInput(message).into());
            }
            continue;
        };
        if value.chars().count() > ATTRIBUTE_VALUE_MAX {
            let message = format!(
                "{} must be at most {ATTRIBUTE_VALUE_MAX} characters",
                field.name
            );
            return Err(SignInError::BadInput(message).into());
        }
        if !user_attributes::value_matches_rule(field, value) {
            return Err(SignInError::BadInput(user_attributes::rule_message(field, locale)).into());
        }
        // A new user has no id yet: no one is excluded.
        if field.is_unique
            && state
                .store
                .attribute_value_taken(field.id, value, None)
                .await?
        {
            let taken = AdminRuleError::UniqueAttributeAlreadyExists {
                value: value.to_owned(),
                attribute: field.name.clone(),
            };
            return Err(SignInError::BadInput(taken.to_string()).into());
        }
        values.push((field.id, value.to_owned()));
    }
    Ok(values)
}

/// Longest custom attribute value accepted at sign-up.
const ATTRIBUTE_VALUE_MAX: usize = 255;

/// The emailed code of a browser sign-up: checked, then the sign-in goes on.
pub async fn verify_sign_up_email(call: TxCall<'_>, code: &str) -> Result<Outcome, ServiceError> {
    let (state, id, tx, meta) = call.into_parts();
    let at = at_step(state, &tx, &[Step::VerifyEmail], meta).await?;
    lifecycle::verify_email(state, &at.user().auth_id, code, meta.ip).await?;
    complete_step(StepCall::new(state, id, tx, at, meta)).await
}

/// Sends the sign-up's verification code again (counted like other emailed codes).
pub async fn resend_sign_up_code(
    state: &AppState,
    tx: &Transaction,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    let user = tx.user().ok_or(SignInError::WrongStep)?;
    let record = state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    lifecycle::resend_verification_code(state, &record, meta.ip).await
}
