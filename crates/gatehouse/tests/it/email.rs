//! Email and the account lifecycle, through a real SMTP server: verification after sign-up,
//! password reset with its limits (also across two instances sharing Redis), change email,
//! invitations, the email log, and each provider's HTTP API against a local server that checks
//! the documented request.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, Backend, TestApp};
use crate::mailbox::{Mailbox, SENDER};
use gatehouse_server::config::Secret;

const CB: &str = "http://127.0.0.1:5173/cb";

/// Invites `email` through the management API, as root.
async fn invite(app: &TestApp, email: &str) -> (u16, Value) {
    let token = app.admin_token("root").await;
    let body = json!({ "email": email });
    call(app, "POST", "/api/v1/users/invitations", &token, Some(body)).await
}

async fn email_log(app: &TestApp) -> Vec<Value> {
    let token = app.admin_token("root").await;
    for _ in 0..50 {
        let (status, body) = call(app, "GET", "/api/v1/logs/email", &token, None).await;
        assert_eq!(status, 200, "{body}");
        let logs = body["logs"].as_array().unwrap().clone();
        if !logs.is_empty() {
            return logs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Vec::new()
}

backend_tests! {
    async fn sign_up_asks_for_the_emailed_code_then_goes_on(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_log = true;
            c.email_sender_name = "Acme ID".into();
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        let tx = input_value(&page.html, "tx").unwrap();
        let form = browser.get(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        let email = format!("verify.{backend:?}@example.com").to_lowercase();
        let fields = form_fields(&form.html, &[("email", &email), ("password", PASSWORD), ("first_name", "Ada")]);
        let after = browser.post("/identity/v1/view/sign-up", &fields).await;
        let verify = browser.follow(after, CB).await;
        assert_eq!(verify.status, 200, "{}", verify.html);
        assert!(verify.html.contains("Verify your email"), "{}", verify.html);

        let mail = mailbox.first_to(&email).await;
        assert_eq!(mail.subject, "Verify your email address");
        assert!(mail.from.contains("Acme ID") && mail.from.contains(SENDER), "{}", mail.from);
        assert!(mail.authenticated, "the SMTP session authenticated");
        assert!(mail.html.contains(&mail.code()));
        let code = mail.code();

        // A wrong code is refused and the page stays.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let refused = browser.post("/identity/v1/view/verify-email", &hidden_fields(&verify.html, "step-form", &[("code", wrong)])).await;
        assert_eq!(refused.status, 400);
        assert_eq!(error_text(&refused.html), "Invalid code provided");
        assert_eq!(user_by_email(&app, &email).await["emailVerified"], false);

        // A new code replaces the first one.
        let resent = browser.post("/identity/v1/view/verify-email", &hidden_fields(&verify.html, "resend-form", &[])).await;
        assert_eq!(resent.status, 200, "{}", resent.html);
        let second = mailbox.nth_to(&email, 2).await.code();
        let old = browser.post("/identity/v1/view/verify-email", &hidden_fields(&verify.html, "step-form", &[("code", &code)])).await;
        if code != second {
            assert_eq!(old.status, 400, "the replaced code no longer works");
        }
        let done = browser.post("/identity/v1/view/verify-email", &hidden_fields(&verify.html, "step-form", &[("code", &second)])).await;
        let redirect = finish_consent(&browser, done, CB).await;
        assert!(query_param(&redirect, "code").is_some(), "{redirect}");
        assert_eq!(user_by_email(&app, &email).await["emailVerified"], true);

        // The email log holds both sends, codes redacted.
        let logs = email_log(&app).await;
        assert!(logs.len() >= 2, "{logs:?}");
        for log in &logs {
            assert_eq!(log["receiver"], email.as_str());
            assert_eq!(log["success"], true, "{log}");
            let content = log["content"].as_str().unwrap();
            assert!(content.contains("[redacted]") && !content.contains(&code) && !content.contains(&second), "{content}");
        }

        // The admin's re-send: refused for a verified user.
        let token = app.admin_token("root").await;
        let auth_id = user_by_email(&app, &email).await["authId"].as_str().unwrap().to_owned();
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{auth_id}/verify-email"), &token, None).await;
        assert_eq!((status, body["error_description"].as_str()), (400, Some("Email already verified")), "{body}");
    }

    async fn the_emailed_link_verifies_and_the_admin_can_resend_it(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| mailbox.configure(c)).await;
        let token = app.admin_token("root").await;
        let email = format!("invited.verify.{backend:?}@example.com").to_lowercase();
        // An invited user is unverified until they accept; the admin may re-send a code.
        let (status, body) = call(&app, "POST", "/api/v1/users/invitations", &token,
            Some(json!({ "email": email, "locale": "fr" }))).await;
        assert_eq!(status, 200, "{body}");
        let auth_id = body["user"]["authId"].as_str().unwrap().to_owned();
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{auth_id}/verify-email"), &token, None).await;
        assert_eq!((status, &body), (200, &json!({ "success": true })));
        let mail = mailbox.with_subject(&email, "Vérifiez votre adresse e-mail").await;
        assert_eq!(mail.subject, "Vérifiez votre adresse e-mail", "sent in the user's locale");
        let link = mail.link(&app.url("/identity/v1/view/verify-email"));
        let browser = Browser::new(&app);
        let page = browser.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let done = browser.post("/identity/v1/view/verify-email", &hidden_fields(&page.html, "step-form", &[("code", &mail.code())])).await;
        assert_eq!(done.status, 200, "{}", done.html);
        assert_eq!(user_by_email(&app, &email).await["emailVerified"], true);
        // Without the page's CSRF cookie the same post is refused.
        let forged = reqwest::Client::new().post(app.url("/identity/v1/view/verify-email"))
            .form(&[("id", auth_id.as_str()), ("code", "123456"), ("csrf_token", "x")]).send().await.unwrap();
        assert_eq!(forged.status(), 403);
        // Unknown users get nothing.
        let (status, body) = call(&app, "POST", "/api/v1/users/no-such-user/verify-email", &token, None).await;
        assert_eq!(status, 404, "{body}");
        // `write_user` is required: a `read_user` token is refused and nothing is sent or stored.
        let (status, body) = call(&app, "POST", "/api/v1/apps", &token, Some(json!({
            "name": "reader", "type": "s2s", "scopes": ["read_user"], "redirectUris": []
        }))).await;
        assert_eq!(status, 201, "{body}");
        let reader = app.client_credentials(body["app"]["clientId"].as_str().unwrap(), body["app"]["secret"].as_str().unwrap(), "read_user").await;
        let reader = reader.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        let sent = mailbox.count_to(&email);
        let before = app.isolation.table_counts().await;
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{auth_id}/verify-email"), &reader, None).await;
        assert_eq!(status, 401, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(mailbox.count_to(&email), sent);
        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn password_reset_by_emailed_code_and_its_lockout(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = false;
            c.enable_email_log = true;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let email = format!("reset.{backend:?}@example.com").to_lowercase();
        let back = sign_up(&browser, &authorize_url(&client_id, CB, &[]), &email, CB).await;
        assert_eq!(mailbox.count_to(&email), 0, "verification is off: no mail at sign-up");
        let code = query_param(&back, "code").unwrap();
        let (status, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("client_id", &client_id),
            ("redirect_uri", CB), ("code_verifier", VERIFIER)]).await;
        assert_eq!(status, 200, "{tokens}");
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

        // Lock the account with wrong passwords first: the reset unlocks it.
        let other = Browser::new(&app);
        for _ in 0..5 {
            sign_in(&other, &authorize_url(&client_id, CB, &[]), &email, "Wrong-passw0rd!", CB).await;
        }
        let locked = sign_in(&other, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        assert!(locked.html.contains("Account temporarily locked"), "{}", locked.html);

        let reset = Browser::new(&app);
        let page = reset.follow(reset.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        assert!(page.html.contains("forgot-password-link"), "{}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let form = reset.get(&format!("/identity/v1/view/reset-password?tx={tx}")).await;
        assert_eq!(form.status, 200, "{}", form.html);
        let sent = reset.post("/identity/v1/view/reset-password", &hidden_fields(&form.html, "step-form", &[("email", &email)])).await;
        assert_eq!(sent.status, 200, "{}", sent.html);
        let code = mailbox.first_to(&email).await.code();

        // Weak passwords and wrong codes are refused and change nothing.
        let weak = reset.post("/identity/v1/view/reset-password", &hidden_fields(&sent.html, "step-form", &[("code", &code), ("password", "short")])).await;
        assert_eq!(weak.status, 400, "{}", weak.html);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let bad = reset.post("/identity/v1/view/reset-password", &hidden_fields(&sent.html, "step-form", &[("code", wrong), ("password", "N3w-passw0rd!")])).await;
        assert_eq!(error_text(&bad.html), "Invalid code provided");
        let same = reset.post("/identity/v1/view/reset-password", &hidden_fields(&sent.html, "step-form", &[("code", &code), ("password", PASSWORD)])).await;
        assert_eq!(error_text(&same.html), "The new password is the same as the old password");

        let done = reset.post("/identity/v1/view/reset-password", &hidden_fields(&sent.html, "step-form", &[("code", &code), ("password", "N3w-passw0rd!")])).await;
        assert_eq!(done.status, 200, "{}", done.html);
        assert!(done.html.contains("Your password was changed"), "{}", done.html);
        // The code is spent; the old password no longer works; the new one does, unlocked.
        let again = reset.post("/identity/v1/view/reset-password", &hidden_fields(&sent.html, "step-form", &[("code", &code), ("password", "An0ther-passw0rd!")])).await;
        assert_eq!(error_text(&again.html), "Invalid code provided");
        let old = sign_in(&Browser::new(&app), &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        assert!(old.html.contains("No user found"), "{}", old.html);
        // Signed out everywhere: the sign-up browser's session and the refresh token are gone.
        let silent = browser.follow(browser.get(&authorize_url(&client_id, CB, &[("prompt", "none")])).await, CB).await;
        assert!(silent.location.as_deref().unwrap_or_default().contains("error=login_required"), "{:?}", silent.location);
        let (status, refused) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")), "{refused}");
        let fresh = Browser::new(&app);
        let new = sign_in(&fresh, &authorize_url(&client_id, CB, &[]), &email, "N3w-passw0rd!", CB).await;
        let back = finish_consent(&fresh, new, CB).await;
        assert!(back.contains("code="), "{back}");

        // An unknown email gets the same answer and no mail; the log shows the code redacted.
        let unknown = format!("nobody.{backend:?}@example.com").to_lowercase();
        let form = reset.get(&format!("/identity/v1/view/reset-password?tx={tx}")).await;
        let answer = reset.post("/identity/v1/view/reset-password", &hidden_fields(&form.html, "step-form", &[("email", &unknown)])).await;
        assert_eq!(answer.status, sent.status);
        assert_eq!(answer.html.replace(&unknown, &email), sent.html, "same page for a known and an unknown email");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(mailbox.count_to(&unknown), 0);
        let logs = email_log(&app).await;
        let log = logs.iter().find(|l| l["receiver"] == email.as_str()).unwrap();
        assert!(!log["content"].as_str().unwrap().contains(&code));
    }

    async fn change_email_policy_sends_a_code_to_the_new_address(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| mailbox.configure(c)).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let token = app.admin_token("root").await;
        // An invited-and-accepted user (verified) changes their address.
        let email = format!("change.{backend:?}@example.com").to_lowercase();
        let (status, body) = call(&app, "POST", "/api/v1/users/invitations", &token, Some(json!({ "email": email }))).await;
        assert_eq!(status, 200, "{body}");
        let invite = mailbox.with_subject(&email, "You are invited").await;
        let browser = Browser::new(&app);
        let page = browser.get(&invite.link(&app.url("/identity/v1/view/accept-invitation"))).await;
        let accepted = browser.post("/identity/v1/view/accept-invitation", &hidden_fields(&page.html, "step-form", &[("password", PASSWORD)])).await;
        assert_eq!(accepted.status, 200, "{}", accepted.html);

        let url = authorize_url(&client_id, CB, &[("policy", "change_email")]);
        let signed = sign_in(&browser, &url, &email, PASSWORD, CB).await;
        let page = browser.follow(signed, CB).await;
        let page = past_consent(&browser, page, CB).await;
        assert!(page.html.contains("Change your email"), "{}", page.html);
        let new_email = format!("changed.{backend:?}@example.com").to_lowercase();
        // The current address, and one another account uses, are refused.
        let same = browser.post("/identity/v1/view/change-email", &hidden_fields(&page.html, "step-form", &[("email", &email)])).await;
        assert_eq!(error_text(&same.html), "The new email address is the same as the current one");
        let sent = browser.post("/identity/v1/view/change-email", &hidden_fields(&page.html, "step-form", &[("email", &new_email)])).await;
        assert_eq!(sent.status, 200, "{}", sent.html);
        let mail = mailbox.first_to(&new_email).await;
        assert_eq!(mail.subject, "Confirm your new email address");
        let wrong = if mail.code() == "000000" { "111111" } else { "000000" };
        let bad = browser.post("/identity/v1/view/change-email", &hidden_fields(&sent.html, "step-form", &[("code", wrong)])).await;
        assert_eq!(error_text(&bad.html), "Invalid code provided");
        let done = browser.post("/identity/v1/view/change-email", &hidden_fields(&sent.html, "step-form", &[("code", &mail.code())])).await;
        let loc = done.location.clone().unwrap_or_else(|| panic!("{}", done.html));
        assert!(loc.starts_with(CB), "{loc}");
        let user = user_by_email(&app, &new_email).await;
        assert_eq!((user["email"].as_str(), user["emailVerified"].as_bool()), (Some(new_email.as_str()), Some(true)));
    }

    async fn invitation_accepted_even_with_verification_off(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = false;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let token = app.admin_token("root").await;
        let email = format!("invitee.{backend:?}@example.com").to_lowercase();
        let (status, body) = call(&app, "POST", "/api/v1/users/invitations", &token,
            Some(json!({ "email": email, "locale": "zh-CN", "signinUrl": "https://app.example.com/login" }))).await;
        assert_eq!(status, 200, "{body}");
        let auth_id = body["user"]["authId"].as_str().unwrap().to_owned();
        let first = mailbox.first_to(&email).await;
        assert_eq!(first.subject, "您收到了邀请");
        // A re-sent invitation replaces the first link.
        let (status, _) = call(&app, "POST", &format!("/api/v1/users/invitations/{auth_id}"), &token, Some(json!({ "locale": "en", "signinUrl": "https://app.example.com/login" }))).await;
        assert_eq!(status, 200);
        let second = mailbox.nth_to(&email, 2).await;
        assert_eq!(second.subject, "You are invited");
        let browser = Browser::new(&app);
        let stale = browser.get(&first.link(&app.url("/identity/v1/view/accept-invitation"))).await;
        assert_eq!(stale.status, 404, "{}", stale.html);
        let link = second.link(&app.url("/identity/v1/view/accept-invitation"));
        let page = browser.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let weak = browser.post("/identity/v1/view/accept-invitation", &hidden_fields(&page.html, "step-form", &[("password", "weak")])).await;
        assert_eq!(weak.status, 400);
        let done = browser.post("/identity/v1/view/accept-invitation", &hidden_fields(&page.html, "step-form", &[("password", PASSWORD)])).await;
        assert_eq!(done.status, 200, "{}", done.html);
        assert!(unescape(&done.html).contains("href=\"https://app.example.com/login\""), "links on to the app: {}", done.html);
        let user = user_by_email(&app, &email).await;
        assert_eq!((user["isActive"].as_bool(), user["emailVerified"].as_bool()), (Some(true), Some(true)));
        // The link is spent; the new account signs in.
        let used = browser.get(&link).await;
        assert_eq!(used.status, 404);
        let fresh = Browser::new(&app);
        let signed = sign_in(&fresh, &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        let back = finish_consent(&fresh, signed, CB).await;
        assert!(back.contains("code="), "{back}");
        // Melody's link shape lands on the same page.
        let (status, _) = call(&app, "POST", "/api/v1/users/invitations", &token, Some(json!({ "email": "second-invitee@example.com" }))).await;
        assert_eq!(status, 200);
        let token_param = query_param(&mailbox.first_to("second-invitee@example.com").await.link(&app.url("/identity/v1/view/accept-invitation")), "token").unwrap();
        let melody = browser.get(&format!("/identity/v1/view/verify-email?invitationToken={token_param}&locale=en")).await;
        assert!(melody.html.contains("Accept your invitation"), "{}", melody.html);
    }

    async fn passwordless_code_signs_in_and_creates_the_account_only_once_proven(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_passwordless_sign_in = true;
            c.mfa_code_verify_threshold = 3;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        assert!(!page.html.contains("name=\"password\""), "no password input: {}", page.html);
        assert!(!page.html.contains("sign-up-link") && !page.html.contains("forgot-password-link"));
        let email = format!("passwordless.{backend:?}@example.com").to_lowercase();
        let sent = browser.post("/identity/v1/view/authorize", &form_fields(&page.html, &[("email", &email)])).await;
        let code_page = browser.follow(sent, CB).await;
        assert_eq!(code_page.status, 200, "{}", code_page.html);
        let mail = mailbox.first_to(&email).await;
        assert_eq!(mail.subject, "Your sign-in code");
        // Nothing exists until the code is proven.
        let token = app.admin_token("root").await;
        let (_, users) = call(&app, "GET", &format!("/api/v1/users?search={email}"), &token, None).await;
        assert_eq!(users["count"], 0, "{users}");
        let wrong = if mail.code() == "000000" { "111111" } else { "000000" };
        let bad = browser.post("/identity/v1/view/passwordless", &hidden_fields(&code_page.html, "step-form", &[("code", wrong)])).await;
        assert_eq!(error_text(&bad.html), "Invalid code provided");
        let done = browser.post("/identity/v1/view/passwordless", &hidden_fields(&code_page.html, "step-form", &[("code", &mail.code())])).await;
        let redirect = finish_consent(&browser, done, CB).await;
        let code = query_param(&redirect, "code").unwrap();
        let (status, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", CB)]).await;
        assert_eq!(status, 200, "{tokens}");
        let user = user_by_email(&app, &email).await;
        assert_eq!(user["emailVerified"], true);

        // Wrong codes lock the email out, even with the right code, until the window passes.
        let again = Browser::new(&app);
        let page = again.follow(again.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        let code_page = again.follow(again.post("/identity/v1/view/authorize", &form_fields(&page.html, &[("email", &email)])).await, CB).await;
        let right = mailbox.nth_to(&email, 2).await.code();
        let wrong = if right == "000000" { "111111" } else { "000000" };
        let path = "/identity/v1/view/passwordless";
        for _ in 0..3 {
            assert_eq!(submit_step_code(&again, &code_page, path, wrong).await, "Invalid code provided");
        }
        let locked = submit_step_code(&again, &code_page, path, &right).await;
        assert_eq!(locked, "Too many failed passwordless verification attempts. Please try again after 30 minutes.");
    }

    async fn magic_link_signs_in_only_the_browser_that_asked(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_passwordless_sign_in = true;
            c.use_passwordless_as_magic_link = true;
            c.enable_email_log = true;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        let email = format!("magic.{backend:?}@example.com").to_lowercase();
        let waiting = browser.follow(browser.post("/identity/v1/view/authorize", &form_fields(&page.html, &[("email", &email)])).await, CB).await;
        assert!(waiting.html.contains("sign-in link"), "{}", waiting.html);
        let mail = mailbox.first_to(&email).await;
        assert_eq!(mail.subject, "Your sign-in link");
        let link = mail.link(&app.url("/identity/v1/view/magic-link"));
        // Another browser (a link scanner, a forwarded mail) gets nothing and spends nothing.
        let stranger = Browser::new(&app).get(&link).await;
        assert_eq!(stranger.status, 404, "{}", stranger.html);
        let done = browser.get(&link).await;
        let redirect = finish_consent(&browser, done, CB).await;
        assert!(query_param(&redirect, "code").is_some(), "{redirect}");
        // Used once only.
        let reused = browser.get(&link).await;
        assert_ne!(reused.location.as_deref().map(|l| l.starts_with(CB)), Some(true));
        let logs = email_log(&app).await;
        assert!(!logs[0]["content"].as_str().unwrap().contains("otp="), "the link is redacted");
    }

    async fn welcome_email_instead_of_a_code_and_org_branding(backend: Backend) {
        let mailbox = Mailbox::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.replace_email_verification_with_welcome_email = true;
            c.enable_org = true;
            c.company_email_logo_url = "https://cdn.example.com/server-logo.png".into();
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let token = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/orgs", &token, Some(json!({ "name": "Acme", "slug": "acme" }))).await;
        assert_eq!(status, 201, "{body}");
        let org_id = body["org"]["id"].as_i64().unwrap();
        let (status, body) = call(&app, "PUT", &format!("/api/v1/orgs/{org_id}"), &token, Some(json!({
            "emailSenderName": "Acme Team", "companyEmailLogoUrl": "https://cdn.example.com/acme.png"
        }))).await;
        assert_eq!(status, 200, "{body}");

        // Sign-up goes straight on (no code page) and a welcome email follows, in the org's name.
        let email = format!("welcome.{backend:?}@example.com").to_lowercase();
        let redirect = sign_up(&Browser::new(&app), &authorize_url(&client_id, CB, &[("org", "acme")]), &email, CB).await;
        assert!(query_param(&redirect, "code").is_some());
        let mail = mailbox.first_to(&email).await;
        assert_eq!(mail.subject, "Welcome");
        assert!(mail.from.starts_with("Acme Team") || mail.from.starts_with("\"Acme Team\""), "{}", mail.from);
        assert!(mail.html.contains("https://cdn.example.com/acme.png"), "{}", mail.html);

        // Without an organization: the server's name and logo.
        let (status, _) = call(&app, "POST", "/api/v1/users/invitations", &token, Some(json!({ "email": "plain@example.com" }))).await;
        assert_eq!(status, 200);
        let plain = mailbox.first_to("plain@example.com").await;
        assert!(plain.from.contains("Gatehouse"), "{}", plain.from);
        assert!(plain.html.contains("server-logo.png"));
        // An invitation into the organization carries its branding.
        let (status, _) = call(&app, "POST", "/api/v1/users/invitations", &token, Some(json!({ "email": "member@example.com", "orgSlug": "acme" }))).await;
        assert_eq!(status, 200);
        let member = mailbox.first_to("member@example.com").await;
        assert!(member.from.contains("Acme Team"), "{}", member.from);
    }
}

/// The sixth wrong reset code is refused even with the right code, and the count is shared by
/// two instances on one PostgreSQL and one Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_code_lockout_holds_across_two_instances_sharing_redis() {
    let mailbox = Mailbox::start().await;
    let origin = "https://embedded.example";
    let first = TestApp::spawn_with(Backend::PostgresRedis, |c| {
        mailbox.configure(c);
        c.embedded_auth_origins = vec![origin.into()];
        c.enable_email_verification = false;
    })
    .await;
    let isolation = first.isolation.clone();
    let second = TestApp::spawn_on(isolation, |c| {
        mailbox.configure(c);
        c.embedded_auth_origins = vec![origin.into()];
        c.enable_email_verification = false;
    })
    .await;
    let (_, client_id, _) = create_app(&first, "Shop", "spa", &[CB]).await;
    let email = "lockout@example.com";
    sign_up(
        &Browser::new(&first),
        &authorize_url(&client_id, CB, &[]),
        email,
        CB,
    )
    .await;
    let post = |app: &TestApp, path: &str, body: Value| {
        let request = app.client.post(app.url(path)).json(&body);
        async move {
            let r = request.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = post(
        &first,
        "/embedded-auth/v1/reset-password-code",
        json!({ "email": email }),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({ "success": true })));
    let mail = mailbox.first_to(email).await;
    assert_eq!(mail.subject, "Reset your password");
    let code = mail.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 0..5 {
        let app = if i % 2 == 0 { &first } else { &second };
        let (status, body) = post(
            app,
            "/embedded-auth/v1/reset-password",
            json!({ "email": email, "code": wrong, "password": "N3w-passw0rd!" }),
        )
        .await;
        assert_eq!(
            (status, body["error_description"].as_str()),
            (400, Some("Invalid code provided")),
            "attempt {i}"
        );
    }
    for app in [&first, &second] {
        let (status, body) = post(
            app,
            "/embedded-auth/v1/reset-password",
            json!({ "email": email, "code": code, "password": "N3w-passw0rd!" }),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["error_description"],
            "Too many failed password reset attempts. Please try again after 30 minutes."
        );
    }
    // Once the window has passed (the counter expires), the right code works.
    let counters = first.cache.keys_with_prefix("FPRCA-").await.unwrap();
    for key in counters {
        first.cache.delete(&key).await.unwrap();
    }
    let (status, body) = post(
        &second,
        "/embedded-auth/v1/reset-password",
        json!({ "email": email, "code": code, "password": "N3w-passw0rd!" }),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({ "success": true })));

    // The daily request limit is shared too: five requests, then a refusal on either instance.
    for i in 0..4 {
        let app = if i % 2 == 0 { &first } else { &second };
        let (status, _) = post(
            app,
            "/embedded-auth/v1/reset-password-code",
            json!({ "email": email }),
        )
        .await;
        assert_eq!(status, 200, "request {i}");
    }
    let (status, body) = post(
        &second,
        "/embedded-auth/v1/reset-password-code",
        json!({ "email": email }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error_description"],
        "Too many password reset email requests. Please try again tomorrow."
    );
}

backend_tests! {
/// Reset requests for known and unknown emails answer the same, in about the same time: the
/// account lookup happens after the answer.
async fn reset_requests_do_not_tell_known_from_unknown_emails(backend: Backend) {
    let mailbox = Mailbox::start().await;
    let origin = "https://embedded.example";
    let app = TestApp::spawn_with(backend, |c| {
        mailbox.configure(c);
        c.embedded_auth_origins = vec![origin.into()];
        c.enable_email_verification = false;
        c.password_reset_email_threshold = 0;
    })
    .await;
    let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
    let known = "known@example.com";
    sign_up(
        &Browser::new(&app),
        &authorize_url(&client_id, CB, &[]),
        known,
        CB,
    )
    .await;
    let mut timings = [Vec::new(), Vec::new()];
    for round in 0..40 {
        for (i, email) in [known, "unknown@example.com"].into_iter().enumerate() {
            let started = std::time::Instant::now();
            let response = app
                .client
                .post(app.url("/embedded-auth/v1/reset-password-code"))
                .json(&json!({ "email": email }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            if round >= 5 {
                timings[i].push(started.elapsed());
            }
            assert_eq!((status, body.as_str()), (200, r#"{"success":true}"#));
        }
    }
    let median = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut timings[0]), median(&mut timings[1]));
    let (slow, fast) = if k > u { (k, u) } else { (u, k) };
    assert!(
        slow <= fast * 3 + std::time::Duration::from_millis(2),
        "known {k:?} vs unknown {u:?}: the answer's timing tells them apart"
    );
    mailbox.nth_to(known, 40).await;
    assert_eq!(mailbox.count_to("unknown@example.com"), 0);
}

/// Each email provider's API receives the request its documentation describes.
async fn http_providers_send_the_documented_requests(backend: Backend) {
    use axum::extract::{Path, State};
    use axum::http::HeaderMap;

    type Seen = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;
    let seen: Seen = Arc::default();
    async fn record(
        State(seen): State<Seen>,
        Path(path): Path<String>,
        headers: HeaderMap,
        body: String,
    ) -> (axum::http::StatusCode, &'static str) {
        seen.lock()
            .unwrap()
            .push((format!("/{path}"), headers, body));
        (axum::http::StatusCode::ACCEPTED, "{\"id\":\"queued\"}")
    }
    let router = axum::Router::new()
        .route("/{*path}", axum::routing::post(record))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    for provider in ["sendgrid", "mailgun", "brevo", "resend", "postmark"] {
        let api = api.clone();
        let app = TestApp::spawn_with(backend, |c| {
            c.email_provider_name = provider.into();
            c.email_sender_name = "Acme ID".into();
            c.enable_email_log = true;
            let (key, sender) = ("provider-key-123", "id@mail.acme.test".to_owned());
            match provider {
                "sendgrid" => {
                    c.sendgrid_api_key = Secret::new(key);
                    c.sendgrid_sender_address = sender;
                    c.sendgrid_api_url = api;
                }
                "mailgun" => {
                    c.mailgun_api_key = Secret::new(key);
                    c.mailgun_sender_address = sender;
                    c.mailgun_api_url = api;
                }
                "brevo" => {
                    c.brevo_api_key = Secret::new(key);
                    c.brevo_sender_address = sender;
                    c.brevo_api_url = api;
                }
                "resend" => {
                    c.resend_api_key = Secret::new(key);
                    c.resend_sender_address = sender;
                    c.resend_api_url = api;
                }
                _ => {
                    c.postmark_api_key = Secret::new(key);
                    c.postmark_sender_address = sender;
                    c.postmark_api_url = api;
                }
            }
        })
        .await;
        let to = format!("{provider}@example.com");
        let (status, body) = invite(&app, &to).await;
        assert_eq!(status, 200, "{body}");
        let (path, headers, body) = {
            let mut found = None;
            for _ in 0..100 {
                if let Some(hit) = seen.lock().unwrap().pop() {
                    found = Some(hit);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            found.unwrap_or_else(|| panic!("{provider}: no request arrived"))
        };
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let json_body = || {
            serde_json::from_str::<Value>(&body)
                .unwrap_or_else(|_| panic!("{provider}: not JSON: {body}"))
        };
        match provider {
            "sendgrid" => {
                assert_eq!(path, "/v3/mail/send");
                assert_eq!(header("authorization"), "Bearer provider-key-123");
                let b = json_body();
                assert_eq!(b["personalizations"][0]["to"][0]["email"], to.as_str());
                assert_eq!(
                    b["from"],
                    json!({ "email": "id@mail.acme.test", "name": "Acme ID" })
                );
                assert_eq!(b["subject"], "You are invited");
                assert_eq!(b["content"][0]["type"], "text/plain");
                assert_eq!(b["content"][1]["type"], "text/html");
            }
            "mailgun" => {
                assert_eq!(path, "/v3/mail.acme.test/messages");
                assert_eq!(
                    header("authorization"),
                    crate::harness::basic("api", "provider-key-123")
                );
                assert!(header("content-type").starts_with("application/x-www-form-urlencoded"));
                let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
                let field = |n: &str| {
                    form.iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                assert_eq!(field("from"), "\"Acme ID\" <id@mail.acme.test>");
                assert_eq!(field("to"), to);
                assert_eq!(field("subject"), "You are invited");
                assert!(
                    field("text").contains("accept-invitation") && field("html").contains("<html")
                );
            }
            "brevo" => {
                assert_eq!(path, "/v3/smtp/email");
                assert_eq!(header("api-key"), "provider-key-123");
                let b = json_body();
                assert_eq!(
                    b["sender"],
                    json!({ "name": "Acme ID", "email": "id@mail.acme.test" })
                );
                assert_eq!(b["to"], json!([{ "email": to }]));
                assert!(
                    b["htmlContent"].as_str().unwrap().contains("<html")
                        && b["textContent"].is_string()
                );
            }
            "resend" => {
                assert_eq!(path, "/emails");
                assert_eq!(header("authorization"), "Bearer provider-key-123");
                let b = json_body();
                assert_eq!(b["from"], "\"Acme ID\" <id@mail.acme.test>");
                assert_eq!(b["to"], json!([to]));
                assert!(b["html"].is_string() && b["text"].is_string());
            }
            _ => {
                assert_eq!(path, "/email");
                assert_eq!(header("x-postmark-server-token"), "provider-key-123");
                let b = json_body();
                assert_eq!(b["From"], "\"Acme ID\" <id@mail.acme.test>");
                assert_eq!(b["To"], to.as_str());
                assert_eq!(b["MessageStream"], "outbound");
                assert!(b["HtmlBody"].is_string() && b["TextBody"].is_string());
            }
        }
        // The email log records the provider's answer, the invitation link redacted.
        let logs = email_log(&app).await;
        assert_eq!(logs[0]["success"], true, "{provider}: {:?}", logs[0]);
        assert!(
            logs[0]["response"].as_str().unwrap().starts_with("202"),
            "{:?}",
            logs[0]
        );
        assert!(
            !logs[0]["content"].as_str().unwrap().contains("token="),
            "{provider}: link not redacted"
        );
    }
}

/// A provider that fails is logged as a failure; the request that caused the email still succeeds.
async fn a_failed_delivery_is_logged_not_fatal(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        // Nothing listens on port 9 of loopback.
        c.smtp_connection_string = Secret::new("smtp://127.0.0.1:9?tls=none");
        c.smtp_sender_address = SENDER.into();
        c.enable_email_log = true;
    })
    .await;
    let (status, body) = invite(&app, "lost@example.com").await;
    assert_eq!(status, 200, "{body}");
    let logs = email_log(&app).await;
    assert_eq!(logs[0]["success"], false, "{:?}", logs[0]);
    assert!(
        logs[0]["response"].as_str().unwrap().contains("SMTP"),
        "{:?}",
        logs[0]
    );
}

/// SMTP over STARTTLS (AUTH only after it) and over implicit TLS, with the relay's certificate
/// from a private CA the configuration trusts; without that CA the delivery fails and is logged.
async fn smtp_speaks_starttls_and_implicit_tls_with_a_private_ca(backend: Backend) {
    use crate::mailbox::{SMTP_PASSWORD, SMTP_USER};
    for (mode, scheme) in [("starttls", "smtp"), ("implicit", "smtps")] {
        let (mailbox, ca) = Mailbox::start_tls(mode).await;
        let url = format!(
            "{scheme}://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{}",
            mailbox.port
        );
        let app = TestApp::spawn_with(backend, |c| {
            c.smtp_connection_string = Secret::new(url.clone());
            c.smtp_sender_address = SENDER.into();
            c.smtp_ca_certificate = ca.display().to_string();
        })
        .await;
        let to = format!("{mode}@example.com");
        let (status, body) = invite(&app, &to).await;
        assert_eq!(status, 200, "{body}");
        let mail = mailbox.first_to(&to).await;
        assert!(mail.authenticated, "{mode}: authenticated");
        if mode == "starttls" {
            assert!(mail.tls, "STARTTLS was used before AUTH");
        }

        // The same relay without its CA trusted: the certificate is refused, nothing is sent.
        let untrusted = TestApp::spawn_with(backend, |c| {
            c.smtp_connection_string = Secret::new(url.clone());
            c.smtp_sender_address = SENDER.into();
            c.enable_email_log = true;
        })
        .await;
        let to = format!("untrusted-{mode}@example.com");
        let (status, _) = invite(&untrusted, &to).await;
        assert_eq!(status, 200);
        let logs = email_log(&untrusted).await;
        assert_eq!(logs[0]["success"], false, "{mode}: {:?}", logs[0]);
        assert_eq!(mailbox.count_to(&to), 0);
    }
}
}
