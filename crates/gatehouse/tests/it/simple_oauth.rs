//! The Simple-OAuth token API (compatibility mode): `/token/get` and `/token/id` as its clients
//! call them, on the real user store and lockouts.

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, basic, json_body, TestApp, BOOTSTRAP_ID, BOOTSTRAP_SECRET};

const CB: &str = "http://127.0.0.1:5173/cb";

async fn get(app: &TestApp, path: &str, auth: Option<&str>) -> (u16, Value) {
    let mut request = app.client.get(app.url(path));
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

backend_tests! {
    async fn tokens_for_passwords_resolved_only_for_app_servers(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.simple_oauth_enabled = true;
            c.account_lockout_threshold = 3;
        }).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let email = format!("simple.{backend:?}@example.com").to_lowercase();
        sign_up(&Browser::new(&app), &authorize_url(&client_id, CB, &[]), &email, CB).await;
        let admin = app.admin_token("root").await;
        let id = user_by_email(&app, &email).await["id"].as_i64().unwrap();

        let (status, body) = get(&app, &format!("/token/get?id={id}&password={}", urlencode(PASSWORD)), None).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], 200, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{token}");
        // POST with a form body works too.
        let posted: Value = app.post_form_json("/token/get", &[("id", &id.to_string()), ("password", PASSWORD)]).await;
        assert_eq!(posted["status"], 200, "{posted}");
        // Wrong password, unknown id, missing fields.
        for path in [format!("/token/get?id={id}&password=nope"), "/token/get?id=999999&password=nope".to_owned(), "/token/get?id=abc&password=x".to_owned()] {
            let (_, body) = get(&app, &path, None).await;
            assert_eq!(body, json!({ "status": 301, "errmsg": "PFALSE" }), "{path}");
        }
        let (_, body) = get(&app, "/token/get?id=1", None).await;
        assert_eq!(body["status"], 400);

        // Resolving: only an app's server.
        let path = format!("/token/id?token={token}");
        let (status, body) = get(&app, &path, None).await;
        assert_eq!((status, body["status"].as_i64()), (200, Some(401)), "{body}");
        let (_, body) = get(&app, &path, Some(&basic(BOOTSTRAP_ID, "wrong-secret"))).await;
        assert_eq!(body["status"], 401);
        let (_, body) = get(&app, &path, Some(&basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET))).await;
        assert_eq!(body, json!({ "status": 200, "USER_ID": id }));
        let (_, body) = get(&app, &path, Some(&format!("Bearer {admin}"))).await;
        assert_eq!(body, json!({ "status": 200, "USER_ID": id }));
        let (_, body) = get(&app, "/token/id?token=0123456789abcdef0123456789abcdef", Some(&basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET))).await;
        assert_eq!(body, json!({ "status": 300, "errmsg": "NO TOKEN" }));

        // Wrong passwords lock the account here as on the sign-in page (one was counted above).
        for _ in 0..2 {
            let (_, body) = get(&app, &format!("/token/get?id={id}&password=nope"), None).await;
            assert_eq!(body["status"], 301);
        }
        let (_, body) = get(&app, &format!("/token/get?id={id}&password={}", urlencode(PASSWORD)), None).await;
        assert_eq!(body["status"], 401, "locked after 3 wrong passwords: {body}");
        let locked = sign_in(&Browser::new(&app), &authorize_url(&client_id, CB, &[]), &email, PASSWORD, CB).await;
        assert!(locked.html.contains("Account temporarily locked"), "the same lockout: {}", locked.html);
    }
}

/// Expired tokens are told apart from unknown ones; GET can be switched off; the API is off by
/// default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_get_switch_and_default_off() {
    let off = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let (status, _) = get(&off, "/token/get?id=1&password=x", None).await;
    assert_eq!(status, 404, "off by default");

    let app = TestApp::spawn_with(crate::harness::Backend::Sqlite, |c| {
        c.simple_oauth_enabled = true;
        c.simple_oauth_token_expires_in = 1;
        c.simple_oauth_allow_get = false;
    })
    .await;
    let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
    sign_up(
        &Browser::new(&app),
        &authorize_url(&client_id, CB, &[]),
        "expiry@example.com",
        CB,
    )
    .await;
    let (_, body) = get(
        &app,
        &format!("/token/get?id=1&password={}", urlencode(PASSWORD)),
        None,
    )
    .await;
    assert_eq!(body["status"], 401, "GET is off: {body}");
    let body: Value = app
        .post_form_json("/token/get", &[("id", "1"), ("password", PASSWORD)])
        .await;
    let token = body["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let request = app
        .client
        .post(app.url("/token/id"))
        .header("Authorization", basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET))
        .form(&[("token", token.as_str())]);
    let body = json_body(request).await;
    assert_eq!(body, json!({ "status": 300, "errmsg": "TOKEN OUT DATE" }));
}
