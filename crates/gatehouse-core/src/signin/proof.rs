//! What a sign-in has proven, and for whom: the only way a step gets recorded.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

use super::next_step::{check_secured, next_step, NotSecured, StepFacts};
use super::steps::{FirstFactor, SignInError, Step};

/// What a transaction has proven so far. Stored with the transaction between requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps completed (a verified factor, a given consent, a declined enrollment…).
    pub done: Vec<Step>,
}

impl Progress {
    pub fn is_done(&self, step: Step) -> bool {
        self.done.contains(&step)
    }

    pub fn complete(&mut self, step: Step) {
        if !self.done.contains(&step) {
            self.done.push(step);
        }
    }
}

/// The account a transaction has signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub id: UserId,
    pub auth_id: String,
}

/// Who a sign-in has proven and what they have passed since, kept together so that one
/// cannot change without the other: the account is set once, by its first factor, and every
/// later step is recorded only when it is the step owed now. A submission for a step not owed
/// (out of order, repeated, or after another account's first factor) is refused, which is what
/// keeps one account's second factor from finishing another's sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    user: Option<Subject>,
    first_factor: Option<FirstFactor>,
    auth_time: Option<i64>,
    #[serde(default)]
    progress: Progress,
}

impl Proof {
    pub fn user(&self) -> Option<&Subject> {
        self.user.as_ref()
    }

    pub fn first_factor(&self) -> Option<FirstFactor> {
        self.first_factor
    }

    /// The `amr` of what was proven (RFC 8176); `session` is a resumed session's own, if known.
    pub fn methods(&self, session: Option<&[String]>) -> Vec<String> {
        self.first_factor
            .map(|first| super::context::methods(first, &self.progress, session))
            .unwrap_or_default()
    }

    /// When the first factor was proven (a session's own sign-in time for `Session`).
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Refuses once an account is signed in: every first factor asks this before it looks
    /// at what was posted, so nothing is counted, spent or created for a refused post.
    pub fn expect_first_factor(&self) -> Result<(), SignInError> {
        match self.user {
            Some(_) => Err(SignInError::AlreadySignedIn),
            None => Ok(()),
        }
    }

    /// A first factor under way that names no account yet: a passwordless code on its way
    /// (`Some(Passwordless)`), or a provider identity waiting to be linked (`None`).
    pub fn await_first_factor(&mut self, factor: Option<FirstFactor>) -> Result<(), SignInError> {
        self.expect_first_factor()?;
        self.first_factor = factor;
        self.progress = Progress::default();
        Ok(())
    }

    /// The first factor proved `user`. A passwordless proof answers the code that was sent
    /// (and so records its step); every other first factor starts from nothing proven.
    pub fn sign_in(
        &mut self,
        user: Subject,
        factor: FirstFactor,
        auth_time: i64,
    ) -> Result<(), SignInError> {
        // The one check that binds what was proven to whom: nothing recorded so far may be
        // carried over to another account.
        self.expect_first_factor()?;
        if factor == FirstFactor::Passwordless {
            if self.first_factor != Some(FirstFactor::Passwordless) {
                return Err(SignInError::WrongStep);
            }
            self.progress.complete(Step::PasswordlessVerify);
        }
        self.user = Some(user);
        self.first_factor = Some(factor);
        self.auth_time = Some(auth_time);
        Ok(())
    }

    /// Whether the sign-in proves the person is here now. A first factor given in this sign-in
    /// does; the browser's session does only if it began at most `max_age` seconds before `now`
    /// (0: never), since a stolen session cookie is the threat.
    pub fn is_fresh(&self, now: i64, max_age: u64) -> bool {
        match self.first_factor {
            Some(FirstFactor::Session) => {
                let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
                max_age > 0
                    && self
                        .auth_time
                        .is_some_and(|t| now.saturating_sub(t) <= max_age)
            }
            Some(_) => self.user.is_some(),
            None => false,
        }
    }

    /// The account proved itself again (its current password, at `now`): the confirm step is
    /// recorded and the sign-in counts as fresh from now on.
    pub fn reconfirm(&mut self, at: AtStep, now: i64) -> Result<(), SignInError> {
        if at.step != Step::ConfirmIdentity {
            return Err(SignInError::WrongStep);
        }
        self.check_owner(&at)?;
        self.progress.complete(Step::ConfirmIdentity);
        self.auth_time = Some(now);
        Ok(())
    }

    /// The page owed now (`None`: nothing is).
    pub fn owed(&self, facts: &StepFacts<'_>) -> Option<Step> {
        next_step(&self.progress, facts)
    }

    /// A submission may begin: the account is signed in and the step owed now is one of
    /// `steps`. The answer is the only way to [`complete`](Self::complete) a step, so a step
    /// is recorded only when it was owed when its submission began (its own side effects,
    /// such as a granted consent, may change what is owed before it is recorded).
    pub fn at(&self, steps: &[Step], facts: &StepFacts<'_>) -> Result<AtStep, SignInError> {
        let user = self.user.as_ref().ok_or(SignInError::WrongStep)?;
        match self.owed(facts) {
            Some(step) if steps.contains(&step) => Ok(AtStep {
                user: user.clone(),
                step,
            }),
            _ => Err(SignInError::WrongStep),
        }
    }

    /// Records the step a submission began at. TOTP proven at its setup page proves TOTP.
    pub fn complete(&mut self, at: AtStep) -> Result<(), SignInError> {
        self.check_owner(&at)?;
        self.progress.complete(proven_by(at.step));
        Ok(())
    }

    /// An emailed code: the email step, or, as a backup the caller has allowed, the TOTP or
    /// SMS step it stands in for.
    pub fn complete_by_email(&mut self, at: AtStep) -> Result<(), SignInError> {
        self.check_owner(&at)?;
        if !matches!(at.step, Step::EmailMfa | Step::OtpMfa | Step::SmsMfa) {
            return Err(SignInError::WrongStep);
        }
        self.progress.complete(Step::EmailMfa);
        self.progress.complete(at.step);
        Ok(())
    }

    fn check_owner(&self, at: &AtStep) -> Result<(), SignInError> {
        let same_user = self.user.as_ref().is_some_and(|u| u.id == at.user.id);
        if !same_user || self.progress.is_done(proven_by(at.step)) {
            return Err(SignInError::WrongStep);
        }
        Ok(())
    }

    /// Whether the sign-in may turn into tokens now.
    pub fn secured(&self, facts: &StepFacts<'_>) -> Result<(), NotSecured> {
        check_secured(&self.progress, facts)
    }
}

/// A transaction found at a step, for its signed-in account: made only by [`Proof::at`].
#[derive(Debug, PartialEq, Eq)]
pub struct AtStep {
    user: Subject,
    step: Step,
}

impl AtStep {
    pub fn user(&self) -> &Subject {
        &self.user
    }

    pub fn step(&self) -> Step {
        self.step
    }
}

/// The step a page's submission proves (the TOTP setup page proves TOTP).
fn proven_by(step: Step) -> Step {
    match step {
        Step::OtpSetup => Step::OtpMfa,
        other => other,
    }
}
