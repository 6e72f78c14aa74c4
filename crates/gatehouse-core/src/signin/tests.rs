use super::*;

use crate::error::ErrorClass;
use crate::ids::UserId;

#[test]
fn sign_in_refusals_keep_melodys_statuses_as_classes() {
    for err in [
        SignInError::NoUserFound,
        SignInError::UnknownTransaction,
        SignInError::InvitationNotFound,
        SignInError::UnknownProvider("corp".into()),
    ] {
        assert_eq!(err.class(), ErrorClass::NotFound, "{err:?}");
    }
    assert_eq!(SignInError::CsrfMismatch.class(), ErrorClass::Forbidden);
    assert_eq!(
        SignInError::ProviderUnavailable("corp".into()).class(),
        ErrorClass::Upstream
    );
    for err in [
        SignInError::LockedOut,
        SignInError::WrongStep,
        SignInError::InvalidCode,
        SignInError::ExternalRefused {
            provider: "corp".into(),
            reason: "access_denied".into(),
        },
    ] {
        assert_eq!(err.class(), ErrorClass::Invalid, "{err:?}");
    }
}

fn password_facts() -> StepFacts<'static> {
    StepFacts {
        first_factor: Some(FirstFactor::Password),
        consent_enabled: true,
        scopes_needing_consent: 2,
        ..Default::default()
    }
}

fn walk(facts: &StepFacts<'_>) -> Vec<Step> {
    let mut progress = Progress::default();
    let mut seen = Vec::new();
    while let Some(step) = next_step(&progress, facts) {
        assert!(!seen.contains(&step), "{step:?} asked twice");
        seen.push(step);
        // Verifying the OTP setup proves the OTP factor.
        progress.complete(if step == Step::OtpSetup {
            Step::OtpMfa
        } else {
            step
        });
    }
    assert_eq!(check_secured(&progress, facts), Ok(()));
    seen
}

#[test]
fn password_sign_in_asks_consent_then_finishes() {
    assert_eq!(walk(&password_facts()), vec![Step::Consent]);
}

#[test]
fn no_consent_needed_when_every_scope_was_granted() {
    let facts = StepFacts {
        scopes_needing_consent: 0,
        ..password_facts()
    };
    assert_eq!(walk(&facts), Vec::<Step>::new());
    let off = StepFacts {
        consent_enabled: false,
        ..password_facts()
    };
    assert_eq!(walk(&off), Vec::<Step>::new());
}

#[test]
fn the_full_order_of_melody_section_4() {
    let facts = StepFacts {
        first_factor: Some(FirstFactor::Passwordless),
        passwordless_enabled: true,
        mfa: MfaRequirement {
            otp: true,
            sms: true,
            email: true,
            enforce_one_of: vec![],
        },
        passkey_enrollment_enabled: true,
        recovery_code_enabled: true,
        org_switch_enabled: true,
        policy: Some(Step::UpdateInfo),
        ..password_facts()
    };
    assert_eq!(
        walk(&facts),
        vec![
            Step::PasswordlessVerify,
            Step::Consent,
            Step::OtpSetup,
            Step::SmsMfa,
            Step::EmailMfa,
            Step::PasskeyEnroll,
            Step::RecoveryCodeEnroll,
            Step::SwitchOrg,
            Step::UpdateInfo,
        ]
    );
}

#[test]
fn enrollment_is_asked_only_when_nothing_is_required_and_the_user_has_none() {
    let enforce = MfaRequirement {
        enforce_one_of: vec![MfaType::Otp, MfaType::Email],
        ..Default::default()
    };
    let facts = StepFacts {
        mfa: enforce.clone(),
        scopes_needing_consent: 0,
        ..password_facts()
    };
    assert_eq!(
        next_step(&Progress::default(), &facts),
        Some(Step::MfaEnroll)
    );
    let enrolled = [MfaType::Email];
    let facts = StepFacts {
        mfa: enforce,
        user_mfa_types: &enrolled,
        scopes_needing_consent: 0,
        ..password_facts()
    };
    assert_eq!(walk(&facts), vec![Step::EmailMfa]);
}

#[test]
fn verified_otp_users_get_the_code_page_and_remembered_devices_skip_it() {
    let otp = [MfaType::Otp];
    let facts = StepFacts {
        user_mfa_types: &otp,
        user_otp_verified: true,
        scopes_needing_consent: 0,
        ..password_facts()
    };
    assert_eq!(walk(&facts), vec![Step::OtpMfa]);
    let remembered = StepFacts {
        remembered: &otp,
        ..facts
    };
    assert_eq!(walk(&remembered), Vec::<Step>::new());
}

#[test]
fn strong_factors_and_sessions_skip_mfa_and_enrollments_but_not_consent_or_policy() {
    for first in [
        FirstFactor::Passkey,
        FirstFactor::RecoveryCode,
        FirstFactor::Session,
    ] {
        let facts = StepFacts {
            first_factor: Some(first),
            mfa: MfaRequirement {
                otp: true,
                ..Default::default()
            },
            passkey_enrollment_enabled: true,
            policy: Some(Step::ChangePassword),
            ..password_facts()
        };
        assert_eq!(walk(&facts), vec![Step::Consent, Step::ChangePassword]);
    }
}

#[test]
fn external_users_do_mfa_unless_bypass_is_allowed_and_never_see_policies() {
    let base = StepFacts {
        first_factor: Some(FirstFactor::External),
        mfa: MfaRequirement {
            email: true,
            ..Default::default()
        },
        recovery_code_enabled: true,
        policy: Some(Step::UpdateInfo),
        scopes_needing_consent: 0,
        ..password_facts()
    };
    assert_eq!(walk(&base), vec![Step::EmailMfa]);
    let bypass = StepFacts {
        external_can_bypass_mfa: true,
        ..base
    };
    assert_eq!(walk(&bypass), Vec::<Step>::new());
}

#[test]
fn an_unfinished_transaction_is_not_secured() {
    let facts = StepFacts {
        mfa: MfaRequirement {
            email: true,
            ..Default::default()
        },
        ..password_facts()
    };
    let mut progress = Progress::default();
    assert_eq!(
        check_secured(&progress, &facts),
        Err(NotSecured::ConsentRequired)
    );
    progress.complete(Step::Consent);
    assert_eq!(
        check_secured(&progress, &facts),
        Err(NotSecured::MfaNotVerified)
    );
    progress.complete(Step::EmailMfa);
    assert_eq!(check_secured(&progress, &facts), Ok(()));
}

#[test]
fn a_browser_sign_up_verifies_its_email_before_consent() {
    let facts = StepFacts {
        first_factor: Some(FirstFactor::SignUp),
        email_verification_pending: true,
        ..password_facts()
    };
    let mut progress = Progress::default();
    assert_eq!(next_step(&progress, &facts), Some(Step::VerifyEmail));
    progress.complete(Step::VerifyEmail);
    assert_eq!(next_step(&progress, &facts), Some(Step::Consent));
}

#[test]
fn a_pending_link_comes_before_everything_and_keeps_the_sign_in_unsecured() {
    let facts = StepFacts {
        first_factor: None,
        account_link_pending: true,
        mfa: MfaRequirement {
            otp: true,
            ..Default::default()
        },
        ..password_facts()
    };
    assert_eq!(
        next_step(&Progress::default(), &facts),
        Some(Step::LinkAccount)
    );
    assert_eq!(
        check_secured(&Progress::default(), &facts),
        Err(NotSecured::AccountLinkPending)
    );
    // Once the password proved the account, the sign-in goes on as a password sign-in.
    let linked = StepFacts {
        first_factor: Some(FirstFactor::Password),
        account_link_pending: false,
        ..facts
    };
    assert_eq!(walk(&linked), vec![Step::Consent, Step::OtpSetup]);
}

#[test]
fn a_link_is_offered_only_when_both_sides_vouch_for_the_email() {
    let account = LinkCandidate {
        is_active: true,
        has_password: true,
        email_verified: true,
    };
    assert!(offers_link(true, true, true, Some(account)));
    assert!(
        !offers_link(false, true, true, Some(account)),
        "feature off"
    );
    assert!(
        !offers_link(true, false, true, Some(account)),
        "no password sign-in"
    );
    assert!(
        !offers_link(true, true, false, Some(account)),
        "provider did not verify"
    );
    assert!(
        !offers_link(true, true, true, None),
        "no account with the email"
    );
    for other in [
        LinkCandidate {
            email_verified: false,
            ..account
        },
        LinkCandidate {
            is_active: false,
            ..account
        },
        LinkCandidate {
            has_password: false,
            ..account
        },
    ] {
        assert!(!offers_link(true, true, true, Some(other)), "{other:?}");
    }
}

#[test]
fn policies_map_from_their_names() {
    for step in [
        Step::ChangePassword,
        Step::UpdateInfo,
        Step::ChangeOrg,
        Step::ResetMfa,
    ] {
        assert_eq!(Step::from_policy(step.as_str()), Some(step));
    }
    assert_eq!(Step::from_policy("consent"), None);
}

fn session_policy(policy: Step, stale_proof: bool) -> StepFacts<'static> {
    StepFacts {
        first_factor: Some(FirstFactor::Session),
        policy: Some(policy),
        stale_proof,
        ..Default::default()
    }
}

#[test]
fn a_stale_session_confirms_before_a_sensitive_policy() {
    for policy in [
        Step::ChangePassword,
        Step::ChangeEmail,
        Step::ResetMfa,
        Step::ManagePasskey,
        Step::ManageRecoveryCode,
    ] {
        assert_eq!(
            walk(&session_policy(policy, true)),
            vec![Step::ConfirmIdentity, policy]
        );
        assert_eq!(walk(&session_policy(policy, false)), vec![policy]);
    }
    // Names and organization change nothing an attacker could keep the account with.
    for policy in [Step::UpdateInfo, Step::ChangeOrg] {
        assert_eq!(walk(&session_policy(policy, true)), vec![policy]);
    }
}

#[test]
fn freshness_is_a_factor_given_now_or_a_recent_session() {
    let user = Subject {
        id: UserId::new(1),
        auth_id: "a".into(),
    };
    assert!(
        !Proof::default().is_fresh(1_000, 300),
        "nobody signed in yet"
    );
    let mut session = Proof::default();
    session
        .sign_in(user.clone(), FirstFactor::Session, 1_000)
        .unwrap();
    assert!(session.is_fresh(1_300, 300));
    assert!(!session.is_fresh(1_301, 300));
    assert!(!session.is_fresh(1_000, 0), "0: a session is never enough");
    let mut password = Proof::default();
    password
        .sign_in(user, FirstFactor::Password, 1_000)
        .unwrap();
    assert!(password.is_fresh(9_999, 0), "typed in this sign-in");
}

#[test]
fn reconfirming_records_the_step_once_and_renews_the_auth_time() {
    let facts = session_policy(Step::ResetMfa, true);
    let mut proof = Proof::default();
    let user = Subject {
        id: UserId::new(7),
        auth_id: "u7".into(),
    };
    proof.sign_in(user, FirstFactor::Session, 100).unwrap();
    // The policy itself is not owed yet.
    assert_eq!(
        proof.at(&[Step::ResetMfa], &facts),
        Err(SignInError::WrongStep)
    );
    let at = proof.at(&[Step::ConfirmIdentity], &facts).unwrap();
    proof.reconfirm(at, 5_000).unwrap();
    assert_eq!(proof.auth_time(), Some(5_000));
    assert_eq!(proof.owed(&facts), Some(Step::ResetMfa));
    // A second confirmation, or `complete` standing in for it, is refused.
    assert!(proof.at(&[Step::ConfirmIdentity], &facts).is_err());
    let at = proof.at(&[Step::ResetMfa], &facts).unwrap();
    assert_eq!(proof.reconfirm(at, 6_000), Err(SignInError::WrongStep));
}

#[test]
fn mfa_types_read_once_in_enrolment_order() {
    let types = MfaTypes::parse_list("sms, otp,,unknown,otp");
    assert_eq!(&*types, &[MfaType::Sms, MfaType::Otp]);
    assert_eq!(types.to_list(), "sms,otp");
    let types = types.with(MfaType::Email).with(MfaType::Sms);
    assert_eq!(types.to_list(), "sms,otp,email");
    assert_eq!(types.without(MfaType::Otp).to_list(), "sms,email");
    assert_eq!(MfaTypes::parse_list("").to_list(), "");
    for kind in MfaType::ALL {
        assert_eq!(MfaType::parse(kind.as_str()), Some(kind));
    }
}
