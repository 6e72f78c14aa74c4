use gatehouse_core::ids::UserId;
use gatehouse_store::NewRefreshToken;

use super::*;
use crate::services::fixture;

const NOW: i64 = 1_800_000_000;

/// A store with one signed-up user, and the user's id.
async fn store_with_user() -> (Store, UserId) {
    let store = fixture::store().await;
    let user = fixture::user(&store, &fixture::passwords(), "sso@example.com", None).await;
    (store, user.id)
}

fn sessions(store: &Store, idle_lifetime: i64) -> Sessions<'_, Store> {
    Sessions {
        store,
        idle_lifetime,
        wake: None,
    }
}

/// Starts a session at `NOW` (no address, no user agent); its cookie.
async fn cookie_for(sessions: &Sessions<'_, Store>, user_id: UserId) -> String {
    let started = sessions
        .start(user_id, NOW, &[], (None, None), NOW)
        .await
        .unwrap();
    started.expect("SSO is on").1
}

#[tokio::test]
async fn a_started_session_resumes_by_its_cookie_and_slides_its_idle_expiry() {
    let (store, user_id) = store_with_user().await;
    let sessions = sessions(&store, 600);

    let (id, cookie) = sessions
        .start(
            user_id,
            NOW - 5,
            &[],
            (Some("192.0.2.1"), Some("agent")),
            NOW,
        )
        .await
        .unwrap()
        .expect("SSO is on");
    let resumed = sessions
        .resume(Some(&cookie), NOW + 500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((resumed.id, resumed.user_id), (id, user_id));
    assert_eq!(resumed.auth_time.and_utc().timestamp(), NOW - 5);
    // Resumed at +500, so it lives until +1100: still there at +1000, gone after.
    assert!(sessions
        .resume(Some(&cookie), NOW + 1000)
        .await
        .unwrap()
        .is_some());
    assert!(sessions
        .resume(Some(&cookie), NOW + 1700)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn only_the_exact_cookie_resumes_and_logout_ends_it() {
    let (store, user_id) = store_with_user().await;
    let sessions = sessions(&store, 600);
    let cookie = cookie_for(&sessions, user_id).await;

    assert!(sessions.resume(None, NOW).await.unwrap().is_none());
    assert!(sessions.resume(Some(""), NOW).await.unwrap().is_none());
    let altered = format!("{cookie}x");
    assert!(sessions
        .resume(Some(&altered), NOW)
        .await
        .unwrap()
        .is_none());
    // The store keeps the hash, never the cookie.
    assert!(store
        .live_browser_session(&cookie, at(NOW))
        .await
        .unwrap()
        .is_none());

    sessions.end(Some(&altered), NOW).await.unwrap();
    assert!(sessions.resume(Some(&cookie), NOW).await.unwrap().is_some());
    sessions.end(Some(&cookie), NOW).await.unwrap();
    assert!(sessions.resume(Some(&cookie), NOW).await.unwrap().is_none());
}

#[tokio::test]
async fn with_single_sign_on_off_nothing_starts_or_resumes() {
    let (store, user_id) = store_with_user().await;
    let on = sessions(&store, 600);
    let cookie = cookie_for(&on, user_id).await;

    let off = sessions(&store, 0);
    assert!(off
        .start(user_id, NOW, &[], (None, None), NOW)
        .await
        .unwrap()
        .is_none());
    assert!(off.resume(Some(&cookie), NOW).await.unwrap().is_none());
}

#[tokio::test]
async fn a_long_multibyte_user_agent_is_cut_on_a_character_boundary() {
    let (store, user_id) = store_with_user().await;
    let sessions = sessions(&store, 600);
    let agent = "é".repeat(400);
    let started = sessions
        .start(user_id, NOW, &[], (None, Some(&agent)), NOW)
        .await
        .unwrap();
    assert!(started.is_some());
}

#[tokio::test]
async fn ending_everywhere_ends_every_browser_and_revokes_refresh_tokens() {
    let (store, user_id) = store_with_user().await;
    let sessions = sessions(&store, 600);
    let first = cookie_for(&sessions, user_id).await;
    let second = cookie_for(&sessions, user_id).await;
    let app = fixture::spa_app(&store).await;
    store
        .insert_refresh_token(&NewRefreshToken {
            token_hash: "hash-1",
            family_id: "family-1",
            user_id,
            app_id: app.id,
            session_id: None,
            scope: "openid offline_access",
            roles: "[]",
            impersonated_by: None,
            resource: None,
            amr: &[],
            userinfo_claims: &[],
            dpop_jkt: None,
            expires_at: at(NOW + 3600),
        })
        .await
        .unwrap();

    sessions.end_everywhere(user_id, NOW).await.unwrap();
    assert!(sessions.resume(Some(&first), NOW).await.unwrap().is_none());
    assert!(sessions.resume(Some(&second), NOW).await.unwrap().is_none());
    let token = store
        .refresh_token_by_hash("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert!(token.revoked_at.is_some());
}
