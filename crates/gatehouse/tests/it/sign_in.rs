//! Browser sign-in over HTTP: sign-up, consent, code exchange, tokens, userinfo, refresh,
//! single sign-on, logout, and the ways each can be refused.

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, basic, call, jwt_part, TestApp};

const SPA_CB: &str = "http://127.0.0.1:5173/Callback";
const WEB_CB: &str = "https://web.example/cb";

fn code_from(redirect: &str) -> String {
    assert_eq!(
        query_param(redirect, "state").as_deref(),
        Some("state-123"),
        "{redirect}"
    );
    query_param(redirect, "code").unwrap_or_else(|| panic!("no code in {redirect}"))
}

async fn userinfo(app: &TestApp, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(app.url("/oauth2/v1/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

backend_tests! {
    async fn sign_up_consent_and_tokens_for_a_spa(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_sign_in_log = true).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[SPA_CB]).await;
        let browser = Browser::new(&app);
        let redirect = sign_up(&browser, &authorize_url(&client_id, SPA_CB, &[]), "ada@example.com", SPA_CB).await;
        assert_eq!(query_param(&redirect, "iss").as_deref(), Some(app.url("").as_str()));
        let code = code_from(&redirect);
        // Melody's SDK sends no client_id: the code names the client.
        let (status, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", SPA_CB)]).await;
        assert_eq!(status, 200, "{tokens}");
        for field in ["access_token", "expires_in", "expires_on", "not_before", "token_type", "scope", "refresh_token", "refresh_token_expires_in", "refresh_token_expires_on", "id_token"] {
            assert!(!tokens[field].is_null(), "{field} missing: {tokens}");
        }
        let access = tokens["access_token"].as_str().unwrap();
        let claims = jwt_part(access, 1);
        assert_eq!(claims["azp"], client_id);
        assert!(claims["jti"].is_string() && claims["aud"].is_string());
        assert_eq!(claims["roles"], json!([]));
        let id = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(id["aud"], client_id);
        assert_eq!(id["nonce"], "nonce-456");
        assert_eq!(id["email"], "ada@example.com");
        assert_eq!(id["first_name"], "Ada");
        assert!(id["auth_time"].as_i64().unwrap() > 0 && id["at_hash"].as_str().unwrap().len() == 22);
        assert_eq!(id["sub"], claims["sub"]);

        let (status, me) = userinfo(&app, access).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["sub"], claims["sub"]);
        assert_eq!(me["authId"], claims["sub"]);
        assert_eq!(me["email"], "ada@example.com");
        assert_eq!(me["given_name"], "Ada");
        assert_eq!(me["firstName"], "Ada");
        assert_eq!(me["roles"], json!([]));
        assert_eq!(me["linkedAccount"], Value::Null);

        // Rotation is on by default: the old token is spent, its reuse ends the family.
        let first = tokens["refresh_token"].as_str().unwrap();
        let (status, rotated) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", first)]).await;
        assert_eq!(status, 200, "{rotated}");
        let second = rotated["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second, first);
        let (status, reuse) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", first)]).await;
        assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")));
        let (status, _) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", &second)]).await;
        assert_eq!(status, 400, "the whole family is revoked after a reuse");

        // The sign-in was counted and logged, off the request path.
        let token = app.admin_token("root").await;
        let mut logged = 0;
        for _ in 0..50 {
            let (_, logs) = call(&app, "GET", "/api/v1/logs/sign-in?page_size=10&page_number=1", &token, None).await;
            logged = logs["count"].as_i64().unwrap_or(0);
            if logged > 0 { break; }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(logged, 1);
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{}", claims["sub"].as_str().unwrap()), &token, None).await;
        assert_eq!(user["user"]["loginCount"], 1, "{user}");
    }

    async fn single_sign_on_is_silent_across_apps_and_prompt_none_needs_a_session(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, first, _) = create_app(&app, "First", "spa", &[SPA_CB]).await;
        let (_, second, _) = create_app(&app, "Second", "spa", &[SPA_CB]).await;
        let stranger = Browser::new(&app);
        let page = stranger.get(&authorize_url(&first, SPA_CB, &[("prompt", "none")])).await;
        let loc = page.location.unwrap();
        assert!(loc.starts_with(SPA_CB), "{loc}");
        assert_eq!(query_param(&loc, "error").as_deref(), Some("login_required"));
        assert_eq!(query_param(&loc, "state").as_deref(), Some("state-123"));

        let browser = Browser::new(&app);
        sign_up(&browser, &authorize_url(&first, SPA_CB, &[]), "sso@example.com", SPA_CB).await;
        // The second app only asks for consent; after that, no page at all.
        let page = browser.get(&authorize_url(&second, SPA_CB, &[("prompt", "none")])).await;
        assert_eq!(query_param(page.location.as_deref().unwrap(), "error").as_deref(), Some("consent_required"));
        let page = browser.get(&authorize_url(&second, SPA_CB, &[])).await;
        finish_consent(&browser, page, SPA_CB).await;
        let page = browser.get(&authorize_url(&second, SPA_CB, &[("prompt", "none")])).await;
        let code = code_from(page.location.as_deref().unwrap());
        let (status, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER), ("client_id", &second)]).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(jwt_part(tokens["id_token"].as_str().unwrap(), 1)["aud"], second);
        // prompt=login shows the sign-in page again.
        let page = browser.follow(browser.get(&authorize_url(&first, SPA_CB, &[("prompt", "login")])).await, SPA_CB).await;
        assert!(page.html.contains("sign-in-form"));

        // Logging out ends the browser session: the next authorize shows the sign-in page.
        let logout = browser.get(&format!("/oauth2/v1/logout?client_id={first}&post_logout_redirect_uri={}", urlencode(SPA_CB))).await;
        assert_eq!(logout.status, 302);
        assert_eq!(logout.location.as_deref(), Some(SPA_CB));
        let page = browser.get(&authorize_url(&first, SPA_CB, &[("prompt", "none")])).await;
        assert_eq!(query_param(page.location.as_deref().unwrap(), "error").as_deref(), Some("login_required"));
    }

    async fn browser_sessions_are_listed_and_ended_through_the_management_api(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[SPA_CB]).await;
        let browser = Browser::new(&app);
        let redirect = sign_up(&browser, &authorize_url(&client_id, SPA_CB, &[]), "sessions@example.com", SPA_CB).await;
        let code = code_from(&redirect);
        let (status, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER), ("client_id", &client_id)]).await;
        assert_eq!(status, 200, "{tokens}");
        let auth_id = jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sub"].as_str().unwrap().to_owned();
        let admin = app.admin_token("root").await;
        let path = format!("/api/v1/users/{auth_id}/active-sessions");
        let (status, listed) = call(&app, "GET", &path, &admin, None).await;
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["activeSessions"].as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed["activeSessions"][0]["clientId"], client_id.as_str());
        let browsers = listed["browserSessions"].as_array().unwrap();
        assert_eq!(browsers.len(), 1, "{listed}");
        assert_eq!(browsers[0]["authId"], auth_id.as_str());
        assert_eq!(browsers[0]["ipAddress"], "127.0.0.1");
        for field in ["signedInAt", "lastSeenAt", "expiredAt"] {
            assert!(browsers[0][field].as_str().is_some_and(|t| t.len() == 19), "{field}: {listed}");
        }
        let browser_session = browsers[0]["sessionId"].as_str().unwrap().to_owned();
        assert!(browser_session.starts_with("browser-"), "{browser_session}");

        // Ids that name nothing of this user's are 404 and end nothing.
        for wrong in ["browser-999999", "browser-x", "no-such-family"] {
            let (status, body) = call(&app, "DELETE", &format!("{path}/{wrong}"), &admin, None).await;
            assert_eq!(status, 404, "{wrong}: {body}");
        }
        let page = browser.get(&authorize_url(&client_id, SPA_CB, &[("prompt", "none")])).await;
        assert!(query_param(page.location.as_deref().unwrap(), "code").is_some(), "the session still signs in");

        // Ending the browser session: that browser must sign in again; the app's tokens live on.
        let (status, _) = call(&app, "DELETE", &format!("{path}/{browser_session}"), &admin, None).await;
        assert_eq!(status, 204);
        let page = browser.get(&authorize_url(&client_id, SPA_CB, &[("prompt", "none")])).await;
        assert_eq!(query_param(page.location.as_deref().unwrap(), "error").as_deref(), Some("login_required"));
        let (status, listed) = call(&app, "GET", &path, &admin, None).await;
        assert_eq!(status, 200);
        assert_eq!(listed["browserSessions"], json!([]));
        assert_eq!(listed["activeSessions"].as_array().unwrap().len(), 1);
        let (status, _) = call(&app, "DELETE", &format!("{path}/{browser_session}"), &admin, None).await;
        assert_eq!(status, 404, "ended twice");
    }

    async fn codes_are_bound_single_use_and_checked(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, spa, _) = create_app(&app, "Spa", "spa", &[SPA_CB]).await;
        let (_, other, _) = create_app(&app, "Other", "spa", &[SPA_CB]).await;
        let browser = Browser::new(&app);
        sign_up(&browser, &authorize_url(&spa, SPA_CB, &[]), "codes@example.com", SPA_CB).await;
        let fresh_code = || async {
            let page = browser.get(&authorize_url(&spa, SPA_CB, &[])).await;
            code_from(page.location.as_deref().unwrap())
        };
        let refused = |body: &Value| body["error"].as_str().map(str::to_owned);
        let code = fresh_code().await;
        let (s, b) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", "wrong-verifier-wrong-verifier-wrong-verifier-000")]).await;
        assert_eq!((s, refused(&b).as_deref()), (400, Some("invalid_grant")), "{b}");
        // A failed attempt spends the code.
        let (s, _) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER)]).await;
        assert_eq!(s, 400);
        let code = fresh_code().await;
        let (s, b) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB)]).await;
        assert_eq!((s, refused(&b).as_deref()), (400, Some("invalid_request")), "{b}");
        let code = fresh_code().await;
        let (s, b) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER), ("client_id", &other)]).await;
        assert_eq!((s, refused(&b).as_deref()), (400, Some("invalid_grant")), "{b}");
        let code = fresh_code().await;
        let (s, b) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", "http://127.0.0.1:5173/callback")]).await;
        assert_eq!((s, refused(&b).as_deref()), (400, Some("invalid_grant")), "{b}");

        // A replayed code revokes what its first use gave.
        let code = fresh_code().await;
        let (s, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER)]).await;
        assert_eq!(s, 200);
        let (s, _) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER)]).await;
        assert_eq!(s, 400);
        let (s, _) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await;
        assert_eq!(s, 400, "refresh token of a replayed code still works");
        let (s, _) = userinfo(&app, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(s, 401, "access token of a replayed code still works");
    }

    async fn bad_authorization_requests_are_shown_or_redirected(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (app_id, spa, _) = create_app(&app, "Spa", "spa", &[SPA_CB]).await;
        let browser = Browser::new(&app);
        // Unregistered redirect URIs (case, trailing slash, other host) are never redirected to.
        for uri in ["http://127.0.0.1:5173/callback", "http://127.0.0.1:5173/Callback/", "https://evil.example/Callback", "http://127.0.0.1:5173/Callback?x=1"] {
            let page = browser.get(&authorize_url(&spa, uri, &[])).await;
            assert_eq!(page.status, 401, "{uri}");
            assert!(page.location.is_none());
            assert!(page.html.contains("Invalid redirect_uri provided"));
        }
        let page = browser.get(&authorize_url("no-such-client", SPA_CB, &[])).await;
        assert_eq!(page.status, 404);
        // With a good redirect URI, errors go back to the client.
        let page = browser.get(&authorize_url(&spa, SPA_CB, &[("code_challenge_method", "plain")])).await;
        assert_eq!(query_param(page.location.as_deref().unwrap(), "error").as_deref(), Some("invalid_request"));
        let page = browser.get(&authorize_url(&spa, SPA_CB, &[("response_type", "token")])).await;
        assert_eq!(query_param(page.location.as_deref().unwrap(), "error").as_deref(), Some("unsupported_response_type"));
        // form_post answers with a self-submitting form.
        let page = browser.get(&authorize_url(&spa, SPA_CB, &[("response_type", "token"), ("response_mode", "form_post")])).await;
        assert_eq!(page.status, 200);
        assert!(page.html.contains("name=\"error\" value=\"unsupported_response_type\""), "{}", page.html);
        // A disabled app is refused on a page.
        let token = app.admin_token("root").await;
        let (s, _) = call(&app, "PUT", &format!("/api/v1/apps/{app_id}"), &token, Some(json!({"isActive": false}))).await;
        assert_eq!(s, 200);
        tokio::time::sleep(std::time::Duration::from_millis(5200)).await; // the client cache's TTL
        let page = browser.get(&authorize_url(&spa, SPA_CB, &[])).await;
        assert_eq!(page.status, 400);
        assert!(page.html.contains("disabled"));
    }

    async fn sign_in_refusals_csrf_lockout_and_disabled_users(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.account_lockout_threshold = 3).await;
        let (_, spa, _) = create_app(&app, "Spa", "spa", &[SPA_CB]).await;
        let first = Browser::new(&app);
        let redirect = sign_up(&first, &authorize_url(&spa, SPA_CB, &[]), "lock@example.com", SPA_CB).await;
        let code = code_from(&redirect);
        let (_, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER)]).await;
        let auth_id = jwt_part(tokens["access_token"].as_str().unwrap(), 1)["sub"].as_str().unwrap().to_owned();

        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&spa, SPA_CB, &[])).await, SPA_CB).await;
        // A tampered CSRF token is refused and nothing happens.
        let mut fields = form_fields(&page.html, &[("email", "lock@example.com"), ("password", PASSWORD)]);
        for f in fields.iter_mut().filter(|f| f.0 == "csrf_token") { f.1 = format!("{}x", f.1); }
        let refused = browser.post("/identity/v1/view/authorize", &fields).await;
        assert_eq!(refused.status, 403, "{}", refused.html);
        // Another browser cannot continue this transaction.
        let other = Browser::new(&app);
        let other_page = other.follow(other.get(&authorize_url(&spa, SPA_CB, &[])).await, SPA_CB).await;
        let mut stolen = form_fields(&page.html, &[("email", "lock@example.com"), ("password", PASSWORD)]);
        stolen.retain(|f| f.0 != "csrf_token");
        stolen.push(("csrf_token".into(), input_value(&other_page.html, "csrf_token").unwrap()));
        assert_eq!(other.post("/identity/v1/view/authorize", &stolen).await.status, 403);

        // Wrong passwords and unknown emails answer alike; the threshold locks the account.
        let wrong = sign_in(&browser, &authorize_url(&spa, SPA_CB, &[]), "lock@example.com", "Wrong-passw0rd", SPA_CB).await;
        assert_eq!(wrong.status, 404);
        assert!(wrong.html.contains("No user found"));
        let unknown = sign_in(&browser, &authorize_url(&spa, SPA_CB, &[]), "nobody@example.com", PASSWORD, SPA_CB).await;
        assert_eq!(unknown.status, 404);
        for _ in 0..2 {
            sign_in(&browser, &authorize_url(&spa, SPA_CB, &[]), "lock@example.com", "Wrong-passw0rd", SPA_CB).await;
        }
        let locked = sign_in(&browser, &authorize_url(&spa, SPA_CB, &[]), "lock@example.com", PASSWORD, SPA_CB).await;
        assert_eq!(locked.status, 400);
        assert!(locked.html.contains("Account temporarily locked"));
        let token = app.admin_token("root").await;
        let (s, _) = call(&app, "DELETE", &format!("/api/v1/users/{auth_id}/locked-ips"), &token, None).await;
        assert_eq!(s, 204);
        let ok = sign_in(&browser, &authorize_url(&spa, SPA_CB, &[]), "lock@example.com", PASSWORD, SPA_CB).await;
        assert!(ok.location.as_deref().is_some_and(|l| l.starts_with(SPA_CB)), "{}", ok.html);

        // A disabled user cannot sign in, and their refresh token stops working.
        let (s, _) = call(&app, "PUT", &format!("/api/v1/users/{auth_id}"), &token, Some(json!({"isActive": false}))).await;
        assert_eq!(s, 200);
        let fresh = Browser::new(&app);
        let page = sign_in(&fresh, &authorize_url(&spa, SPA_CB, &[]), "lock@example.com", PASSWORD, SPA_CB).await;
        assert_eq!(page.status, 400);
        assert!(page.html.contains("disabled account"));
        let (s, b) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())]).await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    }

    async fn confidential_web_apps_authenticate_and_codes_expire(backend: Backend) {
        // Three seconds: long enough for a sign-in and an exchange on a loaded machine.
        let app = TestApp::spawn_with(backend, |c| c.authorization_code_expires_in = 3).await;
        let (_, web, secret) = create_app(&app, "Web", "web", &[WEB_CB]).await;
        let secret = secret.expect("web apps get a secret");
        let browser = Browser::new(&app);
        // Web apps may skip PKCE; they must authenticate and send the redirect URI.
        let url = authorize_url(&web, WEB_CB, &[("code_challenge", ""), ("code_challenge_method", "")]);
        let code = code_from(&sign_up(&browser, &url, "web@example.com", WEB_CB).await);
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB_CB)];
        let (s, b) = exchange(&app, &form).await;
        assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")), "{b}");
        let wrong = reqwest::Client::new().post(app.url("/oauth2/v1/token")).header("Authorization", basic(&web, "nope")).form(&form).send().await.unwrap();
        assert_eq!(wrong.status(), 401);
        let code = code_from(browser.get(&url).await.location.as_deref().unwrap());
        let mut post = vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB_CB), ("client_id", web.as_str()), ("client_secret", secret.as_str())];
        let (s, tokens) = exchange(&app, &post).await;
        assert_eq!(s, 200, "{tokens}");
        // Revocation needs the same client authentication; then the refresh token is dead.
        let revoke = reqwest::Client::new().post(app.url("/oauth2/v1/revoke")).header("Authorization", basic(&web, &secret)).form(&[("token", tokens["refresh_token"].as_str().unwrap())]).send().await.unwrap();
        assert_eq!(revoke.status(), 200);
        assert!(revoke.headers().get("content-type").is_none());
        let (s, _) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap()), ("client_id", &web), ("client_secret", &secret)]).await;
        assert_eq!(s, 400);
        // An expired code is refused.
        let code = code_from(browser.get(&url).await.location.as_deref().unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
        post[1] = ("code", code.as_str());
        let (s, b) = exchange(&app, &post).await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")), "{b}");
    }

    async fn melody_logout_revokes_and_end_session_refuses_open_redirects(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (app_id, spa, _) = create_app(&app, "Spa", "spa", &[SPA_CB]).await;
        let token = app.admin_token("root").await;
        let (s, _) = call(&app, "PUT", &format!("/api/v1/apps/{app_id}"), &token, Some(json!({"rotateRefreshTokens": false}))).await;
        assert_eq!(s, 200);
        tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
        let browser = Browser::new(&app);
        let code = code_from(&sign_up(&browser, &authorize_url(&spa, SPA_CB, &[]), "out@example.com", SPA_CB).await);
        let (_, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER)]).await;
        let refresh = tokens["refresh_token"].as_str().unwrap();
        // Rotation off: the same refresh token keeps working, and no new one is handed out.
        for _ in 0..2 {
            let (s, b) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
            assert_eq!(s, 200, "{b}");
            assert!(b["refresh_token"].is_null());
        }
        let response = reqwest::Client::new()
            .post(app.url("/identity/v1/logout"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .form(&[("refresh_token", refresh), ("post_logout_redirect_uri", SPA_CB)])
            .send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], true);
        let target = body["redirectUri"].as_str().unwrap();
        assert!(target.starts_with(&app.url("/oauth2/v1/logout?post_logout_redirect_uri=")), "{target}");
        let (s, _) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!(s, 400);
        let done = browser.get(target).await;
        assert_eq!((done.status, done.location.as_deref()), (302, Some(SPA_CB)));
        for evil in ["https://evil.example/", "http://127.0.0.1:5173/Callback/../x"] {
            let page = browser.get(&format!("/oauth2/v1/logout?client_id={spa}&post_logout_redirect_uri={}", urlencode(evil))).await;
            assert_eq!(page.status, 400, "{evil}");
            assert!(page.location.is_none());
        }
    }

    async fn change_org_policy_switches_between_the_users_organizations(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_org = true;
            c.blocked_policies = Vec::new();
        })
        .await;
        let root = app.admin_token("root").await;
        let mut org_ids = Vec::new();
        for (name, slug) in [("Acme", "acme"), ("Globex", "globex"), ("Initech", "initech")] {
            let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": name, "slug": slug}))).await;
            assert_eq!(status, 201, "{body}");
            org_ids.push(body["org"]["id"].as_i64().unwrap());
        }
        let (_, client_id, _) = create_app(&app, "Org app", "spa", &[SPA_CB]).await;
        let browser = Browser::new(&app);
        let redirect = sign_up(&browser, &authorize_url(&client_id, SPA_CB, &[]), "orgs@example.com", SPA_CB).await;
        let code = code_from(&redirect);
        let (_, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER), ("client_id", &client_id)]).await;
        let auth_id = jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sub"].as_str().unwrap().to_owned();
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{auth_id}/orgs"), &root, Some(json!({"orgs": [org_ids[0], org_ids[1]]}))).await;
        assert_eq!(status, 200, "{body}");

        // The policy runs after sign-in (the session signs in silently) and lists the user's orgs.
        let (status, _) = call(&app, "PUT", &format!("/api/v1/orgs/{}", org_ids[1]), &root, Some(json!({"primaryButtonColor": "#00aa00"}))).await;
        assert_eq!(status, 200);
        let page = browser.follow(browser.get(&authorize_url(&client_id, SPA_CB, &[("policy", "change_org"), ("org", "globex")])).await, SPA_CB).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains("--primary:#00aa00"), "the policy page wears the org's branding");
        assert!(page.html.contains("policy-form") && page.html.contains("value=\"acme\"") && page.html.contains("value=\"globex\""), "{}", page.html);
        assert!(!page.html.contains("value=\"initech\""), "not a member of Initech");
        let refused = browser.post("/identity/v1/view/change-org", &form_fields(&page.html, &[("org", "initech")])).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_ne!(user["user"]["org"]["slug"], "initech", "a refused choice changed nothing");
        let done = browser.post("/identity/v1/view/change-org", &form_fields(&refused.html, &[("org", "globex")])).await;
        let loc = done.location.clone().unwrap_or_else(|| panic!("no redirect: {}", done.html));
        assert!(loc.starts_with(SPA_CB) && query_param(&loc, "code").is_some(), "{loc}");
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_eq!(user["user"]["org"]["slug"], "globex", "{user}");
    }

    async fn switch_org_on_sign_in_asks_members_which_organization_to_enter(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_org = true;
            c.allow_user_switch_org_on_sign_in = true;
        })
        .await;
        let root = app.admin_token("root").await;
        let mut org_ids = Vec::new();
        for (name, slug) in [("Acme", "acme"), ("Globex", "globex"), ("Initech", "initech")] {
            let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": name, "slug": slug}))).await;
            assert_eq!(status, 201, "{body}");
            org_ids.push(body["org"]["id"].as_i64().unwrap());
        }
        let (_, client_id, _) = create_app(&app, "Org app", "spa", &[SPA_CB]).await;
        // A user in no organization has nothing to choose and is not asked.
        let first = Browser::new(&app);
        let redirect = sign_up(&first, &authorize_url(&client_id, SPA_CB, &[]), "switch@example.com", SPA_CB).await;
        let (_, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code_from(&redirect)), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER), ("client_id", &client_id)]).await;
        let auth_id = jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sub"].as_str().unwrap().to_owned();
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{auth_id}/orgs"), &root, Some(json!({"orgs": [org_ids[0], org_ids[1]]}))).await;
        assert_eq!(status, 200, "{body}");

        // A member is asked at the end of the sign-in, and offered only their organizations.
        let browser = Browser::new(&app);
        let page = sign_in(&browser, &authorize_url(&client_id, SPA_CB, &[]), "switch@example.com", PASSWORD, SPA_CB).await;
        let page = browser.follow(page, SPA_CB).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains("/identity/v1/view/switch-org") && page.html.contains("value=\"acme\"") && page.html.contains("value=\"globex\""), "{}", page.html);
        assert!(!page.html.contains("value=\"initech\""), "not a member of Initech");
        // Another page's form cannot answer this step, nor can a foreign organization.
        let wrong_step = browser.post("/identity/v1/view/change-org", &form_fields(&page.html, &[("org", "acme")])).await;
        assert_ne!(wrong_step.location.as_deref().map(|l| l.starts_with(SPA_CB)), Some(true), "the change-org page did not finish the sign-in");
        let refused = browser.post("/identity/v1/view/switch-org", &form_fields(&page.html, &[("org", "initech")])).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_ne!(user["user"]["org"]["slug"], "initech", "a refused choice changed nothing");
        let done = browser.post("/identity/v1/view/switch-org", &form_fields(&refused.html, &[("org", "globex")])).await;
        let loc = done.location.clone().unwrap_or_else(|| panic!("no redirect: {}", done.html));
        assert!(loc.starts_with(SPA_CB) && query_param(&loc, "code").is_some(), "{loc}");
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_eq!(user["user"]["org"]["slug"], "globex", "{user}");
        // Posted again after the sign-in finished, the step is refused.
        let again = browser.post("/identity/v1/view/switch-org", &form_fields(&refused.html, &[("org", "acme")])).await;
        assert_ne!(again.status, 200, "{}", again.html);
        let (_, user) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &root, None).await;
        assert_eq!(user["user"]["org"]["slug"], "globex", "a replayed step changed nothing");
    }

    async fn root_impersonation_gives_an_admin_a_refresh_token_acting_as_the_user(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (spa_id, spa, _) = create_app(&app, "Panel", "spa", &[SPA_CB]).await;
        let (other_id, _, _) = create_app(&app, "Other", "spa", &[SPA_CB]).await;
        let (web_id, _, _) = create_app(&app, "Web", "web", &[WEB_CB]).await;
        // Two people sign up in the panel app: the admin and the user.
        let mut ids = Vec::new();
        let mut access = Vec::new();
        for email in ["admin@example.com", "user@example.com"] {
            let browser = Browser::new(&app);
            let redirect = sign_up(&browser, &authorize_url(&spa, SPA_CB, &[]), email, SPA_CB).await;
            let code = code_from(&redirect);
            let (_, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER), ("client_id", &spa)]).await;
            ids.push(jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sub"].as_str().unwrap().to_owned());
            access.push(tokens["access_token"].as_str().unwrap().to_owned());
        }
        let (admin, user) = (&ids[0], &ids[1]);
        let admin_token = access[0].as_str();
        let path = |app_id: i64| format!("/api/v1/users/{user}/impersonation/{app_id}");
        let body = |token: &str| Some(json!({"impersonatorToken": token}));

        let writer = app.admin_token("write_user").await;
        let (status, _) = call(&app, "POST", &path(spa_id), &writer, body(admin_token)).await;
        assert_eq!(status, 401, "root only");
        let refusals = [
            (path(spa_id), Some(json!({})), 400, "impersonatorToken is required for impersonation"),
            (path(spa_id), body("not-a-token"), 401, "Invalid access_token provided"),
            (path(spa_id), body(&root), 401, "Invalid access_token provided"),
            (path(spa_id), body(admin_token), 401, "Only super admin can impersonate other users"),
        ];
        for (route, request, want, message) in refusals {
            let (status, answer) = call(&app, "POST", &route, &root, request).await;
            assert_eq!((status, answer["error_description"].as_str()), (want, Some(message)), "{answer}");
        }
        let (status, _) = call(&app, "PUT", &format!("/api/v1/users/{admin}"), &root, Some(json!({"roles": ["super_admin"]}))).await;
        assert_eq!(status, 200);
        // The role counts from now on, even with the token minted before it was given.
        for (app_id, want, message) in [
            (web_id, 400, "Impersonate request sent to a non-SPA app"),
            (other_id, 401, "User consent required"),
            (999_999, 404, "No app found"),
        ] {
            let (status, answer) = call(&app, "POST", &path(app_id), &root, body(admin_token)).await;
            assert_eq!((status, answer["error_description"].as_str()), (want, Some(message)), "{answer}");
        }
        let (status, answer) = call(&app, "POST", &format!("/api/v1/users/nobody/impersonation/{spa_id}"), &root, body(admin_token)).await;
        assert_eq!(status, 404, "{answer}");

        let (status, granted) = call(&app, "POST", &path(spa_id), &root, body(admin_token)).await;
        assert_eq!(status, 200, "{granted}");
        assert_eq!(granted["refresh_token_expires_in"], 1800);
        let refresh = granted["refresh_token"].as_str().unwrap();
        let (status, tokens) = exchange(&app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!(status, 200, "{tokens}");
        let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
        assert_eq!((claims["sub"].as_str(), claims["impersonatedBy"].as_str()), (Some(user.as_str()), Some(admin.as_str())));
        assert_eq!(claims["scope"], "offline_access profile");
        let (_, sessions) = call(&app, "GET", &format!("/api/v1/users/{user}/active-sessions"), &root, None).await;
        assert!(sessions["activeSessions"].as_array().unwrap().iter().any(|s| s["impersonatedBy"] == admin.as_str()), "{sessions}");
    }

    async fn an_org_in_the_request_brands_the_pages(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_org = true;
            c.enable_user_attribute = true;
        })
        .await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        assert_eq!(status, 201, "{body}");
        let org_id = body["org"]["id"].as_i64().unwrap();
        let (status, body) = call(&app, "PUT", &format!("/api/v1/orgs/{org_id}"), &root, Some(json!({
            "primaryButtonColor": "#ff0000", "companyLogoUrl": "https://acme.example/logo.png",
            "termsLink": "https://acme.example/terms",
        }))).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = call(&app, "POST", "/api/v1/user-attributes", &root, Some(json!({"name": "team", "includeInSignUpForm": true}))).await;
        assert_eq!(status, 201, "{body}");
        let (_, client_id, _) = create_app(&app, "Branded", "spa", &[SPA_CB]).await;

        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, SPA_CB, &[("org", "acme")])).await, SPA_CB).await;
        assert!(page.html.contains("--primary:#ff0000") && page.html.contains("https://acme.example/logo.png"), "{}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let sign_up = browser.get(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        assert!(sign_up.html.contains("href=\"https://acme.example/terms\""), "{}", sign_up.html);
        assert_eq!(sign_up.html.matches("name=\"attribute.").count(), 1, "each attribute once");
        // Unknown orgs and requests without one keep the server's look.
        for extra in [&[("org", "nope")][..], &[]] {
            let page = browser.follow(browser.get(&authorize_url(&client_id, SPA_CB, extra)).await, SPA_CB).await;
            assert!(page.html.contains("--primary:#1f2937") && !page.html.contains("acme.example"), "{extra:?}");
        }
        // An org closed to public registration offers no sign-up and refuses one.
        let (status, _) = call(&app, "PUT", &format!("/api/v1/orgs/{org_id}"), &root, Some(json!({"allowPublicRegistration": false}))).await;
        assert_eq!(status, 200);
        let page = browser.follow(browser.get(&authorize_url(&client_id, SPA_CB, &[("org", "acme")])).await, SPA_CB).await;
        assert!(page.html.contains("sign-in-form") && !page.html.contains("sign-up-link"), "{}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let refused = browser.get(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        let fields = form_fields(&page.html, &[("email", "closed@example.com"), ("password", PASSWORD)]);
        let refused = browser.post("/identity/v1/view/sign-up", &fields).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        let (_, users) = call(&app, "GET", "/api/v1/users", &root, None).await;
        assert_eq!(users["users"].as_array().unwrap().len(), 0, "{users}");
    }

    async fn wrong_verifiers_beyond_the_threshold_lock_the_code_exchange(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.auth_code_verifier_threshold = Some(2)).await;
        let (_, client_id, _) = create_app(&app, "Locked", "spa", &[SPA_CB]).await;
        let browser = Browser::new(&app);
        let first = sign_up(&browser, &authorize_url(&client_id, SPA_CB, &[]), "verifier@example.com", SPA_CB).await;
        let mut code = code_from(&first);
        let wrong = "wrong-verifier-wrong-verifier-wrong-verifier-000";
        for attempt in 0..3 {
            let (status, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", wrong), ("client_id", &client_id)]).await;
            let want = if attempt < 2 { "Invalid code_verifier provided" } else { "Too many failed auth code verifier attempts. Please try again after 30 minutes." };
            assert_eq!((status, body["error_description"].as_str()), (400, Some(want)), "attempt {attempt}");
            // The signed-in browser gets the next code silently.
            let page = browser.get(&authorize_url(&client_id, SPA_CB, &[("prompt", "none")])).await;
            code = code_from(page.location.as_deref().unwrap());
        }
        // Even the right verifier is refused while the lock holds.
        let (status, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_CB), ("code_verifier", VERIFIER), ("client_id", &client_id)]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        assert!(body["error_description"].as_str().unwrap().starts_with("Too many failed"), "{body}");
    }

    async fn pages_speak_the_requested_language(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, spa, _) = create_app(&app, "Spa", "spa", &[SPA_CB]).await;
        let browser = Browser::new(&app);
        for (locale, lang, word) in [("zh-CN", "zh-CN", "登录"), ("fr", "fr", "Connexion"), ("en", "en", "Sign in"), ("zh", "zh-CN", "登录")] {
            let page = browser.follow(browser.get(&authorize_url(&spa, SPA_CB, &[("locale", locale)])).await, SPA_CB).await;
            assert!(page.html.contains(&format!("<html lang=\"{lang}\" dir=\"ltr\">")), "{locale}");
            assert!(page.html.contains(word), "{locale}");
            assert!(page.html.contains("name=\"csrf_token\""));
        }
    }
}
