//! Moving a transaction through its steps, and finishing it with an authorization code.

use std::time::Duration;

use gatehouse_core::grant::authorization_code::IssuedCode;
use gatehouse_core::signin::{AtStep, FirstFactor, Proof, SignInError, Step};

use super::{
    code_key, discard, save, Completion, Outcome, RequestMeta, SignedInUser, StepCall, Transaction,
    ACCOUNT_PAGE,
};
use crate::crypto::random_token;
use crate::error::ServiceError;
use crate::services::step_facts::KnownFactors;
use crate::state::AppState;

/// A submission may begin: the transaction is signed in and owes one of `steps` now. The
/// answer names the account and is what [`complete_step`] records.
pub async fn at_step(
    state: &AppState,
    tx: &Transaction,
    steps: &[Step],
    meta: RequestMeta<'_>,
) -> Result<AtStep, ServiceError> {
    let owned = crate::services::step_facts::facts_for(state, tx, meta, None).await?;
    Ok(tx.proof.at(steps, &owned.facts())?)
}

/// Moves the transaction on: to its next page, or to the authorization code.
pub async fn advance(
    state: &AppState,
    id: &str,
    tx: Transaction,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    advance_knowing(state, id, tx, meta, None).await
}

/// `advance`, with the signed-in user's second factors when the caller has just read them.
pub(super) async fn advance_knowing(
    state: &AppState,
    id: &str,
    tx: Transaction,
    meta: RequestMeta<'_>,
    known: Option<KnownFactors>,
) -> Result<Outcome, ServiceError> {
    let owned = crate::services::step_facts::facts_for(state, &tx, meta, known).await?;
    let facts = owned.facts();
    if let Some(step) = tx.proof.owed(&facts) {
        save(state, id, &tx).await?;
        return Ok(Outcome::Step(step));
    }
    tx.proof
        .secured(&facts)
        .map_err(gatehouse_core::TokenError::from)?;
    finish(state, id, tx, meta).await.map(Outcome::Done)
}

/// Records the step a submission began at (see [`at_step`]: asked before the submission
/// changes anything, since what it changes may change what is owed) and moves on.
pub async fn complete_step(call: StepCall<'_>) -> Result<Outcome, ServiceError> {
    let (state, id, tx, at, meta) = call.into_parts();
    passed(state, id, tx, (at, Passed::Step), meta).await
}

/// How a passed step counts toward the sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passed {
    /// The step itself.
    Step,
    /// An emailed code: the email step, or the TOTP or SMS step it stands in for.
    ByEmail,
    /// The account proved itself again at the confirm step: the sign-in is fresh from
    /// `meta.now`.
    Reconfirmed,
}

/// Records the step passed at `at`, counted as `how`, and moves on.
pub async fn passed(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    (at, how): (AtStep, Passed),
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    match how {
        Passed::Step => tx.proof.complete(at)?,
        Passed::ByEmail => tx.proof.complete_by_email(at)?,
        Passed::Reconfirmed => tx.proof.reconfirm(at, meta.now)?,
    }
    advance(state, id, tx, meta).await
}

/// The same request as a new sign-in with nothing proven (the browser's session is not used
/// for it); the old transaction ends. Returns the new transaction's id.
pub async fn start_over(
    state: &AppState,
    id: &str,
    tx: Transaction,
) -> Result<String, ServiceError> {
    // Same request and browser binding; nothing proven.
    let fresh = Transaction {
        proof: Proof::default(),
        session_id: None,
        session_methods: None,
        passwordless_email: None,
        recovery_codes: None,
        pending_link: None,
        ..tx
    };
    let new_id = random_token::<32>();
    save(state, &new_id, &fresh).await?;
    discard(state, id).await?;
    Ok(new_id)
}

/// The first factor proved `user`: the transaction is signed in and moves on. Refused once
/// the transaction has an account (first factors also ask [`Transaction::expect_first_factor`]
/// before they check anything, so a refused post changes nothing).
pub async fn signed_in(
    state: &AppState,
    id: &str,
    mut tx: Transaction,
    user: SignedInUser,
    factor: FirstFactor,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    tx.proof.sign_in(user, factor, meta.now)?;
    tx.session_id = None;
    advance(state, id, tx, meta).await
}

/// A completion without a code: the browser goes straight to `to` (see
/// [`Completion::direct_redirect`]).
fn direct(
    tx: &Transaction,
    redirect_uri: String,
    to: String,
    session_cookie: Option<String>,
) -> Completion {
    Completion {
        redirect_uri,
        code: String::new(),
        state: String::new(),
        response_mode: tx.request.response_mode,
        locale: tx.request.locale.clone(),
        org: None,
        session_cookie,
        direct_redirect: Some(to),
    }
}

async fn finish(
    state: &AppState,
    id: &str,
    tx: Transaction,
    meta: RequestMeta<'_>,
) -> Result<Completion, ServiceError> {
    let user = tx.proof.user().cloned().ok_or(SignInError::WrongStep)?;
    // `claims` named the account (a `sub` value): no other may finish (OIDC Core §3.1.2.2).
    if tx
        .request
        .expected_subject
        .as_ref()
        .is_some_and(|expected| *expected != user.auth_id)
    {
        return Err(SignInError::NotTheRequestedAccount.into());
    }
    let auth_time = tx.proof.auth_time().unwrap_or(meta.now);
    crate::services::audit::signed_in(state, &user.auth_id, &tx.request.client_id).await?;
    let amr = tx.proof.methods(tx.session_methods.as_deref());
    let mut session_id = tx.session_id;
    let mut session_cookie = None;
    // Browser sign-ins start a single sign-on session; the embedded API has no browser.
    if session_id.is_none() && tx.browser_key.is_some() {
        if let Some((sid, cookie)) = state
            .sessions()
            .start(
                user.id,
                auth_time,
                &amr,
                (meta.ip, meta.user_agent),
                meta.now,
            )
            .await?
        {
            session_id = Some(sid);
            session_cookie = Some(cookie);
        }
    }
    if tx.account_page {
        discard(state, id).await?;
        let page = format!("{ACCOUNT_PAGE}?locale={}", tx.request.locale);
        return Ok(direct(&tx, ACCOUNT_PAGE.to_owned(), page, session_cookie));
    }
    if let Some(target) = &tx.device {
        let device = crate::services::device_flow::approve;
        device(state, target, user.clone(), (auth_time, &amr), session_id).await?;
        discard(state, id).await?;
        let page = format!(
            "{}?result=approved&locale={}",
            crate::services::device_flow::PAGE,
            tx.request.locale
        );
        return Ok(direct(&tx, page.clone(), page, session_cookie));
    }
    if let Some(target) = &tx.connect {
        let redirect =
            crate::services::connect::sauce_redirect(state, target, user.id, meta.now).await?;
        discard(state, id).await?;
        return Ok(direct(&tx, redirect.clone(), redirect, session_cookie));
    }
    let code = random_token::<32>();
    let code_lifetime = gatehouse_core::fapi::code_lifetime(
        state.config.authorization_code_expires_in,
        tx.request.fapi,
    );
    let issued = IssuedCode {
        client_id: tx.request.client_id.clone(),
        redirect_uri: tx.request.redirect_uri.clone(),
        challenge: tx.request.challenge.clone(),
        scopes: tx.request.scopes.clone(),
        nonce: tx.request.nonce.clone(),
        user_id: user.id,
        auth_id: user.auth_id,
        auth_time,
        session_id,
        expires_at: meta.now + code_lifetime as i64,
        resource: tx.request.resource.clone(),
        amr,
        id_token_claims: tx.request.id_token_claims.clone(),
        userinfo_claims: tx.request.userinfo_claims.clone(),
        dpop_jkt: tx.request.dpop_jkt.clone(),
    };
    let ttl = Duration::from_secs(code_lifetime);
    state.cache.set_json(&code_key(&code), &issued, ttl).await?;
    discard(state, id).await?;
    Ok(Completion {
        redirect_uri: tx.request.redirect_uri,
        code,
        state: tx.request.state,
        response_mode: tx.request.response_mode,
        locale: tx.request.locale,
        org: tx.request.org,
        session_cookie,
        direct_redirect: None,
    })
}
