//! The device authorization grant (RFC 8628) through its real interfaces: the device endpoint,
//! the `/device` page and the normal sign-in pages, the token endpoint's polling answers. The
//! attacks: a device code polled by another client, twice, too fast, after expiry or denial;
//! a user code guessed (counted per address), replayed after approval or typed in a second
//! browser; a form from another site or without the CSRF token; an app not allowed to use it.

use serde_json::{json, Value};

use crate::flow::{self, create_app, hidden_fields, Browser, Page};
use crate::harness::{backend_tests, basic, call, TestApp};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /oauth2/v1/device_authorization` with `form` (and HTTP Basic when `secret` is given).
async fn device_authorization(
    app: &TestApp,
    form: &[(&str, &str)],
    basic_auth: Option<(&str, &str)>,
) -> (u16, Value, Option<String>) {
    let mut request = app
        .client
        .post(app.url("/oauth2/v1/device_authorization"))
        .form(form);
    if let Some((id, secret)) = basic_auth {
        request = request.header("Authorization", basic(id, secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or(Value::Null), cache)
}

async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> (u16, Value) {
    flow::exchange(
        app,
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ],
    )
    .await
}

fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
    assert!(
        answer.1["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        answer.1
    );
}

/// A SPA app with the device flow turned on; its client id.
async fn device_app(app: &TestApp, name: &str) -> String {
    flow::device_app(app, name, "spa").await.0
}

/// A device authorization for `client_id` with the test scopes; the answer.
async fn start(app: &TestApp, client_id: &str) -> Value {
    let scope = "openid profile offline_access";
    let (status, body, cache) =
        device_authorization(app, &[("client_id", client_id), ("scope", scope)], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    body
}

/// The `/device` page's entry form filled with `code` and posted by `browser`.
async fn type_code(browser: &Browser, code: &str) -> Page {
    let entry = browser.get("/device").await;
    assert_eq!(entry.status, 200, "{}", entry.html);
    let fields = hidden_fields(&entry.html, "device-form", &[("user_code", code)]);
    browser.post("/device", &fields).await
}

/// Presses `decision` on the confirmation page `confirm`.
async fn decide(browser: &Browser, confirm: &Page, decision: &str) -> Page {
    let fields = hidden_fields(
        &confirm.html,
        "device-confirm-form",
        &[("decision", decision)],
    );
    browser.post("/device", &fields).await
}

backend_tests! {
    async fn a_device_signs_in_once_through_the_pages(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        // Off by default, for every app; an S2S app cannot have it.
        let (off_id, off_client, _) = create_app(&app, "Plain SPA", "spa", &["https://a.example/cb"]).await;
        let answer = device_authorization(&app, &[("client_id", &off_client)], None).await;
        assert_error(&(answer.0, answer.1), 400, "unauthorized_client");
        let token = app.admin_token("root").await;
        let (status, body) = call(&app, "GET", &format!("/api/v1/apps/{off_id}"), &token, None).await;
        assert_eq!((status, &body["app"]["allowDeviceFlow"]), (200, &json!(false)), "{body}");
        let s2s = crate::harness::s2s_app(&app, &token, &["read_user"]).await;
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{}", s2s.id), &token,
            Some(json!({ "allowDeviceFlow": true }))).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = call(&app, "POST", "/api/v1/apps", &token, Some(json!({
            "name": "S2S device", "type": "s2s", "scopes": [], "redirectUris": [], "allowDeviceFlow": true,
        }))).await;
        assert_eq!(status, 400, "{body}");
        let answer = device_authorization(&app, &[], None).await;
        assert_error(&(answer.0, answer.1), 400, "invalid_request");
        let answer = device_authorization(&app, &[("client_id", "no-such-client")], None).await;
        assert_error(&(answer.0, answer.1), 401, "invalid_client");

        let client_id = device_app(&app, "TV app").await;
        let other_client = device_app(&app, "Other TV app").await;
        let started = start(&app, &client_id).await;
        let device_code = started["device_code"].as_str().unwrap();
        let user_code = started["user_code"].as_str().unwrap();
        assert_eq!(user_code.len(), 9, "{started}");
        assert_eq!(started["verification_uri"], app.url("/device"));
        assert_eq!(
            started["verification_uri_complete"],
            format!("{}?user_code={user_code}", app.url("/device"))
        );
        assert_eq!((started["expires_in"].as_u64(), started["interval"].as_u64()), (Some(600), Some(5)));

        // Polling before the user acts: pending, then too fast.
        assert_error(&poll(&app, &client_id, device_code).await, 400, "authorization_pending");
        assert_error(&poll(&app, &client_id, device_code).await, 400, "slow_down");
        // Another client, an unknown code, no client at all.
        assert_error(&poll(&app, &other_client, device_code).await, 400, "invalid_grant");
        assert_error(&poll(&app, &client_id, "not-a-device-code").await, 400, "invalid_grant");
        let (status, body) = flow::exchange(&app, &[("grant_type", DEVICE_GRANT), ("device_code", device_code)]).await;
        assert_error(&(status, body), 400, "invalid_request");
        let (status, body) = flow::exchange(&app, &[("grant_type", DEVICE_GRANT), ("client_id", &client_id)]).await;
        assert_error(&(status, body), 400, "invalid_request");

        // The verification URI fills the code in; the user still confirms it.
        let browser = Browser::new(&app);
        let filled = browser.get(started["verification_uri_complete"].as_str().unwrap()).await;
        assert_eq!(filled.status, 200, "{}", filled.html);
        assert_eq!(flow::input_value(&filled.html, "user_code").as_deref(), Some(user_code));
        // A post without this browser's CSRF token, or from another site, changes nothing.
        let forged = browser.post("/device", &[("user_code".into(), user_code.into()), ("csrf_token".into(), "x".repeat(43))]).await;
        assert_eq!(forged.status, 403, "{}", forged.html);
        let csrf = flow::input_value(&filled.html, "csrf_token").unwrap();
        let foreign = browser.http.post(app.url("/device")).header("Origin", "https://evil.example")
            .form(&[("user_code", user_code), ("csrf_token", &csrf), ("decision", "accept")])
            .send().await.unwrap();
        assert_eq!(foreign.status().as_u16(), 403);
        // A wrong code is refused on the page.
        let wrong = type_code(&browser, "BCDF-BCDF").await;
        assert_eq!(wrong.status, 404, "{}", wrong.html);
        assert!(flow::error_text(&wrong.html).contains("not valid"), "{}", wrong.html);

        // The code as a person types it: lower case, no dash.
        let typed = user_code.replace('-', "").to_lowercase();
        let confirm = type_code(&browser, &typed).await;
        assert_eq!(confirm.status, 200, "{}", confirm.html);
        assert!(confirm.html.contains("TV app") && confirm.html.contains(user_code), "{}", confirm.html);
        let started_sign_in = decide(&browser, &confirm, "accept").await;
        let back = app.url("/device?");
        let sign_in = browser.follow(started_sign_in, &back).await;
        let tx = flow::input_value(&sign_in.html, "tx").expect("the sign-in page");
        let email = format!("device.{backend:?}@example.com").to_lowercase();
        let fields = flow::sign_up_form(&browser, &tx, &email, flow::ADA_NAMES).await;
        let after = browser.post("/identity/v1/view/sign-up", &fields).await;
        let done = flow::past_consent(&browser, browser.follow(after, &back).await, &back).await;
        let landed = done.location.clone().unwrap_or_default();
        assert!(landed.contains("/device?result=approved"), "{} {landed} {}", done.status, done.html);
        let shown = browser.get(&landed).await;
        assert!(shown.html.contains("Your device is signed in"), "{}", shown.html);

        // The same code again, here or in another browser: decided already.
        let again = type_code(&Browser::new(&app), user_code).await;
        assert_eq!(again.status, 404, "{}", again.html);
        // Another client still gets nothing; the device gets its tokens, once.
        assert_error(&poll(&app, &other_client, device_code).await, 400, "invalid_grant");
        let (status, tokens) = poll(&app, &client_id, device_code).await;
        assert_eq!(status, 200, "{tokens}");
        let id_claims = crate::harness::jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(id_claims["aud"], client_id.as_str(), "{id_claims}");
        assert_eq!(id_claims["email"], email.as_str(), "{id_claims}");
        assert!(tokens["refresh_token"].is_string(), "{tokens}");
        assert_error(&poll(&app, &client_id, device_code).await, 400, "invalid_grant");
        let info = app.client.get(app.url("/oauth2/v1/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send().await.unwrap();
        assert_eq!(info.status().as_u16(), 200);
        let info: Value = info.json().await.unwrap();
        assert_eq!(info["sub"], id_claims["sub"], "{info}");
        // Turned off again, the app can start no new device sign-in.
        let token = app.admin_token("root").await;
        let changed = call(&app, "GET", "/api/v1/apps", &token, None).await.1;
        let id = changed["apps"].as_array().unwrap().iter()
            .find(|a| a["clientId"] == client_id.as_str()).unwrap()["id"].as_i64().unwrap();
        let (status, _) = call(&app, "PUT", &format!("/api/v1/apps/{id}"), &token, Some(json!({ "allowDeviceFlow": false }))).await;
        assert_eq!(status, 200);
        let answer = device_authorization(&app, &[("client_id", &client_id)], None).await;
        assert_error(&(answer.0, answer.1), 400, "unauthorized_client");
    }

    async fn a_denied_or_expired_device_gets_no_tokens(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let client_id = device_app(&app, "Kiosk").await;
        // Denied on the confirmation page.
        let denied = start(&app, &client_id).await;
        let browser = Browser::new(&app);
        let confirm = type_code(&browser, denied["user_code"].as_str().unwrap()).await;
        let refused = decide(&browser, &confirm, "deny").await;
        assert!(refused.html.contains("Sign-in refused"), "{}", refused.html);
        let code = denied["device_code"].as_str().unwrap();
        assert_error(&poll(&app, &client_id, code).await, 400, "access_denied");
        // The decision cannot be turned around with a replayed confirmation.
        let replayed = decide(&browser, &confirm, "accept").await;
        assert_eq!(replayed.status, 404, "{}", replayed.html);
        // Denied at the consent step of the sign-in.
        let at_consent = start(&app, &client_id).await;
        let browser = Browser::new(&app);
        let confirm = type_code(&browser, at_consent["user_code"].as_str().unwrap()).await;
        let back = app.url("/device?");
        let sign_in = browser.follow(decide(&browser, &confirm, "accept").await, &back).await;
        let tx = flow::input_value(&sign_in.html, "tx").expect("the sign-in page");
        let email = format!("device-deny.{backend:?}@example.com").to_lowercase();
        let fields = flow::sign_up_form(&browser, &tx, &email, flow::ADA_NAMES).await;
        let consent = browser.follow(browser.post("/identity/v1/view/sign-up", &fields).await, &back).await;
        assert!(consent.html.contains("consent-form"), "{}", consent.html);
        let fields = flow::form_fields(&consent.html, &[("decision", "deny")]);
        let denied_here = browser.post("/identity/v1/view/consent", &fields).await;
        let landed = denied_here.location.clone().unwrap_or_default();
        assert!(landed.starts_with(&back) && landed.contains("error=access_denied"), "{landed}");
        assert!(browser.get(&landed).await.html.contains("Sign-in refused"));
        let code = at_consent["device_code"].as_str().unwrap();
        assert_error(&poll(&app, &client_id, code).await, 400, "access_denied");
        // Left alone past its lifetime.
        let app = TestApp::spawn_with(backend, |c| c.device_code_expires_in = 1).await;
        let client_id = device_app(&app, "Kiosk").await;
        let expired = start(&app, &client_id).await;
        tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
        let code = expired["device_code"].as_str().unwrap();
        assert_error(&poll(&app, &client_id, code).await, 400, "expired_token");
        let late = type_code(&Browser::new(&app), expired["user_code"].as_str().unwrap()).await;
        assert_eq!(late.status, 404, "{}", late.html);
    }

    async fn guessed_user_codes_are_limited_per_address(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.device_user_code_threshold = 3).await;
        let client_id = device_app(&app, "Console").await;
        let started = start(&app, &client_id).await;
        let browser = Browser::new(&app);
        for guess in ["BCDF-GHJK", "not a code", &"Z".repeat(500)] {
            let wrong = type_code(&browser, guess).await;
            assert_eq!(wrong.status, 404, "{}", wrong.html);
        }
        // Past the limit even the right code is refused, from this address.
        let locked = type_code(&browser, started["user_code"].as_str().unwrap()).await;
        assert_eq!(locked.status, 400, "{}", locked.html);
        assert!(flow::error_text(&locked.html).contains("Too many"), "{}", locked.html);
    }

    async fn a_confidential_device_app_authenticates(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (client_id, secret) = flow::device_app(&app, "Web TV", "web").await;
        let secret = secret.unwrap();
        let answer = device_authorization(&app, &[("client_id", &client_id)], None).await;
        assert_error(&(answer.0, answer.1), 401, "invalid_client");
        let answer = device_authorization(&app, &[], Some((&client_id, "wrong"))).await;
        assert_error(&(answer.0, answer.1), 401, "invalid_client");
        let (status, started, _) = device_authorization(&app, &[("scope", "openid")], Some((&client_id, &secret))).await;
        assert_eq!(status, 200, "{started}");
        // Polling without the secret is refused before anything is looked up.
        let code = started["device_code"].as_str().unwrap();
        assert_error(&poll(&app, &client_id, code).await, 401, "invalid_client");
        let response = app.client.post(app.url("/oauth2/v1/token"))
            .header("Authorization", basic(&client_id, &secret))
            .form(&[("grant_type", DEVICE_GRANT), ("device_code", code)])
            .send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "authorization_pending", "{body}");
    }
}

backend_tests! {
    async fn the_admin_panel_turns_the_device_flow_on_for_user_apps_only(backend: Backend) {
        use crate::admin::{panel_browser, set_up_admin, ADMIN_EMAIL};
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (browser, _) = panel_browser(&app, ADMIN_EMAIL, flow::PASSWORD).await;
        let (id, client_id, _) = create_app(&app, "Panel TV", "spa", &["https://tv.example/cb"]).await;
        let page = browser.get(&format!("/admin/apps/{id}")).await;
        assert!(page.html.contains("name=\"allow_device_flow\""), "{}", page.html);
        let fields = hidden_fields(&page.html, "app-form", &[
            ("name", "Panel TV"), ("redirect_uris", "https://tv.example/cb"), ("scope", "openid"),
            ("is_active", "on"), ("allow_device_flow", "on"),
        ]);
        let saved = browser.post(&format!("/admin/apps/{id}"), &fields).await;
        assert_eq!(saved.status, 303, "{}", saved.html);
        let (status, started, _) = device_authorization(&app, &[("client_id", &client_id)], None).await;
        assert_eq!(status, 200, "{started}");
        // An S2S app's page has no such switch, and a forged post cannot turn it on.
        let token = app.admin_token("root").await;
        let s2s = crate::harness::s2s_app(&app, &token, &["read_user"]).await;
        let page = browser.get(&format!("/admin/apps/{}", s2s.id)).await;
        assert!(!page.html.contains("name=\"allow_device_flow\""), "{}", page.html);
        let fields = hidden_fields(&page.html, "app-form", &[
            ("name", "S2S"), ("is_active", "on"), ("allow_device_flow", "on"),
        ]);
        let refused = browser.post(&format!("/admin/apps/{}", s2s.id), &fields).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        let (_, body) = call(&app, "GET", &format!("/api/v1/apps/{}", s2s.id), &token, None).await;
        assert_eq!(body["app"]["allowDeviceFlow"], false, "{body}");
    }
}
