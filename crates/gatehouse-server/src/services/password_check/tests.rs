use gatehouse_core::signin::SignInError;
use gatehouse_store::UserStore;

use super::*;
use crate::services::fixture;

fn rules(threshold: u32) -> LockoutRules {
    LockoutRules {
        threshold,
        expires_in: 60,
    }
}

fn sign_in_error(err: ServiceError) -> SignInError {
    match err {
        ServiceError::SignIn(err) => err,
        other => panic!("expected a sign-in refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn right_password_gives_the_account_and_clears_the_count() {
    let (store, cache, passwords) = (
        fixture::store().await,
        fixture::cache(),
        fixture::passwords(),
    );
    let user = fixture::user(&store, &passwords, "ann@example.com", Some("correct horse")).await;
    let checker = PasswordChecker {
        store: &store,
        cache: &cache,
        passwords: &passwords,
        lockout: rules(3),
    };

    let err = checker
        .check("ann@example.com", "wrong", Some("192.0.2.1"))
        .await
        .unwrap_err();
    assert!(matches!(sign_in_error(err), SignInError::NoUserFound));
    let account = checker
        .check("  Ann@Example.com ", "correct horse", Some("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(account.id, user.id);
    // The earlier failure was forgotten: two more wrong ones do not lock.
    for _ in 0..2 {
        checker
            .check("ann@example.com", "wrong", Some("192.0.2.1"))
            .await
            .unwrap_err();
    }
    checker
        .check("ann@example.com", "correct horse", Some("192.0.2.1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_threshold_locks_even_the_right_password_from_that_ip_only() {
    let (store, cache, passwords) = (
        fixture::store().await,
        fixture::cache(),
        fixture::passwords(),
    );
    fixture::user(&store, &passwords, "bob@example.com", Some("s3cret pass")).await;
    let checker = PasswordChecker {
        store: &store,
        cache: &cache,
        passwords: &passwords,
        lockout: rules(2),
    };

    for _ in 0..2 {
        let err = checker
            .check("bob@example.com", "nope", Some("192.0.2.7"))
            .await
            .unwrap_err();
        assert!(matches!(sign_in_error(err), SignInError::NoUserFound));
    }
    let err = checker
        .check("bob@example.com", "s3cret pass", Some("192.0.2.7"))
        .await
        .unwrap_err();
    assert!(matches!(sign_in_error(err), SignInError::LockedOut));
    // The same email from another address is not locked.
    checker
        .check("bob@example.com", "s3cret pass", Some("198.51.100.9"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_email_answers_and_counts_like_a_wrong_password() {
    let (store, cache, passwords) = (
        fixture::store().await,
        fixture::cache(),
        fixture::passwords(),
    );
    let checker = PasswordChecker {
        store: &store,
        cache: &cache,
        passwords: &passwords,
        lockout: rules(1),
    };

    let err = checker
        .check("nobody@example.com", "x", None)
        .await
        .unwrap_err();
    assert!(matches!(sign_in_error(err), SignInError::NoUserFound));
    let err = checker
        .check("nobody@example.com", "x", None)
        .await
        .unwrap_err();
    assert!(matches!(sign_in_error(err), SignInError::LockedOut));
}

#[tokio::test]
async fn a_disabled_account_is_refused_after_the_password_and_a_passwordless_one_never_matches() {
    let (store, cache, passwords) = (
        fixture::store().await,
        fixture::cache(),
        fixture::passwords(),
    );
    let user = fixture::user(&store, &passwords, "cy@example.com", Some("pass word 1")).await;
    fixture::user(&store, &passwords, "dee@example.com", None).await;
    let changes = gatehouse_store::UserChanges {
        is_active: Some(false),
        ..Default::default()
    };
    store.update_user(user.id, &changes, None).await.unwrap();
    let checker = PasswordChecker {
        store: &store,
        cache: &cache,
        passwords: &passwords,
        lockout: rules(0),
    };

    let err = checker
        .check("cy@example.com", "pass word 1", None)
        .await
        .unwrap_err();
    assert!(matches!(sign_in_error(err), SignInError::DisabledAccount));
    let err = checker
        .check("cy@example.com", "wrong", None)
        .await
        .unwrap_err();
    assert!(matches!(sign_in_error(err), SignInError::NoUserFound));
    let err = checker
        .check("dee@example.com", "", None)
        .await
        .unwrap_err();
    assert!(matches!(sign_in_error(err), SignInError::NoUserFound));
    // Threshold 0: no lockout however many failures.
    for _ in 0..5 {
        checker
            .check("dee@example.com", "x", None)
            .await
            .unwrap_err();
    }
    assert!(
        !PasswordLockout::on(&cache, rules(0), "dee@example.com", None)
            .is_locked()
            .await
            .unwrap()
    );
}
