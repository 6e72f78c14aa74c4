//! The sign-in state machine under random submissions: first factors for any account, steps
//! posted in any order, repeated, held across another request, email codes as backups. Whatever
//! the sequence, a sign-in that may turn into a code belongs to an account that passed, itself
//! and in this transaction, every second factor and consent that account requires.

use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{
    AtStep, FirstFactor, MfaRequirement, MfaType, Proof, SignInError, Step, StepFacts, Subject,
};
use proptest::prelude::*;

const ACCOUNTS: usize = 3;

#[derive(Debug, Clone)]
struct Account {
    mfa_types: Vec<MfaType>,
    otp_verified: bool,
    consented: bool,
    has_recovery_code: bool,
    skips_passkey: bool,
}

/// The server's settings and its accounts: what the facts of a sign-in are read from.
#[derive(Debug, Clone)]
struct World {
    accounts: Vec<Account>,
    mfa: MfaRequirement,
    consent_enabled: bool,
    external_can_bypass_mfa: bool,
    recovery_code_enabled: bool,
    passkey_enrollment_enabled: bool,
    policy: Option<Step>,
}

impl World {
    fn facts<'a>(&'a self, proof: &Proof) -> StepFacts<'a> {
        let account = proof.user().map(|u| &self.accounts[u.id.get() as usize]);
        StepFacts {
            first_factor: proof.first_factor(),
            passwordless_enabled: true,
            consent_enabled: self.consent_enabled,
            scopes_needing_consent: match account {
                Some(a) if a.consented => 0,
                _ => 2,
            },
            mfa: self.mfa.clone(),
            external_can_bypass_mfa: self.external_can_bypass_mfa,
            user_mfa_types: account.map_or(&[], |a| &a.mfa_types),
            user_otp_verified: account.is_some_and(|a| a.otp_verified),
            passkey_enrollment_enabled: self.passkey_enrollment_enabled,
            user_skips_passkey_enroll: account.is_some_and(|a| a.skips_passkey),
            recovery_code_enabled: self.recovery_code_enabled,
            user_has_recovery_code: account.is_some_and(|a| a.has_recovery_code),
            policy: self.policy,
            ..StepFacts::default()
        }
    }

    /// What a step's own submission changes before it is recorded, as the services do.
    fn side_effects(&mut self, user: usize, step: Step) {
        let account = &mut self.accounts[user];
        let mut add = |kind| {
            if !account.mfa_types.contains(&kind) {
                account.mfa_types.push(kind);
            }
        };
        match step {
            Step::Consent => account.consented = true,
            Step::OtpSetup | Step::OtpMfa => {
                add(MfaType::Otp);
                account.otp_verified = true;
            }
            Step::SmsMfa => add(MfaType::Sms),
            Step::MfaEnroll => add(MfaType::Email),
            Step::RecoveryCodeEnroll => account.has_recovery_code = true,
            Step::PasskeyEnroll => account.skips_passkey = true,
            _ => {}
        }
    }
}

#[derive(Debug, Clone)]
enum Event {
    /// A passwordless code sent: a first factor under way.
    AwaitPasswordless,
    /// A first factor proved account `0` (password, passkey, provider, session…).
    FirstFactor(usize, FirstFactor),
    /// A page's submission for `Step`, begun and recorded in one request.
    Submit(Step),
    /// An emailed code, standing in for `Some(step)` as a backup.
    EmailCode(Option<Step>),
    /// A submission begun now and recorded at the next `Finish` (two requests at once).
    Begin(Step),
    Finish,
}

fn any_step() -> impl Strategy<Value = Step> {
    prop::sample::select(vec![
        Step::PasswordlessVerify,
        Step::VerifyEmail,
        Step::Consent,
        Step::MfaEnroll,
        Step::OtpSetup,
        Step::OtpMfa,
        Step::SmsMfa,
        Step::EmailMfa,
        Step::PasskeyEnroll,
        Step::RecoveryCodeEnroll,
        Step::SwitchOrg,
        Step::ChangePassword,
        Step::UpdateInfo,
        Step::ResetMfa,
    ])
}

fn any_event() -> impl Strategy<Value = Event> {
    let factor = prop::sample::select(vec![
        FirstFactor::Password,
        FirstFactor::SignUp,
        FirstFactor::Passwordless,
        FirstFactor::Passkey,
        FirstFactor::RecoveryCode,
        FirstFactor::External,
        FirstFactor::Session,
    ]);
    prop_oneof![
        1 => Just(Event::AwaitPasswordless),
        3 => (0..ACCOUNTS, factor).prop_map(|(u, f)| Event::FirstFactor(u, f)),
        6 => any_step().prop_map(Event::Submit),
        2 => prop::option::of(prop::sample::select(vec![Step::OtpMfa, Step::SmsMfa, Step::Consent]))
            .prop_map(Event::EmailCode),
        1 => any_step().prop_map(Event::Begin),
        1 => Just(Event::Finish),
    ]
}

fn any_mfa_types() -> impl Strategy<Value = Vec<MfaType>> {
    prop::sample::subsequence(vec![MfaType::Otp, MfaType::Email, MfaType::Sms], 0..=3)
}

fn any_world() -> impl Strategy<Value = World> {
    let account = (any_mfa_types(), any::<[bool; 4]>()).prop_map(|(mfa_types, b)| Account {
        otp_verified: b[0] && mfa_types.contains(&MfaType::Otp),
        mfa_types,
        consented: b[1],
        has_recovery_code: b[2],
        skips_passkey: b[3],
    });
    let policy = prop::option::of(prop::sample::select(vec![
        Step::ChangePassword,
        Step::UpdateInfo,
        Step::ResetMfa,
    ]));
    (
        prop::collection::vec(account, ACCOUNTS),
        any::<[bool; 7]>(),
        any_mfa_types(),
        policy,
    )
        .prop_map(|(accounts, b, enforce, policy)| World {
            accounts,
            mfa: MfaRequirement {
                otp: b[0],
                email: b[1],
                sms: b[2],
                enforce_one_of: enforce,
            },
            consent_enabled: b[3],
            external_can_bypass_mfa: b[4],
            recovery_code_enabled: b[5],
            passkey_enrollment_enabled: b[6],
            policy,
        })
}

/// A step some account passed in this transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Passed {
    user: usize,
    step: Step,
}

/// Runs the events; after each, a finished sign-in is checked against what its account passed.
fn run(mut world: World, events: &[Event]) -> Result<(), TestCaseError> {
    let consented_before: Vec<bool> = world.accounts.iter().map(|a| a.consented).collect();
    let mut proof = Proof::default();
    let mut passed: Vec<Passed> = Vec::new();
    let mut held: Option<AtStep> = None;
    for event in events {
        match event {
            Event::AwaitPasswordless => {
                let _ = proof.await_first_factor(Some(FirstFactor::Passwordless));
            }
            Event::FirstFactor(user, factor) => {
                let before = proof.user().cloned();
                let subject = Subject {
                    id: UserId::new(*user as i64),
                    auth_id: format!("auth-{user}"),
                };
                match proof.sign_in(subject, *factor, 0) {
                    Ok(()) => prop_assert!(before.is_none(), "a first factor replaced {before:?}"),
                    Err(e) => prop_assert!(
                        e == SignInError::AlreadySignedIn || e == SignInError::WrongStep,
                        "{e:?}"
                    ),
                }
            }
            Event::Submit(step) => {
                let facts = world.facts(&proof);
                if let Ok(at) = proof.at(&[*step], &facts) {
                    let user = at.user().id.get() as usize;
                    world.side_effects(user, at.step());
                    if proof.complete(at).is_ok() {
                        passed.push(Passed { user, step: *step });
                    }
                }
            }
            Event::EmailCode(instead_of) => {
                let steps = [instead_of.unwrap_or(Step::EmailMfa)];
                let facts = world.facts(&proof);
                if let Ok(at) = proof.at(&steps, &facts) {
                    let user = at.user().id.get() as usize;
                    let step = at.step();
                    if proof.complete_by_email(at).is_ok() {
                        passed.push(Passed {
                            user,
                            step: Step::EmailMfa,
                        });
                        passed.push(Passed { user, step });
                    }
                }
            }
            Event::Begin(step) => {
                let facts = world.facts(&proof);
                held = proof.at(&[*step], &facts).ok();
            }
            Event::Finish => {
                if let Some(at) = held.take() {
                    let (user, step) = (at.user().id.get() as usize, at.step());
                    world.side_effects(user, step);
                    if proof.complete(at).is_ok() {
                        passed.push(Passed { user, step });
                    }
                }
            }
        }
        check_finished(&world, &proof, &passed, &consented_before)?;
    }
    Ok(())
}

/// A sign-in that would be given a code now: its account passed all it requires.
fn check_finished(
    world: &World,
    proof: &Proof,
    passed: &[Passed],
    consented_before: &[bool],
) -> Result<(), TestCaseError> {
    let facts = world.facts(proof);
    let Some(subject) = proof.user() else {
        return Ok(());
    };
    if proof.owed(&facts).is_some() || proof.secured(&facts).is_err() {
        return Ok(());
    }
    let user = subject.id.get() as usize;
    let by_user = |steps: &[Step]| {
        passed
            .iter()
            .any(|p| p.user == user && steps.contains(&p.step))
    };
    let skips_mfa = match proof.first_factor() {
        Some(f) if f.is_strong() || f == FirstFactor::Session => true,
        Some(FirstFactor::External) => world.external_can_bypass_mfa,
        _ => false,
    };
    if !skips_mfa {
        let account = &world.accounts[user];
        let required = |kind: MfaType, on: bool| on || account.mfa_types.contains(&kind);
        if required(MfaType::Otp, world.mfa.otp) {
            prop_assert!(
                by_user(&[Step::OtpMfa, Step::OtpSetup]),
                "account {user} finished without its TOTP: {passed:?}"
            );
        }
        if required(MfaType::Sms, world.mfa.sms) {
            prop_assert!(
                by_user(&[Step::SmsMfa]),
                "account {user} finished without its SMS code: {passed:?}"
            );
        }
        if required(MfaType::Email, world.mfa.email) {
            prop_assert!(
                by_user(&[Step::EmailMfa]),
                "account {user} finished without its email code: {passed:?}"
            );
        }
    }
    if proof.first_factor() == Some(FirstFactor::Passwordless) {
        prop_assert!(proof.progress().is_done(Step::PasswordlessVerify));
    }
    if world.consent_enabled && !consented_before[user] {
        prop_assert!(
            by_user(&[Step::Consent]),
            "account {user} finished without consenting: {passed:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn a_finished_sign_in_passed_everything_its_own_account_requires(
        world in any_world(),
        events in prop::collection::vec(any_event(), 1..16),
    ) {
        run(world, &events)?;
    }
}

/// The attack the property guards against, spelled out: account 0 passes its own TOTP and
/// consent, then the password of account 1 is posted into the same transaction.
#[test]
fn another_accounts_first_factor_cannot_take_over_a_passed_second_factor() {
    let otp_user = Account {
        mfa_types: vec![MfaType::Otp],
        otp_verified: true,
        consented: false,
        has_recovery_code: true,
        skips_passkey: true,
    };
    let world = World {
        accounts: vec![otp_user.clone(), otp_user.clone(), otp_user],
        mfa: MfaRequirement::default(),
        consent_enabled: true,
        external_can_bypass_mfa: false,
        recovery_code_enabled: false,
        passkey_enrollment_enabled: false,
        policy: Some(Step::UpdateInfo),
    };
    let mut proof = Proof::default();
    let subject = |id: i64| Subject {
        id: UserId::new(id),
        auth_id: format!("auth-{id}"),
    };
    proof
        .sign_in(subject(0), FirstFactor::Password, 0)
        .expect("first sign-in");
    for step in [Step::Consent, Step::OtpMfa] {
        let mut world = world.clone();
        let at = proof.at(&[step], &world.facts(&proof)).expect("owed");
        world.side_effects(0, step);
        proof.complete(at).expect("recorded");
    }
    assert_eq!(
        proof.sign_in(subject(1), FirstFactor::Password, 0),
        Err(SignInError::AlreadySignedIn)
    );
    assert_eq!(proof.user().map(|u| u.id), Some(UserId::new(0)));
}
