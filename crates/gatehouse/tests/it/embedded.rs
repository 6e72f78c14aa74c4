//! The embedded auth API: the same sign-in transaction as JSON.

use serde_json::{json, Value};

use crate::flow::{authorize_url, challenge, create_app, input_value, Browser, PASSWORD, VERIFIER};
use crate::harness::{backend_tests, call, jwt_part, post_from_origin, TestApp};

const ORIGIN: &str = "http://127.0.0.1:5173";
const CB: &str = "http://127.0.0.1:5173/cb";

async fn post(app: &TestApp, path: &str, origin: &str, body: Value) -> (u16, Value) {
    post_from_origin(app, path, origin, body).await
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .client
        .get(app.url(path))
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

/// A new session for `client_id`; returns its id.
async fn initiate(app: &TestApp, client_id: &str) -> String {
    let body = json!({
        "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
        "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "en",
    });
    let (s, body) = post(app, "/embedded-auth/v1/initiate", ORIGIN, body).await;
    assert_eq!(s, 200, "{body}");
    body["sessionId"].as_str().unwrap().to_owned()
}

/// The refusal's status and `error_description`.
fn refusal((status, body): (u16, Value)) -> (u16, String) {
    (
        status,
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// `email` signs up (not asked which organization: they are in none), is made a member of
/// `orgs`, and signs in again in a new session, which stops at `switch_org`. Returns that session
/// and the user's auth id.
async fn member_at_switch_org(
    app: &TestApp,
    client_id: &str,
    email: &str,
    orgs: &[i64],
) -> (String, String) {
    let session = initiate(app, client_id).await;
    let (_, body) = post(
        app,
        &format!("/embedded-auth/v1/{session}/sign-up"),
        ORIGIN,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(body["nextStep"], "consent", "{body}");
    let (_, body) = post(
        app,
        &format!("/embedded-auth/v1/{session}/app-consent"),
        ORIGIN,
        json!({}),
    )
    .await;
    assert_eq!(
        (body["success"].as_bool(), body.get("nextStep")),
        (Some(true), None),
        "no organization, no choice: {body}"
    );
    let root = app.admin_token("root").await;
    let (_, users) = call(
        app,
        "GET",
        &format!("/api/v1/users?search={email}"),
        &root,
        None,
    )
    .await;
    let auth_id = users["users"][0]["authId"]
        .as_str()
        .unwrap_or_else(|| panic!("{users}"))
        .to_owned();
    let (status, body) = call(
        app,
        "POST",
        &format!("/api/v1/users/{auth_id}/orgs"),
        &root,
        Some(json!({"orgs": orgs})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let session = initiate(app, client_id).await;
    let (_, body) = post(
        app,
        &format!("/embedded-auth/v1/{session}/sign-in"),
        ORIGIN,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(body["nextStep"], "switch_org", "{body}");
    (session, auth_id)
}

backend_tests! {
    async fn embedded_sign_up_consent_exchange_refresh_and_sign_out(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.embedded_auth_origins = vec![ORIGIN.into()]).await;
        let (_, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;
        let initiate = json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile", "offline_access"], "locale": "en",
        });
        let (s, body) = post(&app, "/embedded-auth/v1/initiate", "https://evil.example", initiate.clone()).await;
        assert_eq!(s, 400, "{body}");
        let (s, body) = post(&app, "/embedded-auth/v1/initiate", ORIGIN, initiate).await;
        assert_eq!(s, 200, "{body}");
        let session = body["sessionId"].as_str().unwrap().to_owned();

        let (s, body) = post(&app, "/embedded-auth/v1/unknown-session/sign-in", ORIGIN, json!({"email": "a@b.c", "password": PASSWORD})).await;
        assert_eq!((s, body["error_description"].as_str()), (404, Some("Invalid session id provided")));
        let (s, body) = post(&app, &format!("/embedded-auth/v1/{session}/sign-up"), ORIGIN, json!({"email": "emb@example.com", "password": "weak"})).await;
        assert_eq!(s, 400, "{body}");
        let (s, body) = post(&app, &format!("/embedded-auth/v1/{session}/sign-up"), ORIGIN, json!({"email": "emb@example.com", "password": PASSWORD, "firstName": "Em"})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["nextStep"], "consent");
        assert_eq!(body["success"], false);
        // Tokens before consent: refused.
        let (s, _) = post(&app, "/embedded-auth/v1/token-exchange", ORIGIN, json!({"sessionId": session, "codeVerifier": VERIFIER})).await;
        assert_eq!(s, 404);
        let (s, body) = post(&app, &format!("/embedded-auth/v1/{session}/app-consent"), ORIGIN, json!({})).await;
        assert_eq!((s, body["success"].as_bool()), (200, Some(true)), "{body}");
        let (s, tokens) = post(&app, "/embedded-auth/v1/token-exchange", ORIGIN, json!({"sessionId": session, "codeVerifier": VERIFIER})).await;
        assert_eq!(s, 200, "{tokens}");
        assert_eq!(jwt_part(tokens["id_token"].as_str().unwrap(), 1)["aud"], client_id);
        let (s, _) = post(&app, "/embedded-auth/v1/token-exchange", ORIGIN, json!({"sessionId": session, "codeVerifier": VERIFIER})).await;
        assert_eq!(s, 404, "a session is exchanged once");
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let (s, refreshed) = post(&app, "/embedded-auth/v1/token-refresh", ORIGIN, json!({"refreshToken": refresh})).await;
        assert_eq!(s, 200, "{refreshed}");
        let next = refreshed["refresh_token"].as_str().unwrap();
        let (s, _) = post(&app, "/embedded-auth/v1/sign-out", ORIGIN, json!({"refreshToken": next, "clientId": client_id})).await;
        assert_eq!(s, 200);
        let (s, _) = post(&app, "/embedded-auth/v1/token-refresh", ORIGIN, json!({"refreshToken": next})).await;
        assert_eq!(s, 400);
    }

    async fn an_unknown_session_is_404_before_its_malformed_body_is_read(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.embedded_auth_origins = vec![ORIGIN.into()]).await;
        let (_, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;
        let raw = |path: String| {
            let request = app.client.post(app.url(&path)).header("Origin", ORIGIN);
            async move {
                let r = request.header("Content-Type", "application/json").body("{not json").send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        // The session the path names is checked first: an unknown one says so, whatever the body.
        let (s, body) = raw("/embedded-auth/v1/unknown-session/sign-in".into()).await;
        assert_eq!((s, body["error_description"].as_str()), (404, Some("Invalid session id provided")), "{body}");
        // A known session with the same body: the body's own error, and the session still works.
        let initiate = json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid"], "locale": "en",
        });
        let (_, started) = post(&app, "/embedded-auth/v1/initiate", ORIGIN, initiate).await;
        let session = started["sessionId"].as_str().unwrap().to_owned();
        let (s, body) = raw(format!("/embedded-auth/v1/{session}/sign-up")).await;
        assert_eq!(s, 400, "{body}");
        let (s, body) = post(&app, &format!("/embedded-auth/v1/{session}/sign-up"), ORIGIN, json!({"email": "late@example.com", "password": PASSWORD})).await;
        assert_eq!(s, 200, "{body}");
    }

    async fn embedded_api_is_off_without_origins(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (s, body) = post(&app, "/embedded-auth/v1/initiate", ORIGIN, json!({})).await;
        assert_eq!((s, body["error_description"].as_str()), (400, Some("Embedded auth feature is not enabled")), "{body}");
    }

    async fn a_sign_in_begun_in_a_browser_is_refused_to_the_embedded_api_with_403(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.embedded_auth_origins = vec![ORIGIN.into()]).await;
        let (_, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        let tx = input_value(&page.html, "tx").unwrap();
        // The transaction is bound to the browser's CSRF cookie, which the API caller lacks:
        // the same refusal (403) a page gives a form from another browser, where it was 400.
        let (s, body) = post(&app, &format!("/embedded-auth/v1/{tx}/sign-in"), ORIGIN, json!({"email": "a@b.c", "password": PASSWORD})).await;
        assert_eq!((s, body["error"].as_str()), (403, Some("forbidden")), "{body}");
        assert_eq!(body["error_description"], "The form is out of date or was not sent by this browser; reload the page and try again");
    }

    async fn an_embedded_sign_out_naming_an_unknown_client_is_401_as_at_the_token_endpoint(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.embedded_auth_origins = vec![ORIGIN.into()]).await;
        let (s, body) = post(&app, "/embedded-auth/v1/sign-out", ORIGIN, json!({"refreshToken": "r", "clientId": "no-such-client"})).await;
        assert_eq!((s, body["error"].as_str()), (401, Some("unauthorized")), "{body}");
        assert_eq!(body["error_description"], "No app found for this client_id");
    }

    async fn embedded_switch_org_lists_and_switches_the_users_organizations_once(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.embedded_auth_origins = vec![ORIGIN.into()];
            c.enable_org = true;
            c.allow_user_switch_org_on_sign_in = true;
        }).await;
        let root = app.admin_token("root").await;
        let mut org_ids = Vec::new();
        for (name, slug) in [("Acme", "acme"), ("Globex", "globex"), ("Initech", "initech")] {
            let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": name, "slug": slug}))).await;
            assert_eq!(status, 201, "{body}");
            org_ids.push(body["org"]["id"].as_i64().unwrap());
        }
        let (_, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;

        // Before anyone signed in, and before consent: the step is not owed.
        let fresh = initiate(&app, &client_id).await;
        let (s, _) = get(&app, &format!("/embedded-auth/v1/{fresh}/user-orgs")).await;
        assert_eq!(s, 400);
        let (s, _) = post(&app, &format!("/embedded-auth/v1/{fresh}/user-orgs"), ORIGIN, json!({"org": "acme"})).await;
        assert_eq!(s, 400);
        let (s, body) = post(&app, &format!("/embedded-auth/v1/{fresh}/sign-up"), ORIGIN, json!({"email": "early@example.com", "password": PASSWORD})).await;
        assert_eq!((s, body["nextStep"].as_str()), (200, Some("consent")), "{body}");
        // The consent screen gets each scope's whole record.
        let (s, consent) = get(&app, &format!("/embedded-auth/v1/{fresh}/app-consent")).await;
        assert_eq!(s, 200, "{consent}");
        let profile = consent["scopes"].as_array().unwrap().iter().find(|scope| scope["name"] == "profile").unwrap_or_else(|| panic!("{consent}"));
        assert!(profile["id"].is_i64() && profile["type"] == "spa" && profile["note"].is_string(), "{profile}");
        assert!(profile["createdAt"].is_string() && profile["updatedAt"].is_string() && profile["deletedAt"].is_null(), "{profile}");
        assert!(profile["locales"].is_array(), "{profile}");
        let (s, _) = post(&app, &format!("/embedded-auth/v1/{fresh}/user-orgs"), ORIGIN, json!({"org": "acme"})).await;
        assert_eq!(s, 400, "not before consent");

        let (session, auth_id) = member_at_switch_org(&app, &client_id, "member@example.com", &[org_ids[0], org_ids[1]]).await;
        let (s, orgs) = get(&app, &format!("/embedded-auth/v1/{session}/user-orgs")).await;
        assert_eq!(s, 200, "{orgs}");
        let slugs: Vec<&str> = orgs["orgs"].as_array().unwrap().iter().map(|o| o["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["acme", "globex"]);
        assert_eq!(orgs["orgs"][0]["name"], "Acme");
        assert!(orgs["orgs"][0]["id"].is_i64() && orgs["orgs"][0]["companyLogoUrl"].is_string(), "{orgs}");
        assert_eq!(orgs["activeOrgSlug"], "");

        // Another user's session, an unknown session, an org the user is not in: refused.
        let (other, _) = member_at_switch_org(&app, &client_id, "outsider@example.com", &[org_ids[2]]).await;
        assert_eq!(refusal(post(&app, &format!("/embedded-auth/v1/{other}/user-orgs"), ORIGIN, json!({"org": "acme"})).await), (404, "No organization found".into()));
        assert_eq!(refusal(get(&app, "/embedded-auth/v1/no-such-session/user-orgs").await), (404, "Invalid session id provided".into()));
        assert_eq!(refusal(post(&app, "/embedded-auth/v1/no-such-session/user-orgs", ORIGIN, json!({"org": "acme"})).await), (404, "Invalid session id provided".into()));
        for org in ["initech", "no-such-org"] {
            assert_eq!(refusal(post(&app, &format!("/embedded-auth/v1/{session}/user-orgs"), ORIGIN, json!({"org": org})).await), (404, "No organization found".into()));
        }
        let (s, _) = post(&app, &format!("/embedded-auth/v1/{session}/user-orgs"), ORIGIN, json!({})).await;
        assert_eq!(s, 400, "no org");
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_ne!(user["user"]["org"]["slug"], "initech", "{user}");

        let (s, body) = post(&app, &format!("/embedded-auth/v1/{session}/user-orgs"), ORIGIN, json!({"org": "globex"})).await;
        assert_eq!((s, body["success"].as_bool()), (200, Some(true)), "{body}");
        assert_eq!(body["sessionId"], session.as_str());
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_eq!(user["user"]["org"]["slug"], "globex", "{user}");
        // The step is passed once: a second switch is refused and changes nothing.
        let (s, body) = post(&app, &format!("/embedded-auth/v1/{session}/user-orgs"), ORIGIN, json!({"org": "acme"})).await;
        assert!(s == 400 || s == 404, "{s} {body}");
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_eq!(user["user"]["org"]["slug"], "globex", "{user}");
        let (s, tokens) = post(&app, "/embedded-auth/v1/token-exchange", ORIGIN, json!({"sessionId": session, "codeVerifier": VERIFIER})).await;
        assert_eq!(s, 200, "{tokens}");

        // Without the switch setting the route is off and sign-ins skip the step.
        let off = TestApp::spawn_with(backend, |c| {
            c.embedded_auth_origins = vec![ORIGIN.into()];
            c.enable_org = true;
        }).await;
        let (_, client_id, _) = create_app(&off, "Embedded", "spa", &[CB]).await;
        let session = initiate(&off, &client_id).await;
        assert_eq!(refusal(get(&off, &format!("/embedded-auth/v1/{session}/user-orgs")).await), (400, "Switch org is not enabled".into()));
        let (_, body) = post(&off, &format!("/embedded-auth/v1/{session}/sign-up"), ORIGIN, json!({"email": "plain@example.com", "password": PASSWORD})).await;
        let (_, body) = post(&off, &format!("/embedded-auth/v1/{}/app-consent", body["sessionId"].as_str().unwrap()), ORIGIN, json!({})).await;
        assert_eq!(body["success"], true, "{body}");
    }

    async fn embedded_app_banners_are_the_active_banners_of_the_sessions_app(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.embedded_auth_origins = vec![ORIGIN.into()];
            c.enable_app_banner = true;
        }).await;
        let root = app.admin_token("root").await;
        let (app_id, client_id, _) = create_app(&app, "Embedded", "spa", &[CB]).await;
        let (other_id, _, _) = create_app(&app, "Other", "spa", &[CB]).await;
        let banner = |kind: &'static str, text: &'static str, app_id: i64, active: bool| {
            let (app, root) = (&app, root.clone());
            async move {
                let (s, body) = call(app, "POST", "/api/v1/app-banners", &root, Some(json!({"type": kind, "text": text, "locales": [{"locale": "fr", "value": "Bonjour"}]}))).await;
                assert_eq!(s, 201, "{body}");
                let id = body["appBanner"]["id"].as_i64().unwrap();
                let (s, body) = call(app, "PUT", &format!("/api/v1/app-banners/{id}"), &root, Some(json!({"appIds": [app_id], "isActive": active}))).await;
                assert_eq!(s, 200, "{body}");
                id
            }
        };
        let shown = banner("info", "Welcome", app_id, true).await;
        banner("warning", "Switched off", app_id, false).await;
        banner("error", "Another app's", other_id, true).await;

        let session = initiate(&app, &client_id).await;
        let (s, body) = get(&app, &format!("/embedded-auth/v1/{session}/app-banners")).await;
        assert_eq!(s, 200, "{body}");
        let banners = body["banners"].as_array().unwrap();
        assert_eq!(banners.len(), 1, "{body}");
        let b = &banners[0];
        assert_eq!((b["id"].as_i64(), b["type"].as_str(), b["text"].as_str(), b["isActive"].as_bool()), (Some(shown), Some("info"), Some("Welcome"), Some(true)));
        assert_eq!(b["locales"], json!([{"locale": "fr", "value": "Bonjour"}]));
        assert!(b["createdAt"].is_string() && b["updatedAt"].is_string() && b["deletedAt"].is_null(), "{b}");

        assert_eq!(refusal(get(&app, "/embedded-auth/v1/no-such-session/app-banners").await), (404, "Invalid session id provided".into()));
        let off = TestApp::spawn_with(backend, |c| c.embedded_auth_origins = vec![ORIGIN.into()]).await;
        let (_, client_id, _) = create_app(&off, "Embedded", "spa", &[CB]).await;
        let session = initiate(&off, &client_id).await;
        assert_eq!(refusal(get(&off, &format!("/embedded-auth/v1/{session}/app-banners")).await), (400, "App banner is not enabled".into()));
    }

    async fn embedded_initiate_takes_spa_apps_only(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.embedded_auth_origins = vec![ORIGIN.into()]).await;
        let root = app.admin_token("root").await;
        let (_, web, _) = create_app(&app, "Web", "web", &[CB]).await;
        let (s, body) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({"name": "S2S", "type": "s2s", "scopes": ["read_user"], "redirectUris": []}))).await;
        assert_eq!(s, 201, "{body}");
        let s2s = body["app"]["clientId"].as_str().unwrap().to_owned();
        let start = |client_id: &str| json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid"], "locale": "en",
        });
        // A web app's session could never be exchanged: token-exchange takes no secret.
        for client_id in [web.as_str(), s2s.as_str()] {
            let answer = post(&app, "/embedded-auth/v1/initiate", ORIGIN, start(client_id)).await;
            assert_eq!(refusal(answer), (401, "A SPA request sent to a non-SPA app".into()), "{client_id}");
        }
        let answer = post(&app, "/embedded-auth/v1/initiate", ORIGIN, start("no-such-client")).await;
        assert_eq!(refusal(answer), (404, "No SPA app found".into()));
    }
}
