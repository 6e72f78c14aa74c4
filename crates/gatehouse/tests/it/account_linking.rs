//! Linking a provider identity to an existing password account at sign-in
//! (`link_social_accounts_at_sign_in`), through the sign-in pages and the local OpenID Connect
//! provider of `federation`.

use gatehouse_server::config::Config;
use serde_json::Value;

use crate::federation::{
    callback, press_button, sign_in_page, social_users, LocalProvider, APP_CB, PROVIDER,
};
use crate::flow::{
    authorize_url, create_app, error_text, finish_consent, hidden_fields, id_token_subject,
    query_param, sign_up, Browser, Page, PASSWORD,
};
use crate::harness::{backend_tests, call, TestApp};

const EMAIL: &str = "grace@acme.example";
const LINK_PAGE: &str = "/identity/v1/view/link-account";

/// A password account for `EMAIL`, signed up through the pages; its email verified when
/// `verified`. Returns its authId.
async fn password_account(app: &TestApp, client_id: &str, verified: bool) -> String {
    let browser = Browser::new(app);
    sign_up(
        &browser,
        &authorize_url(client_id, APP_CB, &[]),
        EMAIL,
        APP_CB,
    )
    .await;
    if verified {
        app.isolation
            .execute(
                "UPDATE users SET email_verified = TRUE WHERE email = $1",
                EMAIL,
            )
            .await;
    }
    let user = user_with_email(app).await;
    assert_eq!(user["emailVerified"], verified);
    user["authId"].as_str().unwrap().to_owned()
}

async fn user_with_email(app: &TestApp) -> Value {
    let token = app.admin_token("root").await;
    let (status, body) = call(
        app,
        "GET",
        &format!("/api/v1/users?search={EMAIL}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["socialAccountType"].is_null())
        .cloned()
        .unwrap()
}

/// Signs in through the provider as `sub` (whose email is `EMAIL`, verified when
/// `email_verified`); returns the browser and the callback's answer.
async fn provider_sign_in(
    app: &TestApp,
    provider: &LocalProvider,
    client_id: &str,
    email_verified: bool,
) -> (Browser, Page) {
    let (browser, page) = sign_in_page(app, client_id).await;
    let upstream = press_button(&browser, &page).await;
    let nonce = query_param(&upstream, "nonce").unwrap();
    let mut claims = provider.claims("grace-at-acme", &nonce);
    claims["email"] = EMAIL.into();
    claims["email_verified"] = email_verified.into();
    provider.answer_with(LocalProvider::sign(
        &provider.keys[0],
        provider.keys[0].kid(),
        &claims,
    ));
    let back = browser
        .get(&callback(&query_param(&upstream, "state").unwrap()))
        .await;
    assert_eq!(back.status, 303, "{}", back.html);
    (browser, back)
}

/// The `sub` of the ID token the final redirect's code is exchanged for.
async fn subject_of(app: &TestApp, client_id: &str, redirect: &str) -> String {
    id_token_subject(app, client_id, APP_CB, redirect).await
}

fn linking_on(provider: &LocalProvider) -> impl FnOnce(&mut Config) + '_ {
    move |c: &mut Config| {
        provider.configure(c);
        c.link_social_accounts_at_sign_in = true;
        c.account_lockout_threshold = 3;
    }
}

/// The link page's password form with `password`.
fn link_form(page: &Page, password: &str) -> Vec<(String, String)> {
    hidden_fields(&page.html, "link-account-form", &[("password", password)])
}

async fn identity_rows(app: &TestApp) -> i64 {
    app.isolation
        .table_counts()
        .await
        .into_iter()
        .find(|(t, _)| t == "user_identities")
        .map(|(_, n)| n)
        .unwrap()
}

backend_tests! {
    async fn the_accounts_password_links_the_provider_identity_and_it_signs_straight_in_after(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, linking_on(&provider)).await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        let auth_id = password_account(&app, &client_id, true).await;

        let (browser, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        let location = back.location.clone().unwrap();
        assert!(location.contains(LINK_PAGE), "{location}");
        let page = browser.get(&location).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains(&format!("An account with {EMAIL} already exists — enter its password to sign in with {PROVIDER} from now on")), "{}", page.html);
        assert!(page.html.contains("cancel-link-form"), "{}", page.html);
        for (locale, words) in [
            ("fr", format!("Un compte avec l’adresse {EMAIL} existe déjà")),
            ("zh-CN", format!("使用 {EMAIL} 的账户已存在")),
        ] {
            let shown = browser.get(&location.replace("locale=en", &format!("locale={locale}"))).await;
            assert!(shown.html.contains(&words), "{locale}: {}", shown.html);
        }
        // Nobody is signed in at this step: no code can be had, and nothing was made.
        assert!(social_users(&app).await.is_empty());
        assert_eq!(identity_rows(&app).await, 0);

        // A post without the browser's CSRF token is refused and links nothing.
        let forged: Vec<(String, String)> = link_form(&page, PASSWORD).into_iter().filter(|(k, _)| k != "csrf_token").collect();
        let refused = browser.post(LINK_PAGE, &forged).await;
        assert_eq!(refused.status, 403, "{}", refused.html);
        assert_eq!(identity_rows(&app).await, 0);

        // The wrong password: the sign-in page's answer, nothing linked, the page again.
        let wrong = browser.post(LINK_PAGE, &link_form(&page, "Wrong-passw0rd")).await;
        assert_eq!(wrong.status, 404, "{}", wrong.html);
        assert_eq!(error_text(&wrong.html), "No user found");
        assert!(wrong.html.contains("link-account-form"), "{}", wrong.html);
        assert_eq!(identity_rows(&app).await, 0);

        let linked = browser.post(LINK_PAGE, &link_form(&wrong, PASSWORD)).await;
        assert_eq!(linked.status, 303, "{}", linked.html);
        let done = finish_consent(&browser, linked, APP_CB).await;
        assert_eq!(subject_of(&app, &client_id, &done).await, auth_id.as_str());
        assert!(social_users(&app).await.is_empty(), "no second user");
        assert_eq!(identity_rows(&app).await, 1);
        // The S2S user record lists the linked identity.
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_eq!(status, 200, "{body}");
        let identities = body["user"]["linkedIdentities"].as_array().unwrap();
        assert_eq!(identities.len(), 1, "{body}");
        assert_eq!((&identities[0]["provider"], &identities[0]["subject"]), (&PROVIDER.into(), &"grace-at-acme".into()));
        assert_eq!(identities[0]["createdAt"].as_str().unwrap().len(), "YYYY-MM-DD HH:MM:SS".len());

        // From now on the provider identity signs straight into the account.
        let (_, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        let location = back.location.unwrap();
        assert!(location.starts_with(APP_CB), "{location}");
        assert_eq!(subject_of(&app, &client_id, &location).await, auth_id.as_str());

        // A deleted account's identity signs into nothing: the next sign-in is a new user.
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{auth_id}"), &root, None).await.0, 204);
        let (browser, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        assert!(back.location.as_deref().unwrap().contains("/identity/v1/view/consent"), "{:?}", back.location);
        let done = finish_consent(&browser, back, APP_CB).await;
        let users = social_users(&app).await;
        assert_eq!(users.len(), 1, "{users:?}");
        assert_eq!(subject_of(&app, &client_id, &done).await, users[0]["authId"]);
    }

    async fn wrong_link_passwords_count_toward_the_lockout_and_cancel_links_nothing(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, linking_on(&provider)).await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        password_account(&app, &client_id, true).await;

        let (browser, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        let mut page = browser.get(back.location.as_deref().unwrap()).await;
        for _ in 0..3 {
            page = browser.post(LINK_PAGE, &link_form(&page, "Wrong-passw0rd")).await;
            assert_eq!(error_text(&page.html), "No user found");
        }
        // The threshold holds even for the right password, here and on the sign-in page.
        let locked = browser.post(LINK_PAGE, &link_form(&page, PASSWORD)).await;
        assert_eq!(locked.status, 400, "{}", locked.html);
        assert!(error_text(&locked.html).contains("Account temporarily locked"), "{}", locked.html);
        let other = Browser::new(&app);
        let signed = crate::flow::sign_in(&other, &authorize_url(&client_id, APP_CB, &[]), EMAIL, PASSWORD, APP_CB).await;
        assert!(error_text(&signed.html).contains("Account temporarily locked"), "{}", signed.html);
        assert_eq!(identity_rows(&app).await, 0);

        // Cancel: back to the sign-in page, and the step is over.
        let cancel = hidden_fields(&locked.html, "cancel-link-form", &[]);
        let cancelled = browser.post(LINK_PAGE, &cancel).await;
        assert_eq!(cancelled.status, 303, "{}", cancelled.html);
        let location = cancelled.location.unwrap();
        assert!(location.contains("/identity/v1/view/authorize?tx="), "{location}");
        assert!(browser.get(&location).await.html.contains("sign-in-form"));
        let late = browser.post(LINK_PAGE, &link_form(&locked, PASSWORD)).await;
        assert_eq!(late.status, 400, "{}", late.html);
        assert_eq!(identity_rows(&app).await, 0);
        assert!(social_users(&app).await.is_empty());
    }

    async fn without_both_emails_verified_or_with_the_feature_off_the_identity_gets_its_own_user(backend: Backend) {
        let provider = LocalProvider::start().await;
        // (feature on, provider vouches for the email, local email verified)
        for (on, provider_verified, local_verified) in [(true, false, true), (true, true, false), (false, true, true)] {
            let case = format!("feature {on}, provider {provider_verified}, local {local_verified}");
            let app = TestApp::spawn_with(backend, |c| {
                provider.configure(c);
                c.link_social_accounts_at_sign_in = on;
            })
            .await;
            let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
            let auth_id = password_account(&app, &client_id, local_verified).await;
            let (browser, back) = provider_sign_in(&app, &provider, &client_id, provider_verified).await;
            let location = back.location.clone().unwrap();
            assert!(location.contains("/identity/v1/view/consent"), "{case}: {location}");
            let done = finish_consent(&browser, back, APP_CB).await;
            let users = social_users(&app).await;
            assert_eq!(users.len(), 1, "{case}: {users:?}");
            let sub = subject_of(&app, &client_id, &done).await;
            assert_eq!(sub, users[0]["authId"], "{case}");
            assert_ne!(sub, auth_id.as_str(), "{case}");
            assert_eq!(identity_rows(&app).await, 0, "{case}");
            let root = app.admin_token("root").await;
            let (_, body) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
            assert_eq!(body["user"].get("linkedIdentities").is_some(), on, "{case}: {body}");
            app.stop().await;
        }
    }
}

backend_tests! {
    async fn admins_see_linked_identities_and_unlinking_one_stops_it_signing_in(backend: Backend) {
        use crate::admin::{panel_browser, set_up_admin, ADMIN_EMAIL};
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, linking_on(&provider)).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        let auth_id = password_account(&app, &client_id, true).await;
        let (browser, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        let page = browser.get(back.location.as_deref().unwrap()).await;
        let linked = browser.post(LINK_PAGE, &link_form(&page, PASSWORD)).await;
        finish_consent(&browser, linked, APP_CB).await;

        let (admin, dashboard) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        let detail = admin.get(&format!("/admin/users/{auth_id}")).await;
        assert_eq!(detail.status, 200, "{}", detail.html);
        assert!(detail.html.contains(&format!("{PROVIDER} · grace-at-acme · ")), "{}", detail.html);
        let marker = "id=\"unlink-identity-";
        let at = detail.html.find(marker).unwrap() + marker.len();
        let id = &detail.html[at..at + detail.html[at..].find('"').unwrap()];
        let unlink = format!("/admin/users/{auth_id}/identities/{id}/unlink");
        let csrf = crate::flow::input_value(&detail.html, "csrf_token").unwrap();

        // Without the CSRF token: refused, still linked.
        assert_eq!(admin.post(&unlink, &[]).await.status, 403);
        let (_, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        assert!(back.location.as_deref().unwrap().starts_with(APP_CB), "{:?}", back.location);

        let done = admin.post(&unlink, &[("csrf_token".into(), csrf.clone())]).await;
        assert_eq!(done.status, 303, "{}", done.html);
        let detail = admin.get(done.location.as_deref().unwrap()).await;
        assert!(!detail.html.contains("grace-at-acme"), "{}", detail.html);
        // Unlinked twice, or someone else's: not found.
        let again = admin.post(&unlink, &[("csrf_token".into(), csrf)]).await;
        assert_eq!(again.status, 404, "{}", again.html);
        // The identity no longer signs in: its next sign-in asks for the password again.
        let (_, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        assert!(back.location.as_deref().unwrap().contains(LINK_PAGE), "{:?}", back.location);
    }
}

backend_tests! {
    async fn a_linked_sign_in_is_a_password_sign_in_so_required_mfa_is_not_bypassed(backend: Backend) {
        let provider = LocalProvider::start().await;
        let app = TestApp::spawn_with(backend, |c| {
            linking_on(&provider)(c);
            c.external_sign_in_can_bypass_local_mfa = true;
        })
        .await;
        let (_, client_id, _) = create_app(&app, "Federated app", "spa", &[APP_CB]).await;
        password_account(&app, &client_id, true).await;
        // MFA is required from now on (the account was made before).
        app.isolation
            .execute("UPDATE users SET mfa_types = 'otp' WHERE email = $1", EMAIL)
            .await;
        let (browser, back) = provider_sign_in(&app, &provider, &client_id, true).await;
        let page = browser.get(back.location.as_deref().unwrap()).await;
        let linked = browser.post(LINK_PAGE, &link_form(&page, PASSWORD)).await;
        assert_eq!(linked.status, 303, "{}", linked.html);
        let next = linked.location.unwrap();
        assert!(next.contains("/identity/v1/view/otp-setup"), "{next}");
        assert!(!next.contains("code="), "{next}");
    }
}
