//! Attacks on the management surfaces, each through the real interface: a caller without `root`
//! reaching a protected role by renaming, creating, deleting or taking roles away, or by acting
//! on a holder (S2S API and admin panel); Simple-OAuth tokens for users who owe a second factor;
//! S2S tokens that outlive a scope's removal, their revocation, or their app.

use gatehouse_server::config::Config;
use serde_json::{json, Value};

use crate::admin::{panel_browser, set_up_admin, sign_up_user, ADMIN_EMAIL};
use crate::api_users::{add_users, auth_id};
use crate::flow::{error_text, input_value, user_by_email, Browser, Page, PASSWORD};
use crate::harness::{backend_tests, basic, call, s2s_app, token_with, Backend, TestApp};

const CHANGE_NEEDS_ROOT: &str =
    "Only an app with the root scope can create, rename, or delete a privileged role";
const GRANT_NEEDS_ROOT: &str = "Only an app with the root scope can assign a privileged role";
const REMOVAL_NEEDS_ROOT: &str =
    "Only an app with the root scope can remove a privileged role from a user";

fn holder_needs_root(verb: &str) -> String {
    format!("Only an app with the root scope can {verb} a user who holds a privileged role")
}

/// One protected role of each kind besides `super_admin`.
fn protected_roles(config: &mut Config) {
    config.privileged_roles = vec!["super_admin".into(), "owner".into()];
    config.impersonation_roles = vec!["super_admin".into(), "impersonator".into()];
    config.admin_panel_roles = vec!["support".into()];
}

/// A server with protected roles, its root token and a caller with every write scope but `root`.
async fn spawn_with_writer(backend: Backend) -> (TestApp, String, String) {
    let app = TestApp::spawn_with(backend, protected_roles).await;
    let root = app.admin_token("root").await;
    let writer = token_with(
        &app,
        &root,
        &["write_role", "read_role", "write_user", "read_user"],
    )
    .await;
    (app, root, writer)
}

/// Creates a role as root; returns its id.
async fn role(app: &TestApp, root: &str, name: &str) -> i64 {
    let (status, body) = call(
        app,
        "POST",
        "/api/v1/roles",
        root,
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["role"]["id"].as_i64().unwrap()
}

async fn set_roles(app: &TestApp, token: &str, user: &str, roles: &[&str]) -> (u16, Value) {
    let path = format!("/api/v1/users/{user}");
    call(app, "PUT", &path, token, Some(json!({ "roles": roles }))).await
}

async fn roles_of(app: &TestApp, root: &str, user: &str) -> Value {
    call(app, "GET", &format!("/api/v1/users/{user}"), root, None)
        .await
        .1["user"]["roles"]
        .clone()
}

/// Each request is refused with 400 and `message`, and nothing changes.
async fn refused_all(
    app: &TestApp,
    token: &str,
    attempts: &[(&str, String, Option<Value>, String)],
) {
    let before = app.isolation.table_counts().await;
    for (method, path, body, message) in attempts {
        let (status, answer) = call(app, method, path, token, body.clone()).await;
        assert_eq!(status, 400, "{method} {path}: {answer}");
        assert_eq!(
            answer["error_description"],
            message.as_str(),
            "{method} {path}"
        );
    }
    assert_eq!(app.isolation.table_counts().await, before);
}

backend_tests! {
    async fn non_root_cannot_rename_a_harmless_role_into_a_privileged_one(backend: Backend) {
        let (app, root, writer) = spawn_with_writer(backend).await;
        add_users(&app, 1).await;
        let owner = role(&app, &root, "owner").await;
        // The harmless part of the attack is allowed: a new role, given to the victim.
        let (status, body) = call(&app, "POST", "/api/v1/roles", &writer, Some(json!({ "name": "helper" }))).await;
        assert_eq!(status, 201, "{body}");
        let helper = body["role"]["id"].as_i64().unwrap();
        assert_eq!(set_roles(&app, &writer, &auth_id(0), &["helper"]).await.0, 200);
        // Renaming the privileged role away, then the harmless one into its name.
        refused_all(&app, &writer, &[
            ("PUT", format!("/api/v1/roles/{owner}"), Some(json!({ "name": "owner-old" })), CHANGE_NEEDS_ROOT.into()),
            ("PUT", format!("/api/v1/roles/{helper}"), Some(json!({ "name": "owner" })), CHANGE_NEEDS_ROOT.into()),
            ("PUT", format!("/api/v1/roles/{helper}"), Some(json!({ "name": "support" })), CHANGE_NEEDS_ROOT.into()),
        ]).await;
        assert_eq!(roles_of(&app, &root, &auth_id(0)).await, json!(["helper"]));
        // A protected role's note and a harmless rename stay open to the writer.
        let (status, body) = call(&app, "PUT", &format!("/api/v1/roles/{owner}"), &writer, Some(json!({ "name": "owner", "note": "n" }))).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = call(&app, "PUT", &format!("/api/v1/roles/{helper}"), &writer, Some(json!({ "name": "assistant" }))).await;
        assert_eq!(status, 200, "{body}");
    }

    async fn non_root_cannot_create_or_delete_a_protected_role(backend: Backend) {
        let (app, root, writer) = spawn_with_writer(backend).await;
        let creations: Vec<_> = ["owner", "impersonator", "support"]
            .iter()
            .map(|name| ("POST", "/api/v1/roles".to_owned(), Some(json!({ "name": name })), CHANGE_NEEDS_ROOT.to_owned()))
            .collect();
        refused_all(&app, &writer, &creations).await;
        let owner = role(&app, &root, "owner").await;
        let support = role(&app, &root, "support").await;
        refused_all(&app, &writer, &[
            ("DELETE", format!("/api/v1/roles/{owner}"), None, CHANGE_NEEDS_ROOT.into()),
            ("DELETE", format!("/api/v1/roles/{support}"), None, CHANGE_NEEDS_ROOT.into()),
        ]).await;
    }

    async fn non_root_cannot_grant_or_take_away_a_protected_role(backend: Backend) {
        let (app, root, writer) = spawn_with_writer(backend).await;
        add_users(&app, 1).await;
        let victim = auth_id(0);
        for name in ["owner", "support", "editor"] {
            role(&app, &root, name).await;
        }
        assert_eq!(set_roles(&app, &root, &victim, &["owner", "editor"]).await.0, 200);
        let path = format!("/api/v1/users/{victim}");
        refused_all(&app, &writer, &[
            ("PUT", path.clone(), Some(json!({ "roles": ["editor"] })), REMOVAL_NEEDS_ROOT.into()),
            ("PUT", path.clone(), Some(json!({ "roles": [] })), REMOVAL_NEEDS_ROOT.into()),
            // An admin panel role is a grant of power too.
            ("PUT", path.clone(), Some(json!({ "roles": ["owner", "editor", "support"] })), GRANT_NEEDS_ROOT.into()),
            ("POST", "/api/v1/users/invitations".into(), Some(json!({ "email": "new@example.com", "roles": ["support"] })), GRANT_NEEDS_ROOT.into()),
        ]).await;
        // Changing only the harmless roles of a holder is allowed.
        let (status, body) = set_roles(&app, &writer, &victim, &["owner"]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(roles_of(&app, &root, &victim).await, json!(["owner"]));
    }

    async fn non_root_cannot_disable_delete_reset_mfa_or_unlink_a_holder(backend: Backend) {
        let (app, root, writer) = spawn_with_writer(backend).await;
        add_users(&app, 3).await;
        let (holder, linked, bystander) = (auth_id(0), auth_id(1), auth_id(2));
        role(&app, &root, "impersonator").await;
        assert_eq!(set_roles(&app, &root, &holder, &["impersonator"]).await.0, 200);
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{holder}/account-linking/{linked}"), &root, None).await;
        assert_eq!(status, 200, "{body}");
        let user = format!("/api/v1/users/{holder}");
        refused_all(&app, &writer, &[
            ("PUT", user.clone(), Some(json!({ "isActive": false })), holder_needs_root("disable or enable")),
            ("DELETE", user.clone(), None, holder_needs_root("delete")),
            ("DELETE", format!("{user}/email-mfa"), None, holder_needs_root("change the MFA of")),
            // Enrolling TOTP again throws the holder's secret away: a reset by another name.
            ("POST", format!("{user}/otp-mfa"), None, holder_needs_root("change the MFA of")),
            ("DELETE", format!("{user}/passkeys/1"), None, holder_needs_root("remove a passkey of")),
            ("DELETE", format!("{user}/account-linking"), None, holder_needs_root("link or unlink")),
            // From the other side of the link, and a new link to a holder.
            ("DELETE", format!("/api/v1/users/{linked}/account-linking"), None, holder_needs_root("link or unlink")),
            ("POST", format!("/api/v1/users/{bystander}/account-linking/{holder}"), None, holder_needs_root("link or unlink")),
        ]).await;
        let (_, body) = call(&app, "GET", &user, &root, None).await;
        assert_eq!((body["user"]["isActive"].clone(), body["user"]["mfaTypes"].clone()), (json!(true), json!(["email"])));
        // Users without a protected role are the writer's to manage.
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{bystander}/email-mfa"), &writer, None).await.0, 204);
        assert_eq!(call(&app, "PUT", &format!("/api/v1/users/{bystander}"), &writer, Some(json!({ "isActive": false }))).await.0, 200);
    }

    async fn root_still_manages_protected_roles_and_their_holders(backend: Backend) {
        let (app, root, _) = spawn_with_writer(backend).await;
        add_users(&app, 2).await;
        let (holder, other) = (auth_id(0), auth_id(1));
        let owner = role(&app, &root, "owner").await;
        let helper = role(&app, &root, "helper").await;
        let user = format!("/api/v1/users/{holder}");
        for (method, path, body) in [
            ("PUT", format!("/api/v1/roles/{owner}"), Some(json!({ "name": "owner-old" }))),
            ("PUT", format!("/api/v1/roles/{helper}"), Some(json!({ "name": "owner" }))),
            ("PUT", user.clone(), Some(json!({ "roles": ["owner"] }))),
            ("PUT", user.clone(), Some(json!({ "isActive": false }))),
            ("POST", format!("{user}/otp-mfa"), None),
            ("DELETE", format!("{user}/email-mfa"), None),
            ("POST", format!("{user}/account-linking/{other}"), None),
            ("DELETE", format!("{user}/account-linking"), None),
            ("PUT", user.clone(), Some(json!({ "roles": [] }))),
            ("PUT", user.clone(), Some(json!({ "roles": ["owner"] }))),
            ("DELETE", user.clone(), None),
            ("DELETE", format!("/api/v1/roles/{helper}"), None),
            ("POST", "/api/v1/roles".into(), Some(json!({ "name": "impersonator" }))),
        ] {
            let (status, answer) = call(&app, method, &path, &root, body).await;
            assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        }
    }
}

/// Posts a panel form with the session's CSRF token.
async fn panel_post(browser: &Browser, csrf: &str, path: &str, fields: &[(&str, &str)]) -> Page {
    let mut form = vec![("csrf_token".to_owned(), csrf.to_owned())];
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    browser.post(path, &form).await
}

/// A browser signed in to the panel as `email`, with the session's CSRF token.
async fn panel_session(app: &TestApp, email: &str) -> (Browser, String) {
    let (browser, dashboard) = panel_browser(app, email, PASSWORD).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.html);
    let csrf = input_value(&dashboard.html, "csrf_token").unwrap();
    (browser, csrf)
}

backend_tests! {
    async fn panel_roles_other_than_super_admin_meet_the_same_rules(backend: Backend) {
        let app = TestApp::spawn_with(backend, protected_roles).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let root = app.admin_token("root").await;
        let owner = role(&app, &root, "owner").await;
        role(&app, &root, "support").await;
        let helper = role(&app, &root, "helper").await;
        let email = format!("helpdesk.{backend:?}@example.com").to_lowercase();
        sign_up_user(&app, &email).await;
        let support_user = user_by_email(&app, &email).await["authId"].as_str().unwrap().to_owned();
        assert_eq!(set_roles(&app, &root, &support_user, &["support"]).await.0, 200);
        let admin = user_by_email(&app, ADMIN_EMAIL).await["authId"].as_str().unwrap().to_owned();
        let (browser, csrf) = panel_session(&app, &email).await;

        let before = app.isolation.table_counts().await;
        let user = format!("/admin/users/{admin}");
        for (path, fields, message) in [
            ("/admin/roles".to_owned(), vec![("name", "impersonator"), ("note", "")], CHANGE_NEEDS_ROOT.to_owned()),
            (format!("/admin/roles/{owner}"), vec![("name", "owner-old"), ("note", "")], CHANGE_NEEDS_ROOT.into()),
            (format!("/admin/roles/{helper}"), vec![("name", "impersonator"), ("note", "")], CHANGE_NEEDS_ROOT.into()),
            (format!("/admin/roles/{owner}/delete"), vec![], CHANGE_NEEDS_ROOT.into()),
            (format!("{user}/roles"), vec![], REMOVAL_NEEDS_ROOT.into()),
            (format!("{user}/active"), vec![("active", "false")], holder_needs_root("disable or enable")),
            (format!("{user}/mfa/email/reset"), vec![], holder_needs_root("change the MFA of")),
            (format!("{user}/unlink"), vec![], holder_needs_root("link or unlink")),
            (format!("{user}/delete"), vec![], holder_needs_root("delete")),
            // A fellow panel admin is a holder too.
            (format!("/admin/users/{support_user}/delete"), vec![], holder_needs_root("delete")),
        ] {
            let page = panel_post(&browser, &csrf, &path, &fields).await;
            assert_eq!(page.status, 400, "{path}: {}", page.html);
            assert_eq!(error_text(&page.html), message, "{path}");
        }
        assert_eq!(app.isolation.table_counts().await, before);
        assert_eq!(roles_of(&app, &root, &admin).await, json!(["super_admin"]));

        // super_admin acts as root in the panel.
        let (browser, csrf) = panel_session(&app, ADMIN_EMAIL).await;
        let renamed = panel_post(&browser, &csrf, &format!("/admin/roles/{helper}"), &[("name", "impersonator"), ("note", "")]).await;
        assert_eq!(renamed.status, 303, "{}", renamed.html);
        let disabled = panel_post(&browser, &csrf, &format!("/admin/users/{support_user}/active"), &[("active", "false")]).await;
        assert_eq!(disabled.status, 303, "{}", disabled.html);
    }
}

backend_tests! {
    async fn a_panel_admin_without_an_impersonation_role_is_refused_with_401_as_by_the_api(backend: Backend) {
        let app = TestApp::spawn_with(backend, protected_roles).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let root = app.admin_token("root").await;
        role(&app, &root, "support").await;
        let email = format!("helpdesk.{backend:?}@example.com").to_lowercase();
        sign_up_user(&app, &email).await;
        let support_user = user_by_email(&app, &email).await["authId"].as_str().unwrap().to_owned();
        assert_eq!(set_roles(&app, &root, &support_user, &["support"]).await.0, 200);
        let admin = user_by_email(&app, ADMIN_EMAIL).await["authId"].as_str().unwrap().to_owned();
        let (spa_id, _, _) = crate::flow::create_app(&app, "Target", "spa", &["https://app.example.com/cb"]).await;
        let (browser, csrf) = panel_session(&app, &email).await;
        let before = app.isolation.table_counts().await;
        let spa_id = spa_id.to_string();
        let page = panel_post(&browser, &csrf, &format!("/admin/users/{admin}/impersonate"), &[("app_id", &spa_id)]).await;
        // The S2S API answers this refusal 401; the panel gave 400.
        assert_eq!(page.status, 401, "{}", page.html);
        assert_eq!(error_text(&page.html), "Only super admin can impersonate other users");
        assert_eq!(app.isolation.table_counts().await, before);
    }
}

/// A user signed up through the pages; returns the numeric id `/token/get` takes and the authId.
async fn simple_oauth_user(app: &TestApp) -> (i64, String) {
    let email = format!(
        "simple.{}@example.com",
        app.isolation.redis_prefix.trim_end_matches(':')
    )
    .to_lowercase();
    sign_up_user(app, &email).await;
    let user = user_by_email(app, &email).await;
    (
        user["id"].as_i64().unwrap(),
        user["authId"].as_str().unwrap().to_owned(),
    )
}

async fn token_get(app: &TestApp, id: i64, password: &str) -> Value {
    let id = id.to_string();
    app.post_form_json("/token/get", &[("id", &id), ("password", password)])
        .await
}

fn pfalse() -> Value {
    json!({ "status": 301, "errmsg": "PFALSE" })
}

fn simple_oauth_on(config: &mut Config) {
    config.simple_oauth_enabled = true;
}

backend_tests! {
    async fn simple_oauth_gives_no_password_only_token_to_a_user_with_a_second_factor(backend: Backend) {
        let app = TestApp::spawn_with(backend, simple_oauth_on).await;
        let root = app.admin_token("root").await;
        let (id, user) = simple_oauth_user(&app).await;
        assert_eq!(token_get(&app, id, PASSWORD).await["status"], 200);
        for factor in ["otp-mfa", "email-mfa"] {
            assert_eq!(call(&app, "POST", &format!("/api/v1/users/{user}/{factor}"), &root, None).await.0, 204);
            // The right password is answered exactly as a wrong one.
            assert_eq!(token_get(&app, id, PASSWORD).await, pfalse(), "{factor}");
            assert_eq!(token_get(&app, id, "Wrong-passw0rd").await, pfalse());
            assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{user}/{factor}"), &root, None).await.0, 204);
            assert_eq!(token_get(&app, id, PASSWORD).await["status"], 200, "{factor} removed");
        }
    }

    async fn simple_oauth_answers_users_owing_a_second_factor_only_when_the_operator_allows_it(backend: Backend) {
        let app = TestApp::spawn_with(backend, simple_oauth_on).await;
        let (id, user) = simple_oauth_user(&app).await;
        let isolation = app.stop().await;
        let app = TestApp::spawn_on(isolation, |c| {
            simple_oauth_on(c);
            c.otp_mfa_is_required = true;
        }).await;
        assert_eq!(token_get(&app, id, PASSWORD).await, pfalse(), "required by the server");
        let isolation = app.stop().await;
        let app = TestApp::spawn_on(isolation, |c| {
            simple_oauth_on(c);
            c.otp_mfa_is_required = true;
            c.simple_oauth_allow_without_mfa = true;
        }).await;
        let root = app.admin_token("root").await;
        assert_eq!(call(&app, "POST", &format!("/api/v1/users/{user}/otp-mfa"), &root, None).await.0, 204);
        assert_eq!(token_get(&app, id, PASSWORD).await["status"], 200);
        assert_eq!(token_get(&app, id, "Wrong-passw0rd").await, pfalse());
    }
}

/// A bearer call's status and `error_description`.
async fn answer(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let (status, body) = call(app, "GET", path, token, None).await;
    (status, body["error_description"].clone())
}

async fn revoke(app: &TestApp, client_id: &str, secret: &str, token: &str) -> u16 {
    app.client
        .post(app.url("/oauth2/v1/revoke"))
        .header("Authorization", basic(client_id, secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

backend_tests! {
    async fn an_s2s_token_loses_the_scopes_taken_from_its_app(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let caller = s2s_app(&app, &root, &["root", "read_user"]).await;
        assert_eq!(answer(&app, "/api/v1/roles", &caller.token).await.0, 200);
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{}", caller.id), &root, Some(json!({ "scopes": ["read_user"] }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            answer(&app, "/api/v1/roles", &caller.token).await,
            (401, json!("Insufficient scope: this operation requires read_role"))
        );
        assert_eq!(answer(&app, "/api/v1/users", &caller.token).await.0, 200, "a scope the app still holds");
    }

    async fn a_revoked_s2s_token_is_refused_everywhere(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let caller = s2s_app(&app, &root, &["read_user"]).await;
        let other = s2s_app(&app, &root, &["read_user"]).await;
        // A second instance of the same deployment (issuer, database and cache; only Redis is
        // shared, the in-process cache is one instance's own).
        let issuer = app.base.clone();
        let second = match backend {
            Backend::PostgresRedis => Some(TestApp::spawn_on(app.isolation.clone(), |c| c.issuer = issuer).await),
            Backend::Sqlite => None,
        };
        if let Some(second) = &second {
            assert_eq!(answer(second, "/api/v1/users", &caller.token).await.0, 200);
        }
        // Another app cannot revoke it.
        assert_eq!(revoke(&app, &other.client_id, &other.secret, &caller.token).await, 400);
        assert_eq!(answer(&app, "/api/v1/users", &caller.token).await.0, 200);
        assert_eq!(revoke(&app, &caller.client_id, &caller.secret, &caller.token).await, 200);
        let refused = (401, json!("Invalid access token: the token was revoked"));
        assert_eq!(answer(&app, "/api/v1/users", &caller.token).await, refused);
        // The second instance reads the shared deny-list again within `revocation_check_ttl`.
        if let Some(second) = &second {
            let bound = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while answer(second, "/api/v1/users", &caller.token).await != refused {
                assert!(std::time::Instant::now() < bound, "the second instance still takes it");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        // The app's next token works.
        let fresh = app.client_credentials(&caller.client_id, &caller.secret, "read_user").await;
        let fresh = fresh.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(answer(&app, "/api/v1/users", &fresh).await.0, 200);
    }

    async fn tokens_of_a_disabled_or_deleted_s2s_app_are_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let disabled = s2s_app(&app, &root, &["read_user"]).await;
        let deleted = s2s_app(&app, &root, &["read_user"]).await;
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{}", disabled.id), &root, Some(json!({ "isActive": false }))).await;
        assert_eq!(status, 200);
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/apps/{}", deleted.id), &root, None).await.0, 204);
        let refused = (401, json!("Invalid access token: the token does not belong to an active S2S app"));
        assert_eq!(answer(&app, "/api/v1/users", &disabled.token).await, refused);
        assert_eq!(answer(&app, "/api/v1/users", &deleted.token).await, refused);
    }
}
