//! The pages' language: refusals shown on a French or Chinese page speak that language, while
//! the JSON answers keep their English messages.

use serde_json::json;

use crate::flow::*;
use crate::harness::{backend_tests, TestApp};

const ORIGIN: &str = "http://127.0.0.1:5173";
const CB: &str = "http://127.0.0.1:5173/cb";

backend_tests! {
    async fn refusals_on_french_and_chinese_pages_speak_the_page_language(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.account_lockout_threshold = 3;
            c.embedded_auth_origins = vec![ORIGIN.into()];
        })
        .await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        sign_up(&Browser::new(&app), &authorize_url(&client_id, CB, &[]), "ada@example.com", CB).await;

        // A wrong password, asked for in French by `locale` and in Chinese by `ui_locales`.
        for (extra, shown) in [
            (("locale", "fr"), "Aucun utilisateur trouvé"),
            (("ui_locales", "zh-CN en"), "未找到该用户"),
        ] {
            let browser = Browser::new(&app);
            let wrong = sign_in(&browser, &authorize_url(&client_id, CB, &[extra]), "ada@example.com", "Wrong-passw0rd", CB).await;
            assert_eq!(wrong.status, 404, "{}", wrong.html);
            assert_eq!(error_text(&wrong.html), shown, "{extra:?}");
        }
        // The third wrong password locks the email for this IP: said in French too.
        let third = sign_in(&Browser::new(&app), &authorize_url(&client_id, CB, &[("locale", "fr")]), "ada@example.com", "Wrong-passw0rd", CB).await;
        assert_eq!(error_text(&third.html), "Aucun utilisateur trouvé");
        let locked = sign_in(&Browser::new(&app), &authorize_url(&client_id, CB, &[("locale", "fr")]), "ada@example.com", PASSWORD, CB).await;
        assert_eq!(locked.status, 400, "{}", locked.html);
        assert_eq!(error_text(&locked.html), "Compte temporairement bloqué après trop d’échecs de connexion");
        // English pages keep the messages the API gives.
        let english = sign_in(&Browser::new(&app), &authorize_url(&client_id, CB, &[("locale", "en")]), "ada@example.com", PASSWORD, CB).await;
        assert_eq!(error_text(&english.html), "Account temporarily locked due to excessive login failures");

        // The password rule on the French sign-up page.
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[("locale", "fr")])).await, CB).await;
        let tx = input_value(&page.html, "tx").unwrap();
        let form = browser.get(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        let fields = form_fields(&form.html, &[("email", "bob@example.com"), ("password", "weak"), ("first_name", "Bob"), ("last_name", "B")]);
        let weak = browser.post("/identity/v1/view/sign-up", &fields).await;
        assert_eq!(weak.status, 400, "{}", weak.html);
        assert!(error_text(&weak.html).starts_with("Le mot de passe doit comporter au moins 8 caractères"), "{}", weak.html);

        // The embedded API answers a French sign-in in English JSON.
        let initiate = json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "fr",
        });
        let body = reqwest::Client::new().post(app.url("/embedded-auth/v1/initiate")).header("Origin", ORIGIN).json(&initiate).send().await.unwrap();
        let session = body.json::<serde_json::Value>().await.unwrap()["sessionId"].as_str().unwrap().to_owned();
        let refused = reqwest::Client::new()
            .post(app.url(&format!("/embedded-auth/v1/{session}/sign-up")))
            .header("Origin", ORIGIN)
            .json(&json!({"email": "eve@example.com", "password": "weak"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 400);
        let body: serde_json::Value = refused.json().await.unwrap();
        assert!(body["error_description"].as_str().is_some_and(|d| d.starts_with("Password must be at least 8 characters")), "{body}");
    }
}
