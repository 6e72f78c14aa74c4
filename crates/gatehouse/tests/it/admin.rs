//! The admin panel over HTTP: first run (setup link and CLI), sign-in through the authorize
//! flow, the refusal of non-admins and of forms without the session's CSRF token. The browser
//! path with screenshots is `admin_browser.rs`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::flow::{error_text, form_fields, hidden_fields, input_value, Browser, Page, PASSWORD};
use crate::harness::{backend_tests, Backend, TestApp};

pub const ADMIN_EMAIL: &str = "root-admin@example.com";
/// Never a prefix of a URL: `follow` goes to the end.
const NOWHERE: &str = "\u{0}";

/// Creates the first super_admin through the start-up setup link.
pub async fn set_up_admin(app: &TestApp, email: &str) {
    let link = app
        .setup_link
        .clone()
        .expect("a setup link on an empty install");
    let browser = Browser::new(app);
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let fields = hidden_fields(
        &page.html,
        "setup-form",
        &[
            ("email", email),
            ("password", PASSWORD),
            ("first_name", "Root"),
            ("last_name", "Admin"),
        ],
    );
    let done = browser.post("/admin/setup", &fields).await;
    assert_eq!(done.status, 200, "{}", done.html);
}

/// Goes through sign-in (and consent) from `page` to wherever the flow ends.
async fn through_sign_in(browser: &Browser, page: Page, email: &str, password: &str) -> Page {
    let mut page = browser.follow(page, NOWHERE).await;
    for _ in 0..4 {
        if page.html.contains("sign-in-form") {
            let fields = form_fields(&page.html, &[("email", email), ("password", password)]);
            page = browser.post("/identity/v1/view/authorize", &fields).await;
        } else if page.html.contains("consent-form") {
            let fields = form_fields(&page.html, &[("decision", "accept")]);
            page = browser.post("/identity/v1/view/consent", &fields).await;
        } else {
            return page;
        }
        page = browser.follow(page, NOWHERE).await;
    }
    page
}

/// A browser signed in to the panel (or refused); returns it with the page `/admin` led to.
pub async fn panel_browser(app: &TestApp, email: &str, password: &str) -> (Browser, Page) {
    let browser = Browser::new(app);
    let start = browser.get("/admin").await;
    assert_eq!(start.status, 303, "{}", start.html);
    let page = through_sign_in(&browser, start, email, password).await;
    (browser, page)
}

/// Signs a user up through an app's sign-up page (no admin role).
pub async fn sign_up_user(app: &TestApp, email: &str) {
    let redirect = "https://app.example.com/cb";
    let (_, client_id, _) = crate::flow::create_app(app, "User app", "spa", &[redirect]).await;
    let browser = Browser::new(app);
    let authorize = crate::flow::authorize_url(&client_id, redirect, &[]);
    crate::flow::sign_up(&browser, &authorize, email, redirect).await;
}

backend_tests! {
    async fn setup_link_creates_the_first_super_admin_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let link = app.setup_link.clone().expect("a setup link on an empty install");
        assert!(link.starts_with(&format!("{}/admin/setup?token=", app.base)), "{link}");
        let browser = Browser::new(&app);
        let page = browser.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.html);
        // A weak password is refused and the link stays usable.
        let weak = hidden_fields(&page.html, "setup-form", &[("email", ADMIN_EMAIL), ("password", "short")]);
        let refused = browser.post("/admin/setup", &weak).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert!(!error_text(&refused.html).is_empty(), "{}", refused.html);
        // A post without the browser's CSRF token is refused.
        let mut forged = hidden_fields(&page.html, "setup-form", &[("email", ADMIN_EMAIL), ("password", PASSWORD)]);
        forged.retain(|(k, _)| k != "csrf_token");
        let forged = Browser::new(&app).post("/admin/setup", &forged).await;
        assert_eq!(forged.status, 403, "{}", forged.html);
        let good = hidden_fields(&page.html, "setup-form", &[("email", ADMIN_EMAIL), ("password", PASSWORD)]);
        let done = browser.post("/admin/setup", &good).await;
        assert_eq!(done.status, 200, "{}", done.html);
        // Spent: neither the form nor the link work again.
        let again = browser.post("/admin/setup", &good).await;
        assert_eq!(again.status, 404, "{}", again.html);
        assert_eq!(browser.get(&link).await.status, 404);
        // The admin signs in to the panel and holds super_admin.
        let (_, dashboard) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        assert!(dashboard.html.contains(ADMIN_EMAIL) && dashboard.html.contains("chart-sign-ins"), "{}", dashboard.html);
        // With an admin in place, a restart prints no link.
        let isolation = app.stop().await;
        let restarted = TestApp::spawn_on(isolation, |_| {}).await;
        assert!(restarted.setup_link.is_none());
    }

    /// The built-in panel's callback stays out of the admin SPA app as the API shows it (Melody's
    /// panel lists those URIs and offers them for impersonation), and survives their replacement.
    async fn the_panel_callback_is_kept_but_not_shown(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, "root@example.com").await;
        let root = app.admin_token("root").await;
        let callback = app.url("/admin/callback");
        let (_, listed) = crate::harness::call(&app, "GET", "/api/v1/apps", &root, None).await;
        let spa = listed["apps"].as_array().unwrap().iter()
            .find(|a| a["name"] == "Admin Panel (SPA)").expect("the seeded admin SPA app").clone();
        let shown = |app: &serde_json::Value| app["redirectUris"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert!(!shown(&spa).contains(&callback), "{spa}");
        let id = spa["id"].as_i64().unwrap();
        let (status, body) = crate::harness::call(&app, "GET", &format!("/api/v1/apps/{id}"), &root, None).await;
        assert_eq!(status, 200);
        assert!(!shown(&body["app"]).contains(&callback), "{body}");
        let (status, body) = crate::harness::call(&app, "PUT", &format!("/api/v1/apps/{id}"), &root,
            Some(serde_json::json!({ "redirectUris": ["https://panel.example/en/dashboard"] }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(shown(&body["app"]), ["https://panel.example/en/dashboard"]);
        // The built-in panel still signs in through its callback.
        let (browser, page) = panel_browser(&app, "root@example.com", PASSWORD).await;
        let page = browser.follow(page, NOWHERE).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains("id=\"content\""), "{}", page.html);
    }

    async fn a_user_without_an_admin_role_is_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let email = format!("plain.{backend:?}@example.com").to_lowercase();
        sign_up_user(&app, &email).await;
        let (browser, page) = panel_browser(&app, &email, PASSWORD).await;
        assert_eq!(page.status, 403, "{}", page.html);
        assert!(page.html.contains("id=\"refused\""), "{}", page.html);
        // The panel stays closed to this browser, and its sign-out works.
        let again = browser.get("/admin/users").await;
        assert_eq!(again.status, 303);
        let token = input_value(&page.html, "csrf_token").unwrap();
        let out = browser.post("/admin/sign-out", &[("csrf_token".into(), token)]).await;
        assert_eq!(out.status, 200, "{}", out.html);
    }

    async fn a_panel_post_without_the_csrf_token_is_refused_and_changes_nothing(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (browser, dashboard) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        let users = browser.get("/admin/users").await;
        let token = input_value(&users.html, "csrf_token").unwrap();
        let before = app.isolation.table_counts().await;
        let new_user = |token: Option<&str>| {
            let mut form = vec![
                ("email".to_owned(), "made@example.com".to_owned()),
                ("password".to_owned(), PASSWORD.to_owned()),
            ];
            if let Some(t) = token {
                form.push(("csrf_token".to_owned(), t.to_owned()));
            }
            form
        };
        let missing = browser.post("/admin/users", &new_user(None)).await;
        assert_eq!(missing.status, 403, "{}", missing.html);
        let wrong = browser.post("/admin/users", &new_user(Some("not-the-token"))).await;
        assert_eq!(wrong.status, 403, "{}", wrong.html);
        let foreign = browser
            .http
            .post(app.url("/admin/users"))
            .header("Origin", "https://evil.example")
            .form(&new_user(Some(&token)))
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        // Without the panel's session the token alone does nothing.
        let stranger = Browser::new(&app).post("/admin/users", &new_user(Some(&token))).await;
        assert_eq!(stranger.status, 403, "{}", stranger.html);
        assert_eq!(app.isolation.table_counts().await, before);
        // Bad input gets its reason and changes nothing.
        let weak = browser
            .post("/admin/users", &[("csrf_token".into(), token.clone()), ("email".into(), "x@example.com".into()), ("password".into(), "weak".into())])
            .await;
        assert_eq!(weak.status, 400, "{}", weak.html);
        assert_eq!(app.isolation.table_counts().await, before);
        let made = browser.post("/admin/users", &new_user(Some(&token))).await;
        assert_eq!(made.status, 303, "{}", made.html);
    }
}

/// `gatehouse admin create-user` reads the password from stdin and makes a super_admin who can
/// sign in to the panel; a weak password is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_create_user_makes_a_super_admin() {
    let isolation = crate::harness::Isolation::new(Backend::Sqlite).await;
    let run = |password: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        for (name, _) in std::env::vars() {
            if name.starts_with("GATEHOUSE_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args([
                "admin",
                "create-user",
                "--email",
                "cli-admin@example.com",
                "--first-name",
                "Cli",
            ])
            .envs(isolation.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let weak = run("weak");
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("assword"),
        "{weak:?}"
    );
    let made = run(PASSWORD);
    assert!(made.status.success(), "{made:?}");
    assert!(
        String::from_utf8_lossy(&made.stdout).contains("super_admin cli-admin@example.com created"),
        "{made:?}"
    );
    let app = TestApp::spawn_on(isolation, |_| {}).await;
    assert!(
        app.setup_link.is_none(),
        "an admin exists, so no setup link"
    );
    let (_, dashboard) = panel_browser(&app, "cli-admin@example.com", PASSWORD).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.html);
}

/// Runs `gatehouse admin create-user` on a terminal (a pty made by util-linux `script`), typing
/// each answer once its prompt has appeared; returns what the terminal showed and whether the
/// command succeeded.
fn create_user_at_a_terminal(
    isolation: &crate::harness::Isolation,
    email: &str,
    answers: &[&str],
) -> (String, bool) {
    use std::io::Read;
    let line = format!(
        "{} admin create-user --email {email}",
        env!("CARGO_BIN_EXE_gatehouse")
    );
    let mut command = Command::new("script");
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["-qec", &line, "/dev/null"])
        .envs(isolation.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux `script` runs");
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    let mut shown = String::new();
    for (answer, prompt) in answers.iter().zip(["Password for", "again: "]) {
        let mut buffer = [0u8; 256];
        while !shown.contains(prompt) {
            let read = output.read(&mut buffer).unwrap();
            assert!(read > 0, "the terminal closed before `{prompt}`: {shown}");
            shown.push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
        // The prompt is written just before echo goes off; a person cannot type in between,
        // a test can, so it waits for the terminal to stop echoing.
        wait_for_echo_off(child.id());
        writeln!(input, "{answer}").unwrap();
    }
    let mut rest = String::new();
    output.read_to_string(&mut rest).unwrap();
    shown.push_str(&rest);
    (shown, child.wait().unwrap().success())
}

/// Waits until the terminal of `script`'s child (the command) no longer echoes input.
fn wait_for_echo_off(script_pid: u32) {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        let children =
            std::fs::read_to_string(format!("/proc/{script_pid}/task/{script_pid}/children"))
                .unwrap_or_default();
        for pid in children.split_whitespace() {
            let settings = Command::new("stty")
                .args(["-a", "-F", &format!("/proc/{pid}/fd/0")])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            if settings.split_whitespace().any(|flag| flag == "-echo") {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the terminal kept echoing for 10 s");
}

/// At a terminal the password is asked twice and never echoed; two different answers create
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_create_user_at_a_terminal_hides_the_password() {
    let isolation = crate::harness::Isolation::new(Backend::Sqlite).await;
    let (shown, ok) = create_user_at_a_terminal(
        &isolation,
        "tty-admin@example.com",
        &[PASSWORD, "Other-passw0rd!"],
    );
    assert!(!ok, "{shown}");
    assert!(
        shown.contains("the two passwords differ; nothing was created"),
        "{shown}"
    );
    let (shown, ok) =
        create_user_at_a_terminal(&isolation, "tty-admin@example.com", &[PASSWORD, PASSWORD]);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("super_admin tty-admin@example.com created"),
        "{shown}"
    );
    assert!(
        !shown.contains(PASSWORD),
        "the password was echoed: {shown}"
    );
    let app = TestApp::spawn_on(isolation, |_| {}).await;
    let (_, dashboard) = panel_browser(&app, "tty-admin@example.com", PASSWORD).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.html);
}

backend_tests! {
    async fn the_panel_pages_and_searches_users_rotates_keys_and_cleans_logs(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_sign_in_log = true).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let token = app.admin_token("root").await;
        for n in 0..24 {
            let email = format!("invitee{n:02}@example.com");
            let (status, body) = crate::harness::call(&app, "POST", "/api/v1/users/invitations", &token, Some(serde_json::json!({ "email": email }))).await;
            assert_eq!(status, 200, "{body}");
        }
        let (browser, dashboard) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        // 25 users, 20 a page: two pages, found and counted by the store.
        let first = browser.get("/admin/users").await;
        assert!(first.html.contains("Page 1 of 2 · 25 in all"), "{}", first.html);
        assert!(first.html.contains("id=\"page-next\""), "{}", first.html);
        let second = browser.get("/admin/users?search=&page=2").await;
        assert_eq!(second.html.matches("class=\"user-link\"").count(), 5, "{}", second.html);
        let found = browser.get("/admin/users?search=invitee07").await;
        assert_eq!(found.html.matches("class=\"user-link\"").count(), 1, "{}", found.html);
        assert!(found.html.contains("invitee07@example.com"));
        let csrf = input_value(&first.html, "csrf_token").unwrap();
        // Rotation: a new signing key leads the list, the old one retires.
        let keys = browser.get("/admin/keys").await;
        assert_eq!(keys.html.matches(">signing<").count(), 1, "{}", keys.html);
        let rotated = browser.post("/admin/keys/rotate", &[("csrf_token".into(), csrf.clone())]).await;
        assert_eq!(rotated.status, 303, "{}", rotated.html);
        let keys = browser.get("/admin/keys?rotated=1").await;
        assert_eq!(keys.html.matches(">signing<").count(), 1, "{}", keys.html);
        assert_eq!(keys.html.matches(">retiring<").count(), 1, "{}", keys.html);
        // The admin's sign-in is logged; a cleanup before tomorrow removes it, a bad date is refused.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let logs = browser.get("/admin/logs/sign-in").await;
        assert!(logs.html.contains(ADMIN_EMAIL), "{}", logs.html);
        let bad = browser.post("/admin/logs/sign-in/cleanup", &[("csrf_token".into(), csrf.clone()), ("before".into(), "yesterday".into())]).await;
        assert_eq!(bad.status, 400, "{}", bad.html);
        let tomorrow = gatehouse_store::now_utc().date().succ_opt().unwrap().format("%Y-%m-%d").to_string();
        let cleaned = browser.post("/admin/logs/sign-in/cleanup", &[("csrf_token".into(), csrf.clone()), ("before".into(), tomorrow)]).await;
        assert_eq!(cleaned.status, 303, "{}", cleaned.html);
        let logs = browser.get(cleaned.location.as_deref().unwrap()).await;
        assert!(logs.html.contains("Entries deleted: 1"), "{}", logs.html);
        assert!(logs.html.contains("id=\"no-entries\""), "{}", logs.html);
        // Roles made in the panel are the S2S API's roles; built-in ones stay protected.
        let made = browser.post("/admin/roles", &[("csrf_token".into(), csrf.clone()), ("name".into(), "auditor".into()), ("note".into(), "Reads logs".into())]).await;
        assert_eq!(made.status, 303, "{}", made.html);
        let (_, roles) = crate::harness::call(&app, "GET", "/api/v1/roles", &token, None).await;
        assert!(roles.to_string().contains("auditor"), "{roles}");
        let (_, listed) = crate::harness::call(&app, "GET", "/api/v1/roles", &token, None).await;
        let super_id = listed["roles"].as_array().unwrap().iter().find(|r| r["name"] == "super_admin").unwrap()["id"].as_i64().unwrap();
        let refused = browser.post(&format!("/admin/roles/{super_id}/delete"), &[("csrf_token".into(), csrf.clone())]).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert!(!error_text(&refused.html).is_empty(), "{}", refused.html);
        // Invitations: an inactive user with a pending invitation, re-sent and revoked.
        let invited = browser.post("/admin/users/invitations", &[("csrf_token".into(), csrf.clone()), ("email".into(), "newcomer@example.com".into())]).await;
        assert_eq!(invited.status, 303, "{}", invited.html);
        let detail_url = invited.location.clone().unwrap();
        let detail = browser.get(&detail_url).await;
        assert!(detail.html.contains("id=\"resend-invitation\"") && !detail.html.contains("id=\"enable-user\""), "{}", detail.html);
        let auth_id = detail_url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
        let again = browser.post(&format!("/admin/users/{auth_id}/invitation"), &[("csrf_token".into(), csrf.clone())]).await;
        assert_eq!(again.status, 303, "{}", again.html);
        let revoked = browser.post(&format!("/admin/users/{auth_id}/invitation/revoke"), &[("csrf_token".into(), csrf.clone())]).await;
        assert_eq!(revoked.status, 303, "{}", revoked.html);
        let twice = browser.post(&format!("/admin/users/{auth_id}/invitation/revoke"), &[("csrf_token".into(), csrf)]).await;
        assert_eq!(twice.status, 400, "{}", twice.html);
    }
}

backend_tests! {
    async fn a_configured_panel_role_gets_in_without_root_powers_until_it_is_taken_away(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.admin_panel_roles = vec!["support".into()]).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let token = app.admin_token("root").await;
        let (status, body) = crate::harness::call(&app, "POST", "/api/v1/roles", &token, Some(serde_json::json!({ "name": "support" }))).await;
        assert_eq!(status, 201, "{body}");
        let email = format!("helpdesk.{backend:?}@example.com").to_lowercase();
        sign_up_user(&app, &email).await;
        let found = crate::flow::user_by_email(&app, &email).await;
        let auth_id = found["authId"].as_str().unwrap().to_owned();
        let (status, body) = crate::harness::call(&app, "PUT", &format!("/api/v1/users/{auth_id}"), &token, Some(serde_json::json!({ "roles": ["support"] }))).await;
        assert_eq!(status, 200, "{body}");
        let (browser, dashboard) = panel_browser(&app, &email, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        let csrf = input_value(&dashboard.html, "csrf_token").unwrap();
        // super_admin is privileged: only root (super_admin holders) may hand it out.
        let before = app.isolation.table_counts().await;
        let grab = browser
            .post(&format!("/admin/users/{auth_id}/roles"), &[("csrf_token".into(), csrf.clone()), ("role".into(), "super_admin".into()), ("role".into(), "support".into())])
            .await;
        assert_eq!(grab.status, 400, "{}", grab.html);
        assert!(!error_text(&grab.html).is_empty(), "{}", grab.html);
        assert_eq!(app.isolation.table_counts().await, before);
        // Taking the role away closes the panel at the next request.
        let (status, body) = crate::harness::call(&app, "PUT", &format!("/api/v1/users/{auth_id}"), &token, Some(serde_json::json!({ "roles": [] }))).await;
        assert_eq!(status, 200, "{body}");
        let closed = browser.get("/admin").await;
        assert_eq!(closed.status, 303, "{}", closed.html);
        let refused = browser.post("/admin/users", &[("csrf_token".into(), csrf), ("email".into(), "x@example.com".into()), ("password".into(), PASSWORD.into())]).await;
        assert_eq!(refused.status, 403, "{}", refused.html);
    }
}
