//! What userinfo, `/info` and the S2S API keep in memory (users as userinfo shows them, verified
//! tokens, apps) never hides a change: a revoked token, a disabled or deleted user or app, a
//! changed role, email or scope is seen at once by the instance that made the change, and
//! within `user_cache_ttl` / `client_cache_ttl` / `revocation_check_ttl` by another instance
//! sharing the storage.
//!
//! The single instance keeps copies for an hour, so what it answers after a change is fresh
//! because the change was seen, not because a copy aged out. The pair keeps them for
//! [`TTL`] and shares Redis (with SQLite, also the database file).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, basic, call, s2s_app, Backend, Isolation, TestApp, REDIS_URL};
use crate::mailbox::Mailbox;
use gatehouse_server::config::{Config, Secret};

const CB: &str = "http://127.0.0.1:5173/cb";

/// How long the pair's instances may serve a copy (`user_cache_ttl`, `client_cache_ttl`,
/// `revocation_check_ttl`).
const TTL: u64 = 1;

/// One instance that could serve copies for an hour.
async fn one_instance(backend: Backend, mailbox: &Mailbox) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.user_cache_ttl = 3600;
        c.client_cache_ttl = 3600;
        c.revocation_check_ttl = 3600;
        mailbox.configure(c);
    })
    .await
}

/// Two instances of one deployment: same storage, same Redis, same issuer; each may serve
/// copies for [`TTL`]. The first sends mail through `mailbox`.
async fn two_instances(backend: Backend, mailbox: &Mailbox) -> (TestApp, TestApp) {
    let isolation = Isolation::new(backend).await;
    let prefix = isolation.redis_prefix.clone();
    let shared = move |c: &mut Config| {
        c.user_cache_ttl = TTL;
        c.client_cache_ttl = TTL;
        c.revocation_check_ttl = TTL;
        // SQLite shares its file; the deny-list and codes need a shared cache too.
        c.redis_url = Secret::new(REDIS_URL);
        c.redis_key_prefix = prefix.clone();
    };
    let first = TestApp::spawn_on(isolation.clone(), |c| {
        shared(c);
        mailbox.configure(c);
    })
    .await;
    let issuer = first.base.clone();
    let second = TestApp::spawn_on(isolation, |c| {
        shared(c);
        c.issuer = issuer;
    })
    .await;
    (first, second)
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    call(app, "GET", path, token, None).await
}

/// Asks `app` for `path` until `seen` holds of the answer: once when `bound` is zero (at once),
/// else for at most `bound` and a second's slack.
async fn seen_within(
    app: &TestApp,
    path: &str,
    token: &str,
    bound: Duration,
    seen: impl Fn(u16, &Value) -> bool,
) {
    let slack = if bound.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_secs(1)
    };
    let started = Instant::now();
    loop {
        let (status, body) = get(app, path, token).await;
        if seen(status, &body) {
            return;
        }
        assert!(
            started.elapsed() < bound + slack,
            "{path} still answers {status} {body} after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The user's `sub` and access token from the code `redirect` carries.
async fn tokens_from(app: &TestApp, client_id: &str, redirect: &str) -> (String, String) {
    let tokens = code_tokens(app, client_id, CB, redirect).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let sub = crate::harness::jwt_part(&access, 1)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    (sub, access)
}

/// The changes to a user that userinfo must show, each made through `by` to a user of its own
/// and seen through `on` within `bound`.
async fn user_changes(by: &TestApp, on: &TestApp, mailbox: &Mailbox, bound: Duration, label: &str) {
    let root = by.admin_token("root").await;
    let (_, client_id, _) = create_app(by, "Fresh", "spa", &[CB]).await;
    let (status, body) = call(
        by,
        "POST",
        "/api/v1/roles",
        &root,
        Some(json!({"name": "editor"})),
    )
    .await;
    assert!(status == 201 || status == 200, "{body}");
    let userinfo = "/oauth2/v1/userinfo";
    let user = |name: &str| format!("{name}.{label}@example.com");

    // Each user is first read through `on`, so a copy is there to be found stale.
    let (sub, token) = signed_up(by, mailbox, &client_id, &user("roles")).await;
    let (status, body) = get(on, userinfo, &token).await;
    assert_eq!((status, &body["roles"]), (200, &json!([])), "{body}");
    let path = format!("/api/v1/users/{sub}");
    let (status, body) = call(by, "PUT", &path, &root, Some(json!({"roles": ["editor"]}))).await;
    assert_eq!(status, 200, "{body}");
    seen_within(on, userinfo, &token, bound, |s, b| {
        s == 200 && b["roles"] == json!(["editor"])
    })
    .await;

    let (sub, token) = signed_up(by, mailbox, &client_id, &user("disabled")).await;
    assert_eq!(get(on, userinfo, &token).await.0, 200);
    let path = format!("/api/v1/users/{sub}");
    let (status, body) = call(by, "PUT", &path, &root, Some(json!({"isActive": false}))).await;
    assert_eq!(status, 200, "{body}");
    seen_within(on, userinfo, &token, bound, |s, b| {
        s == 400 && b["error_description"] == "Try to access a disabled account"
    })
    .await;

    let (sub, token) = signed_up(by, mailbox, &client_id, &user("deleted")).await;
    assert_eq!(get(on, userinfo, &token).await.0, 200);
    let (status, body) = call(by, "DELETE", &format!("/api/v1/users/{sub}"), &root, None).await;
    assert!(status == 200 || status == 204, "{body}");
    seen_within(on, userinfo, &token, bound, |s, _| s == 404 || s == 401).await;

    // A revoked token goes on the shared deny-list (each instance may trust its last reading
    // of it for `revocation_check_ttl`).
    let (_, token) = signed_up(by, mailbox, &client_id, &user("revoked")).await;
    assert_eq!(get(on, userinfo, &token).await.0, 200);
    let revoked = by
        .client
        .post(by.url("/oauth2/v1/revoke"))
        .form(&[("token", token.as_str()), ("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    seen_within(on, userinfo, &token, bound, |s, _| s == 401).await;
}

/// The changes to an S2S app that `/info` and the S2S API must show.
async fn app_changes(by: &TestApp, on: &TestApp, bound: Duration) {
    let root = by.admin_token("root").await;

    let caller = s2s_app(by, &root, &["read_user"]).await;
    assert_eq!(get(on, "/info", &caller.token).await.0, 200);
    let path = format!("/api/v1/apps/{}", caller.id);
    let (status, body) = call(by, "PUT", &path, &root, Some(json!({"isActive": false}))).await;
    assert_eq!(status, 200, "{body}");
    seen_within(on, "/info", &caller.token, bound, |s, _| s == 401).await;

    let caller = s2s_app(by, &root, &["read_user"]).await;
    assert_eq!(get(on, "/info", &caller.token).await.0, 200);
    let path = format!("/api/v1/apps/{}", caller.id);
    let (status, body) = call(by, "DELETE", &path, &root, None).await;
    assert!(status == 200 || status == 204, "{body}");
    seen_within(on, "/info", &caller.token, bound, |s, _| s == 401).await;

    // A scope taken from the app: its tokens lose it.
    let caller = s2s_app(by, &root, &["read_user", "read_app"]).await;
    assert_eq!(get(on, "/api/v1/users", &caller.token).await.0, 200);
    let path = format!("/api/v1/apps/{}", caller.id);
    let (status, body) = call(
        by,
        "PUT",
        &path,
        &root,
        Some(json!({"scopes": ["read_app"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    seen_within(on, "/api/v1/users", &caller.token, bound, |s, _| {
        s == 401 || s == 403
    })
    .await;

    let caller = s2s_app(by, &root, &["read_user"]).await;
    assert_eq!(get(on, "/info", &caller.token).await.0, 200);
    let revoked = by
        .client
        .post(by.url("/oauth2/v1/revoke"))
        .header("Authorization", basic(&caller.client_id, &caller.secret))
        .form(&[("token", caller.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    seen_within(on, "/info", &caller.token, bound, |s, _| s == 401).await;
}

/// A user of `client_id`, invited and accepted (so their address is verified) and signed in:
/// their `sub` and access token.
async fn signed_up(
    app: &TestApp,
    mailbox: &Mailbox,
    client_id: &str,
    email: &str,
) -> (String, String) {
    let (_, sub, token) = invited_user(app, mailbox, client_id, email).await;
    (sub, token)
}

/// [`signed_up`], with the user's browser.
async fn invited_user(
    app: &TestApp,
    mailbox: &Mailbox,
    client_id: &str,
    email: &str,
) -> (Browser, String, String) {
    let root = app.admin_token("root").await;
    let (status, body) = call(
        app,
        "POST",
        "/api/v1/users/invitations",
        &root,
        Some(json!({ "email": email })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let invite = mailbox.with_subject(email, "You are invited").await;
    let browser = Browser::new(app);
    let page = browser
        .get(&invite.link(&app.url("/identity/v1/view/accept-invitation")))
        .await;
    let fields = hidden_fields(&page.html, "step-form", &[("password", PASSWORD)]);
    let accepted = browser
        .post("/identity/v1/view/accept-invitation", &fields)
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.html);
    let signed = sign_in(
        &browser,
        &authorize_url(client_id, CB, &[]),
        email,
        PASSWORD,
        CB,
    )
    .await;
    let page = browser.follow(signed, CB).await;
    let redirect = finish_consent(&browser, page, CB).await;
    let (sub, token) = tokens_from(app, client_id, &redirect).await;
    (browser, sub, token)
}

/// The user changes their address on `by` (the change-email policy, with the emailed code);
/// userinfo on `on` shows the new one within `bound`.
async fn email_change(by: &TestApp, on: &TestApp, mailbox: &Mailbox, bound: Duration, label: &str) {
    let (_, client_id, _) = create_app(by, "Fresh", "spa", &[CB]).await;
    let email = format!("before.{label}@example.com");
    let (browser, _, token) = invited_user(by, mailbox, &client_id, &email).await;
    let (status, body) = get(on, "/oauth2/v1/userinfo", &token).await;
    assert_eq!(
        (status, body["email"].as_str()),
        (200, Some(email.as_str())),
        "{body}"
    );

    let url = authorize_url(&client_id, CB, &[("policy", "change_email")]);
    let page = browser.follow(browser.get(&url).await, CB).await;
    let page = past_consent(&browser, page, CB).await;
    assert!(page.html.contains("Change your email"), "{}", page.html);
    let new_email = format!("after.{label}@example.com");
    let fields = hidden_fields(&page.html, "step-form", &[("email", &new_email)]);
    let sent = browser
        .post("/identity/v1/view/change-email", &fields)
        .await;
    assert_eq!(sent.status, 200, "{}", sent.html);
    let code = mailbox.first_to(&new_email).await.code();
    let fields = hidden_fields(&sent.html, "step-form", &[("code", &code)]);
    let done = browser
        .post("/identity/v1/view/change-email", &fields)
        .await;
    assert!(
        done.location.as_deref().is_some_and(|l| l.starts_with(CB)),
        "{}",
        done.html
    );
    seen_within(on, "/oauth2/v1/userinfo", &token, bound, |s, b| {
        s == 200 && b["email"] == new_email.as_str()
    })
    .await;
}

backend_tests! {
    async fn the_instance_that_makes_a_change_shows_it_at_once(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = one_instance(backend, &mailbox).await;
        let label = format!("{backend:?}").to_lowercase();
        user_changes(&app, &app, &mailbox, Duration::ZERO, &label).await;
        app_changes(&app, &app, Duration::ZERO).await;
        email_change(&app, &app, &mailbox, Duration::ZERO, &label).await;
    }

    async fn another_instance_shows_a_change_within_the_cache_lifetime(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let (first, second) = two_instances(backend, &mailbox).await;
        let label = format!("pair.{backend:?}").to_lowercase();
        let bound = Duration::from_secs(TTL);
        user_changes(&first, &second, &mailbox, bound, &label).await;
        app_changes(&first, &second, bound).await;
        email_change(&first, &second, &mailbox, bound, &label).await;
    }
}
