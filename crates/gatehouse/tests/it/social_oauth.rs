//! GitHub and Discord sign-in against a local server that speaks their documented endpoints
//! (GitHub: `/login/oauth/authorize`, `/login/oauth/access_token`, `/user`, `/user/emails`;
//! Discord: `/oauth2/authorize`, `/api/oauth2/token`, `/api/users/@me`).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use gatehouse_server::config::{Config, Secret};
use serde_json::json;

use crate::federation::{sign_in_page, social_users, APP_CB};
use crate::flow::{
    challenge, create_app, error_text, finish_consent, hidden_fields, query_param, Browser,
};
use crate::harness::{backend_tests, basic, TestApp};

/// One token request: its `Authorization` header and its form.
type TokenRequest = (Option<String>, Vec<(String, String)>);
type Seen = Arc<Mutex<Vec<TokenRequest>>>;

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn record(seen: &Seen, headers: &HeaderMap, form: Vec<(String, String)>) -> String {
    let code = form
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    seen.lock().unwrap().push((
        headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned()),
        form,
    ));
    code
}

async fn github_token(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    // GitHub answers a bad code with 200 and an `error` field.
    match record(&seen, &headers, form).as_str() {
        "good" => Json(json!({"access_token": "gh-token", "token_type": "bearer", "scope": "read:user,user:email"})).into_response(),
        "revoked" => Json(json!({"access_token": "revoked-token", "token_type": "bearer"})).into_response(),
        _ => Json(json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})).into_response(),
    }
}

async fn github_user(headers: HeaderMap) -> Response {
    if bearer(&headers) != "Bearer gh-token" || headers.get("user-agent").is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        )
            .into_response();
    }
    Json(json!({"id": 583231, "login": "octocat", "name": "Mona Octocat"})).into_response()
}

async fn github_emails(headers: HeaderMap) -> Response {
    if bearer(&headers) != "Bearer gh-token" {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!([
        {"email": "old@github.example", "primary": false, "verified": true},
        {"email": "Mona@github.example", "primary": true, "verified": true},
    ]))
    .into_response()
}

async fn discord_token(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    match record(&seen, &headers, form).as_str() {
        "good" => Json(json!({"access_token": "dc-token", "token_type": "Bearer", "expires_in": 604800, "scope": "identify email"})).into_response(),
        _ => (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant"}))).into_response(),
    }
}

async fn discord_me(headers: HeaderMap) -> Response {
    if bearer(&headers) != "Bearer dc-token" {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"id": "80351110224678912", "username": "nelly", "global_name": "Nelly", "email": "nelly@discord.example", "verified": false})).into_response()
}

const FB_APP: &str = "138483919580948";

async fn facebook_debug_token(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    if q.get("access_token").map(String::as_str) != Some(&format!("{FB_APP}|fb-secret")) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "Invalid OAuth access token"}})),
        )
            .into_response();
    }
    let (app, valid) = match q.get("input_token").map(String::as_str) {
        Some("fb-user-token") => (FB_APP, true),
        Some("other-app-token") => ("999", true),
        _ => (FB_APP, false),
    };
    Json(json!({"data": {"app_id": app, "type": "USER", "is_valid": valid, "user_id": "10215"}}))
        .into_response()
}

async fn facebook_me(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    match q.get("access_token").map(String::as_str) {
        Some("fb-user-token" | "other-app-token") => Json(json!({"id": "10215", "email": "Fiona@fb.example", "first_name": "Fiona", "last_name": "Fern"})).into_response(),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// Starts the local provider; returns its base URL and the token requests it gets.
async fn start_provider() -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Seen::default();
    let router = Router::new()
        .route("/login/oauth/access_token", post(github_token))
        .route("/user", get(github_user))
        .route("/user/emails", get(github_emails))
        .route("/api/oauth2/token", post(discord_token))
        .route("/api/users/@me", get(discord_me))
        .route("/debug_token", get(facebook_debug_token))
        .route("/me", get(facebook_me))
        .with_state(Arc::clone(&seen));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, seen)
}

fn configure(config: &mut Config, base: &str) {
    config.github_auth_client_id = "gh-client".into();
    config.github_auth_client_secret = Secret::new("gh-secret");
    config.github_auth_url = base.into();
    config.github_api_url = base.into();
    config.discord_auth_client_id = "dc-client".into();
    config.discord_auth_client_secret = Secret::new("dc-secret");
    config.discord_api_url = base.into();
    config.facebook_auth_client_id = FB_APP.into();
    config.facebook_auth_client_secret = Secret::new("fb-secret");
    config.facebook_graph_url = base.into();
}

/// Presses the provider's button; returns the provider's authorization URL.
async fn press(browser: &Browser, page: &crate::flow::Page, slug: &str) -> String {
    let form = format!("social-{slug}-form");
    let path = format!("/identity/v1/view/authorize-social/{slug}");
    crate::flow::press_form(browser, page, &form, &path).await
}

backend_tests! {
    async fn facebook_tokens_are_checked_with_debug_token_before_sign_in(backend: Backend) {
        let (base, _) = start_provider().await;
        let app = TestApp::spawn_with(backend, |c| configure(c, &base)).await;
        let (_, client_id, _) = create_app(&app, "Social app", "spa", &[APP_CB]).await;
        let (browser, page) = sign_in_page(&app, &client_id).await;
        assert!(page.html.contains("facebook-button") && page.html.contains("Sign in with Facebook"), "{}", page.html);
        let post = |token: &str| {
            let mut fields: Vec<(String, String)> = hidden_fields(&page.html, "facebook-form", &[])
                .into_iter().filter(|(k, _)| k != "credential").collect();
            fields.push(("credential".into(), token.into()));
            let browser = &browser;
            async move { browser.post("/identity/v1/authorize-facebook", &fields).await }
        };
        let before = app.isolation.table_counts().await;
        for (token, words) in [
            ("", "The Facebook access token is missing"),
            ("expired-token", "Sign-in with Facebook failed: Facebook says the access token is not valid"),
            ("other-app-token", "Sign-in with Facebook failed: the access token was issued to another Facebook app"),
        ] {
            let refused = post(token).await;
            assert_eq!(refused.status, 400, "{token}: {}", refused.html);
            assert_eq!(error_text(&refused.html), words);
        }
        assert_eq!(app.isolation.table_counts().await, before);
        let accepted = post("fb-user-token").await;
        assert_eq!(accepted.status, 303, "{}", accepted.html);
        finish_consent(&browser, accepted, APP_CB).await;
        let users = social_users(&app).await;
        assert_eq!(users.len(), 1, "{users:?}");
        assert_eq!((&users[0]["socialAccountType"], &users[0]["socialAccountId"]), (&json!("Facebook"), &json!("10215")));
        assert_eq!((&users[0]["email"], &users[0]["firstName"]), (&json!("fiona@fb.example"), &json!("Fiona")));
    }

    async fn github_and_discord_sign_ins_make_one_user_per_provider_identity(backend: Backend) {
        let (base, seen) = start_provider().await;
        let app = TestApp::spawn_with(backend, |c| configure(c, &base)).await;
        let (_, client_id, _) = create_app(&app, "Social app", "spa", &[APP_CB]).await;
        for (slug, authorize_path, client, scope) in [
            ("github", "/login/oauth/authorize", "gh-client", "read:user user:email"),
            ("discord", "/oauth2/authorize", "dc-client", "identify email"),
        ] {
            let (browser, page) = sign_in_page(&app, &client_id).await;
            let upstream = press(&browser, &page, slug).await;
            assert!(upstream.starts_with(&format!("{base}{authorize_path}?")), "{upstream}");
            assert_eq!(query_param(&upstream, "client_id").unwrap(), client);
            assert_eq!(query_param(&upstream, "scope").unwrap(), scope);
            let callback = app.url(&format!("/identity/v1/authorize-{slug}"));
            assert_eq!(query_param(&upstream, "redirect_uri").unwrap(), callback);
            let state = query_param(&upstream, "state").unwrap();
            let back = browser.get(&format!("/identity/v1/authorize-{slug}?code=good&state={state}")).await;
            assert_eq!(back.status, 303, "{slug}: {}", back.html);
            let done = finish_consent(&browser, back, APP_CB).await;
            assert!(query_param(&done, "code").is_some(), "{done}");
            // The code went back with the PKCE verifier and the client's credentials.
            let (auth, form) = seen.lock().unwrap().last().cloned().unwrap();
            let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            assert_eq!(field("redirect_uri").as_deref(), Some(callback.as_str()));
            assert_eq!(challenge(&field("code_verifier").unwrap()), query_param(&upstream, "code_challenge").unwrap());
            if slug == "github" {
                assert_eq!((field("client_id").as_deref(), field("client_secret").as_deref()), (Some("gh-client"), Some("gh-secret")));
            } else {
                assert_eq!(auth.as_deref(), Some(basic("dc-client", "dc-secret").as_str()));
            }
            // The same state again is refused.
            let replay = browser.get(&format!("/identity/v1/authorize-{slug}?code=good&state={state}")).await;
            assert_eq!(replay.status, 404, "{slug}");
        }
        let users = social_users(&app).await;
        assert_eq!(users.len(), 2, "{users:?}");
        let github = users.iter().find(|u| u["socialAccountType"] == "GitHub").unwrap();
        assert_eq!(github["socialAccountId"], "583231");
        assert_eq!(github["email"], "mona@github.example");
        assert_eq!(github["emailVerified"], true);
        assert_eq!(github["firstName"], "Mona");
        let discord = users.iter().find(|u| u["socialAccountType"] == "Discord").unwrap();
        assert_eq!(discord["socialAccountId"], "80351110224678912");
        assert_eq!(discord["emailVerified"], false);

        // Signing in again through GitHub finds the same user.
        let (browser, page) = sign_in_page(&app, &client_id).await;
        let state = query_param(&press(&browser, &page, "github").await, "state").unwrap();
        let back = browser.get(&format!("/identity/v1/authorize-github?code=good&state={state}")).await;
        assert!(back.location.as_deref().unwrap_or_default().starts_with(APP_CB), "{:?}", back.location);
        assert_eq!(social_users(&app).await.len(), 2);
    }

    async fn refused_codes_tokens_and_states_change_nothing(backend: Backend) {
        let (base, _) = start_provider().await;
        let app = TestApp::spawn_with(backend, |c| configure(c, &base)).await;
        let (_, client_id, _) = create_app(&app, "Social app", "spa", &[APP_CB]).await;
        let before = app.isolation.table_counts().await;
        for (slug, code, words) in [
            ("github", "expired", "Sign-in with GitHub failed: the provider refused the code (`bad_verification_code`)"),
            ("github", "revoked", "Sign-in with GitHub failed: the provider did not accept its own access token"),
            ("discord", "expired", "Sign-in with Discord failed: the provider refused the code (`invalid_grant`)"),
        ] {
            let (browser, page) = sign_in_page(&app, &client_id).await;
            let state = query_param(&press(&browser, &page, slug).await, "state").unwrap();
            let back = browser.get(&format!("/identity/v1/authorize-{slug}?code={code}&state={state}")).await;
            assert_eq!(back.status, 400, "{slug} {code}: {}", back.html);
            assert_eq!(error_text(&back.html), words);
        }
        // A GitHub state at the Discord callback is not Discord's.
        let (browser, page) = sign_in_page(&app, &client_id).await;
        let state = query_param(&press(&browser, &page, "github").await, "state").unwrap();
        let crossed = browser.get(&format!("/identity/v1/authorize-discord?code=good&state={state}")).await;
        assert_eq!(crossed.status, 404, "{}", crossed.html);
        assert_eq!(app.isolation.table_counts().await, before);

        // Without its client id a provider shows no button and cannot be started.
        let bare = TestApp::spawn(backend).await;
        let (_, client_id, _) = create_app(&bare, "Plain app", "spa", &[APP_CB]).await;
        let (browser, page) = sign_in_page(&bare, &client_id).await;
        assert!(!page.html.contains("social-github"), "{}", page.html);
        let fields = hidden_fields(&page.html, "sign-in-form", &[]);
        let refused = browser.post("/identity/v1/view/authorize-social/github", &fields).await;
        assert_eq!(refused.status, 404);
        assert_eq!(error_text(&refused.html), "No sign-in provider is named `github`");
    }
}
