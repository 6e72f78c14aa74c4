//! Attacks on the protocol edges, through the real HTTP interface: a code exchanged without
//! the redirect URI it was sent to, and a body `client_id` that contradicts HTTP Basic.

use serde_json::Value;

use crate::flow::*;
use crate::harness::{backend_tests, basic, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";
const VICTIM: &str = "victim@example.com";

/// A code for `client_id` at `redirect_uri`, from a browser already signed in.
async fn fresh_code(browser: &Browser, client_id: &str, redirect_uri: &str) -> String {
    let page = browser
        .get(&authorize_url(client_id, redirect_uri, &[]))
        .await;
    let redirect = finish_consent(browser, page, redirect_uri).await;
    query_param(&redirect, "code").unwrap_or_else(|| panic!("no code: {redirect}"))
}

backend_tests! {
    async fn a_code_is_exchanged_only_with_its_redirect_uri_and_one_client_identity(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, spa, _) = create_app(&app, "Spa", "spa", &[CB]).await;
        let (_, web, secret) = create_app(&app, "Web", "web", &[CB]).await;
        let secret = secret.unwrap();
        let browser = Browser::new(&app);
        sign_up(&browser, &authorize_url(&spa, CB, &[]), VICTIM, CB).await;

        // RFC 6749 §4.1.3: the authorization request had a redirect_uri, so the exchange needs it.
        let code = fresh_code(&browser, &spa, CB).await;
        let (s, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER)]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        let code = fresh_code(&browser, &spa, CB).await;
        let (s, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", "")]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        let code = fresh_code(&browser, &spa, CB).await;
        let (s, body) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", VERIFIER), ("redirect_uri", CB)]).await;
        assert_eq!(s, 200, "{body}");

        // RFC 6749 §2.3.1: a body client_id naming another client than HTTP Basic is refused.
        let token = |form: Vec<(&'static str, String)>| {
            let app = &app;
            let (web, secret) = (web.clone(), secret.clone());
            async move {
                let r = app.client.post(app.url("/oauth2/v1/token")).header("Authorization", basic(&web, &secret)).form(&form).send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            }
        };
        let code = fresh_code(&browser, &web, CB).await;
        let form = |code: &str, client_id: &str| vec![
            ("grant_type", "authorization_code".to_owned()), ("code", code.to_owned()), ("code_verifier", VERIFIER.to_owned()),
            ("redirect_uri", CB.to_owned()), ("client_id", client_id.to_owned()),
        ];
        let (s, body) = token(form(&code, &spa)).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        let (s, body) = token(vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", "x".to_owned()), ("client_id", spa.clone())]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        let (s, body) = token(vec![("grant_type", "client_credentials".to_owned()), ("client_id", spa.clone())]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
        // The same client in both places is fine.
        let code = fresh_code(&browser, &web, CB).await;
        let (s, body) = token(form(&code, &web)).await;
        assert_eq!(s, 200, "{body}");
    }
}
