use gatehouse_store::UserStore;

use super::*;
use crate::services::fixture;

/// A fresh store, cache and hasher, which each test's checker reads.
struct Setup {
    store: Store,
    cache: Cache,
    passwords: Arc<PasswordHasher>,
}

impl Setup {
    async fn new() -> Self {
        Setup {
            store: fixture::store().await,
            cache: fixture::cache(),
            passwords: fixture::passwords(),
        }
    }

    /// A checker that locks after `threshold` failures (0: never).
    fn checker(&self, threshold: u32) -> PasswordChecker<'_, Store> {
        PasswordChecker {
            store: &self.store,
            cache: &self.cache,
            passwords: &self.passwords,
            lockout: rules(threshold),
        }
    }

    async fn user(&self, email: &str, password: Option<&str>) -> gatehouse_store::UserRecord {
        fixture::user(&self.store, &self.passwords, email, password).await
    }
}

fn rules(threshold: u32) -> LockoutRules {
    LockoutRules {
        threshold,
        expires_in: 60,
    }
}

/// The refusal of a check that must fail.
async fn refusal(
    checker: &PasswordChecker<'_, Store>,
    (email, password): (&str, &str),
    ip: Option<&str>,
) -> SignInError {
    match checker.check(email, password, ip).await {
        Err(ServiceError::SignIn(err)) => err,
        other => panic!("expected a sign-in refusal, got {other:?}"),
    }
}

const IP: Option<&str> = Some("192.0.2.1");

#[tokio::test]
async fn right_password_gives_the_account_and_clears_the_count() {
    let setup = Setup::new().await;
    let user = setup.user("ann@example.com", Some("correct horse")).await;
    let checker = setup.checker(3);
    let wrong = ("ann@example.com", "wrong");

    assert!(matches!(
        refusal(&checker, wrong, IP).await,
        SignInError::NoUserFound
    ));
    let account = checker
        .check("  Ann@Example.com ", "correct horse", IP)
        .await
        .unwrap();
    assert_eq!(account.id, user.id);
    // The earlier failure was forgotten: two more wrong ones do not lock.
    for _ in 0..2 {
        refusal(&checker, wrong, IP).await;
    }
    checker
        .check("ann@example.com", "correct horse", IP)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_threshold_locks_even_the_right_password_from_that_ip_only() {
    let setup = Setup::new().await;
    setup.user("bob@example.com", Some("s3cret pass")).await;
    let checker = setup.checker(2);
    let here = Some("192.0.2.7");

    for _ in 0..2 {
        let err = refusal(&checker, ("bob@example.com", "nope"), here).await;
        assert!(matches!(err, SignInError::NoUserFound));
    }
    let right = ("bob@example.com", "s3cret pass");
    assert!(matches!(
        refusal(&checker, right, here).await,
        SignInError::LockedOut
    ));
    // The same email from another address is not locked.
    checker
        .check(right.0, right.1, Some("198.51.100.9"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_email_answers_and_counts_like_a_wrong_password() {
    let setup = Setup::new().await;
    let checker = setup.checker(1);
    let nobody = ("nobody@example.com", "x");

    assert!(matches!(
        refusal(&checker, nobody, None).await,
        SignInError::NoUserFound
    ));
    assert!(matches!(
        refusal(&checker, nobody, None).await,
        SignInError::LockedOut
    ));
}

#[tokio::test]
async fn a_disabled_account_is_refused_after_the_password_and_a_passwordless_one_never_matches() {
    let setup = Setup::new().await;
    let user = setup.user("cy@example.com", Some("pass word 1")).await;
    setup.user("dee@example.com", None).await;
    let changes = gatehouse_store::UserChanges {
        is_active: Some(false),
        ..Default::default()
    };
    setup
        .store
        .update_user(user.id, &changes, None)
        .await
        .unwrap();
    let checker = setup.checker(0);

    let cases = [
        (
            ("cy@example.com", "pass word 1"),
            SignInError::DisabledAccount,
        ),
        (("cy@example.com", "wrong"), SignInError::NoUserFound),
        (("dee@example.com", ""), SignInError::NoUserFound),
    ];
    for (attempt, expected) in cases {
        assert_eq!(
            refusal(&checker, attempt, None).await,
            expected,
            "{attempt:?}"
        );
    }
    // Threshold 0: no lockout however many failures.
    for _ in 0..5 {
        refusal(&checker, ("dee@example.com", "x"), None).await;
    }
    assert!(!PasswordLockout::on(
        &setup.cache,
        &setup.store,
        rules(0),
        "dee@example.com",
        None
    )
    .is_locked()
    .await
    .unwrap());
}

#[tokio::test]
async fn a_lockout_outlives_the_cache_losing_its_counters_until_lifted() {
    let setup = Setup::new().await;
    setup.user("eve@example.com", Some("pass word 1")).await;
    let right = ("eve@example.com", "pass word 1");
    for _ in 0..2 {
        refusal(&setup.checker(2), ("eve@example.com", "wrong"), IP).await;
    }
    assert_eq!(
        refusal(&setup.checker(2), right, IP).await,
        SignInError::LockedOut
    );
    // The cache loses everything: a Redis flush, the in-process cache at a restart.
    let emptied = fixture::cache();
    let after_loss = PasswordChecker {
        cache: &emptied,
        ..setup.checker(2)
    };
    assert_eq!(
        refusal(&after_loss, right, IP).await,
        SignInError::LockedOut,
        "a lost counter does not lift the lockout"
    );
    // The lockout is of that IP only, as before the loss.
    after_loss
        .check(right.0, right.1, Some("198.51.100.7"))
        .await
        .unwrap();
    // An admin's unlock ends it for good: held and counted.
    HeldDenials {
        cache: &emptied,
        store: &setup.store,
        lockout_threshold: 2,
    }
    .lift_lockouts(right.0)
    .await
    .unwrap();
    emptied
        .delete(&failed_login_key(right.0, IP))
        .await
        .unwrap();
    let emptied_again = fixture::cache();
    let after_unlock = PasswordChecker {
        cache: &emptied_again,
        ..setup.checker(2)
    };
    after_unlock.check(right.0, right.1, IP).await.unwrap();
}
