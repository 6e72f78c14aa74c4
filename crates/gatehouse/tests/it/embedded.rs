//! The embedded auth API: the same sign-in transaction as JSON.

use serde_json::{json, Value};

use crate::flow::{authorize_url, challenge, create_app, input_value, Browser, PASSWORD, VERIFIER};
use crate::harness::{backend_tests, jwt_part, post_from_origin, TestApp};

const ORIGIN: &str = "http://127.0.0.1:5173";
const CB: &str = "http://127.0.0.1:5173/cb";

async fn post(app: &TestApp, path: &str, origin: &str, body: Value) -> (u16, Value) {
    post_from_origin(app, path, origin, body).await
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
}
