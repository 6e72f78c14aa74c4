//! The same contract for both stores and both caches.

use std::time::Duration;

use gatehouse_store::{
    AccountStore, AppStore, Cache, NewApp, NewSignUp, SocialAccountStore, Store, StoreError,
    UserStore,
};

use crate::harness::{backend_tests, Backend, Isolation, REDIS_URL};

async fn cache_for(isolation: &Isolation) -> Cache {
    match isolation.backend {
        Backend::Sqlite => Cache::in_memory(),
        Backend::PostgresRedis => Cache::redis(REDIS_URL, &isolation.redis_prefix)
            .await
            .expect("Redis at 127.0.0.1:6379 must be reachable for the test suite"),
    }
}

async fn store_for(isolation: &Isolation) -> Store {
    let store = Store::connect(&isolation.database_url, 2).await.unwrap();
    store.migrate().await.unwrap();
    store
}

fn new_app(client_id: &str) -> NewApp {
    NewApp {
        name: "contract".into(),
        app_type: gatehouse_core::grant::AppType::S2s,
        client_id: client_id.into(),
        secret_hash: Some("a".repeat(64)),
        redirect_uris: vec!["https://app.example/cb?a=1,2".into()],
        scopes: vec![],
        rotate_refresh_tokens: true,
        allow_device_flow: false,
        id_token_signed_response_alg: None,
        standard_claims: false,
        security: Default::default(),
        logout: Default::default(),
    }
}

fn sign_up(n: u8) -> NewSignUp {
    NewSignUp {
        auth_id: format!("00000000-0000-4000-8000-0000000000{n:02}"),
        email: format!("link{n}@example.com"),
        password_hash: Some("not-a-real-hash".into()),
        first_name: None,
        last_name: None,
        locale: "en".into(),
    }
}

backend_tests! {
    async fn linked_identities_find_their_account_until_unlinked_or_the_account_is_deleted(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        let store = store_for(&isolation).await;
        let user = store.insert_sign_up(&sign_up(1)).await.unwrap();
        let other = store.insert_sign_up(&sign_up(2)).await.unwrap();
        let found = |provider: &'static str, subject: &'static str| {
            let store = store.clone();
            async move { store.social_user(provider, subject).await.unwrap().map(|u| u.id) }
        };
        assert_eq!(found("acme", "s-1").await, None);
        let linked = store.link_identity(user.id, "acme", "s-1").await.unwrap();
        assert_eq!((linked.provider.as_str(), linked.subject.as_str()), ("acme", "s-1"));
        assert_eq!(found("acme", "s-1").await, Some(user.id));
        assert_eq!(found("acme", "s-2").await, None);
        assert_eq!(found("other", "s-1").await, None);
        // One live account per identity, whoever asks.
        for to in [user.id, other.id] {
            assert!(matches!(store.link_identity(to, "acme", "s-1").await, Err(StoreError::Conflict(_))));
        }
        assert_eq!(store.linked_identities(user.id).await.unwrap(), vec![linked.clone()]);
        assert!(!store.unlink_identity(other.id, linked.id).await.unwrap(), "not the other user's");
        assert!(store.unlink_identity(user.id, linked.id).await.unwrap());
        assert!(!store.unlink_identity(user.id, linked.id).await.unwrap(), "only once");
        assert_eq!(found("acme", "s-1").await, None);
        assert!(store.linked_identities(user.id).await.unwrap().is_empty());

        // Unlinked, the identity may be linked anew; a deleted account's identities go with it.
        store.link_identity(other.id, "acme", "s-1").await.unwrap();
        assert_eq!(found("acme", "s-1").await, Some(other.id));
        store.delete_user(other.id).await.unwrap();
        assert_eq!(found("acme", "s-1").await, None);
        assert!(store.linked_identities(other.id).await.unwrap().is_empty());
        assert!(matches!(store.link_identity(other.id, "acme", "s-3").await, Err(StoreError::Conflict(_))));
        store.link_identity(user.id, "acme", "s-1").await.unwrap();
        assert_eq!(found("acme", "s-1").await, Some(user.id));
    }

    async fn cache_values_expire_and_are_consumed_once(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        let cache = cache_for(&isolation).await;
        cache.ping().await.unwrap();
        assert_eq!(cache.get("missing").await.unwrap(), None);
        cache.set("code", "v1", Duration::from_secs(1)).await.unwrap();
        assert_eq!(cache.get("code").await.unwrap().as_deref(), Some("v1"));
        assert_eq!(cache.take("code").await.unwrap().as_deref(), Some("v1"));
        assert_eq!(cache.take("code").await.unwrap(), None);

        assert!(cache.set_if_absent("step", "1", Duration::from_secs(1)).await.unwrap());
        assert!(!cache.set_if_absent("step", "2", Duration::from_secs(1)).await.unwrap());
        assert_eq!(cache.get("step").await.unwrap().as_deref(), Some("1"));

        cache.set("short", "x", Duration::from_secs(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(cache.get("short").await.unwrap(), None);
        assert_eq!(cache.get("step").await.unwrap(), None);
        assert!(cache.set_if_absent("step", "3", Duration::from_secs(1)).await.unwrap());
    }

    async fn held_denials_stay_until_they_end_or_are_lifted_and_the_cache_reads_two_keys_at_once(backend: Backend) {
        use chrono::Timelike;
        use gatehouse_store::{DenialKind, DenialStore, HeldDenial};
        let isolation = Isolation::new(backend).await;
        let store = store_for(&isolation).await;
        let now = chrono::Utc::now().naive_utc().with_nanosecond(0).unwrap();
        let held = |kind, key: &str, subject: &str, secs: i64| HeldDenial {
            kind,
            key: key.into(),
            subject: subject.into(),
            expires_at: now + chrono::Duration::seconds(secs),
        };
        let lockout = held(DenialKind::Lockout, "FLA-a@b.c-1.2.3.4", "a@b.c", 60);
        let other_ip = held(DenialKind::Lockout, "FLA-a@b.c-5.6.7.8", "a@b.c", 60);
        let revoked = held(DenialKind::RevokedAccessToken, "RAT-j1", "j1", 30);
        for denial in [&lockout, &other_ip, &revoked] {
            store.hold_denial(denial, now).await.unwrap();
        }
        // Holding the same key again moves its end rather than adding a row.
        let extended = held(DenialKind::Lockout, "FLA-a@b.c-1.2.3.4", "a@b.c", 120);
        store.hold_denial(&extended, now).await.unwrap();
        let mut in_force = store.denials_in_force(now).await.unwrap();
        in_force.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(in_force, vec![extended.clone(), other_ip.clone(), revoked.clone()]);
        // Ended ones are not in force, and the next hold sweeps them away.
        let later = now + chrono::Duration::seconds(90);
        assert_eq!(store.denials_in_force(later).await.unwrap(), vec![extended.clone()]);
        // Lifting a subject's lockouts leaves the revocations, and another kind's same subject.
        assert_eq!(store.lift_denials(DenialKind::Lockout, "a@b.c").await.unwrap(), 2);
        assert_eq!(store.lift_denials(DenialKind::Lockout, "j1").await.unwrap(), 0);
        assert_eq!(store.denials_in_force(now).await.unwrap(), vec![revoked]);

        let cache = cache_for(&isolation).await;
        cache.set("one", "1", Duration::from_secs(5)).await.unwrap();
        cache.set_forever("two", "2").await.unwrap();
        assert_eq!(
            cache.get_two("one", "two").await.unwrap(),
            (Some("1".into()), Some("2".into()))
        );
        assert_eq!(cache.get_two("none", "two").await.unwrap(), (None, Some("2".into())));
        if let Some(left) = cache.time_left("two").await.unwrap() {
            assert!(left > Duration::from_secs(365 * 86_400), "{left:?}");
        }
    }

    async fn cache_counters_count_within_their_window(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        let cache = cache_for(&isolation).await;
        for expected in 1..=5 {
            assert_eq!(cache.increment("FLA-a@b.c-1.2.3.4", Duration::from_secs(1)).await.unwrap(), expected);
        }
        cache.increment("FLA-a@b.c-5.6.7.8", Duration::from_secs(1)).await.unwrap();
        cache.set("OTHER-x", "1", Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            cache.keys_with_prefix("FLA-a@b.c").await.unwrap(),
            vec!["FLA-a@b.c-1.2.3.4".to_string(), "FLA-a@b.c-5.6.7.8".to_string()]
        );
        cache.delete("FLA-a@b.c-5.6.7.8").await.unwrap();
        assert_eq!(cache.keys_with_prefix("FLA-").await.unwrap().len(), 1);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(cache.increment("FLA-a@b.c-1.2.3.4", Duration::from_secs(1)).await.unwrap(), 1);
    }

    async fn store_reports_conflicts_and_binds_placeholders_by_number(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        let store = store_for(&isolation).await;
        let app = store.insert_app(new_app("contract-app")).await.unwrap();
        assert_eq!(app.redirect_uris, vec!["https://app.example/cb?a=1,2".to_string()]);
        assert!(app.is_active);
        assert!(app.rotate_refresh_tokens);
        match store.insert_app(new_app("contract-app")).await {
            Err(StoreError::Conflict(_)) => {}
            other => panic!("expected a conflict, got {other:?}"),
        }
        // `SET secret_hash = $2 … WHERE id = $1`: swapped bindings would update nothing.
        store.set_app_secret_hash(app.id, &"b".repeat(64)).await.unwrap();
        let again = store.app_by_client_id("contract-app").await.unwrap().unwrap();
        assert_eq!(again.secret_hash, Some("b".repeat(64)));
        assert!(store.app_by_client_id("nobody").await.unwrap().is_none());
        assert_eq!(store.backend() == gatehouse_store::Backend::Sqlite, backend == Backend::Sqlite);
        store.ping().await.unwrap();
    }
}

/// Every query in the store crate numbers its placeholders from `$1` without gaps, so SQLite and
/// PostgreSQL bind them alike.
#[test]
fn store_queries_use_contiguous_numbered_placeholders() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../gatehouse-store/src");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for literal in text
            .split("const SQL")
            .skip(1)
            .chain(text.split("const INSERT").skip(1))
        {
            let Some(start) = literal.find('"') else {
                continue;
            };
            let Some(end) = literal[start + 1..].find("\";") else {
                continue;
            };
            let sql = &literal[start + 1..start + 1 + end];
            let mut numbers: Vec<u32> = sql
                .split('$')
                .skip(1)
                .filter_map(|rest| {
                    rest.split(|c: char| !c.is_ascii_digit())
                        .next()?
                        .parse()
                        .ok()
                })
                .collect();
            numbers.sort();
            numbers.dedup();
            let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
            assert_eq!(numbers, expected, "{}: {sql}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} queries found");
}

backend_tests! {
    /// The dashboard's counts (migration 0018's triggers, one per dialect) agree on both stores.
    async fn dashboard_counts_follow_users_factors_passkeys_and_sign_ins(backend: Backend) {
        use gatehouse_store::{DailyCount, MfaStore, StatsStore, UserTotals};
        let isolation = Isolation::new(backend).await;
        let store = store_for(&isolation).await;
        let ada = store.insert_sign_up(&sign_up(1)).await.unwrap();
        let grace = store.insert_sign_up(&sign_up(2)).await.unwrap();
        store.insert_sign_up(&sign_up(3)).await.unwrap();
        store.confirm_otp(ada.id, "otp,email").await.unwrap();
        store.confirm_sms(grace.id, "sms").await.unwrap();
        store.insert_passkey(grace.id, "cred-1", "key", 0).await.unwrap();
        store.insert_passkey(grace.id, "cred-2", "key", 0).await.unwrap();
        let expected = UserTotals { users: 3, with_otp: 1, with_sms_mfa: 1, with_email_mfa: 1, with_mfa: 2, with_passkeys: 1 };
        assert_eq!(store.user_totals().await.unwrap(), expected);
        store.set_mfa_types(ada.id, "email", true, false).await.unwrap();
        store.delete_user(grace.id).await.unwrap();
        let expected = UserTotals { users: 2, with_otp: 0, with_sms_mfa: 0, with_email_mfa: 1, with_mfa: 1, with_passkeys: 0 };
        assert_eq!(store.user_totals().await.unwrap(), expected);

        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2030, 1, d).unwrap();
        let at = |d: u32| day(d).and_hms_opt(12, 0, 0).unwrap();
        store.record_sign_in(ada.id, at(1)).await.unwrap();
        store.record_sign_in(ada.id, at(1)).await.unwrap();
        store.record_sign_in(ada.id, at(2)).await.unwrap();
        let read = |count| store.daily_counts(count, day(1), day(2));
        assert_eq!(read(DailyCount::SignIns).await.unwrap(), [(day(1), 2), (day(2), 1)]);
        // Ada's latest sign-in moved to the 2nd: the 1st counts nobody now.
        assert_eq!(read(DailyCount::LastSignIns).await.unwrap(), [(day(1), 0), (day(2), 1)]);
        let today = gatehouse_store::now_utc().date();
        let sign_ups = store.daily_counts(DailyCount::SignUps, today, today).await.unwrap();
        assert_eq!(sign_ups, [(today, 3)]);
    }

    async fn cache_marks_count_each_member_once_until_removed(backend: Backend) {
        let cache = cache_for(&Isolation::new(backend).await).await;
        let hour = Duration::from_secs(3600);
        cache.mark("locked", "a@example.com", hour).await.unwrap();
        cache.mark("locked", "a@example.com", Duration::from_secs(60)).await.unwrap();
        cache.mark("locked", "b@example.com", hour).await.unwrap();
        assert_eq!(cache.count_marked("locked").await.unwrap(), 2);
        assert_eq!(cache.count_marked("other").await.unwrap(), 0);
        cache.unmark("locked", "b@example.com").await.unwrap();
        assert_eq!(cache.count_marked("locked").await.unwrap(), 1);
        cache.increment("counter", Duration::from_secs(600)).await.unwrap();
        let left = cache.time_left("counter").await.unwrap().unwrap();
        assert!(left > Duration::from_secs(590) && left <= Duration::from_secs(600), "{left:?}");
        assert_eq!(cache.time_left("absent").await.unwrap(), None);
    }
}
