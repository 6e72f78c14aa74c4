//! The pages' language: which one a sign-in speaks (`ui_locales`, `locale`, the language picked
//! on a page, `Accept-Language`), right-to-left layout, and refusals shown on a page in its
//! language while the JSON answers keep their English messages.

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

    async fn the_page_language_is_negotiated_and_a_picked_one_is_remembered(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let arabic = Browser::speaking(&app, "xx, ar;q=0.9, ja;q=0.5");
        let page = open_sign_in(&arabic, &client_id, &[]).await;
        assert_eq!(html_language(&page.html), ("ar".into(), "rtl".into()));
        // The request's own languages come first: `ui_locales`, then `locale`.
        let page = open_sign_in(&arabic, &client_id, &[("ui_locales", "xx de"), ("locale", "fr")]).await;
        assert_eq!(html_language(&page.html), ("de".into(), "ltr".into()));
        let page = open_sign_in(&arabic, &client_id, &[("locale", "fr")]).await;
        assert_eq!(html_language(&page.html), ("fr".into(), "ltr".into()));
        // Weights are honoured: Japanese outranks a lower Korean.
        let page = open_sign_in(&Browser::speaking(&app, "ko;q=0.2, ja;q=0.8"), &client_id, &[]).await;
        assert_eq!(html_language(&page.html).0, "ja");

        // Korean picked with a page's language link is remembered for the next sign-in.
        let page = open_sign_in(&arabic, &client_id, &[]).await;
        let tx = input_value(&page.html, "tx").unwrap();
        let picked = arabic.get(&format!("/identity/v1/view/authorize?tx={tx}&locale=ko&picked=1")).await;
        assert_eq!(html_language(&picked.html).0, "ko");
        let page = open_sign_in(&arabic, &client_id, &[]).await;
        assert_eq!(html_language(&page.html).0, "ko");
        // The app's own choice comes first, and is not remembered as the user's.
        let page = open_sign_in(&arabic, &client_id, &[("locale", "he")]).await;
        assert_eq!(html_language(&page.html), ("he".into(), "rtl".into()));
        // A language the server does not offer is never remembered, nor shown.
        let _ = arabic.get(&format!("/identity/v1/view/authorize?tx={tx}&locale=xx&picked=1")).await;
        let page = open_sign_in(&arabic, &client_id, &[]).await;
        assert_eq!(html_language(&page.html).0, "ko");
        // A forged cookie names nothing the server offers: the browser's own language is used.
        // (A fixed Cookie header hides the browser's other cookies, so only the first answer,
        // the redirect's target rendered from the authorize request, is read.)
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("cookie", "gh_locale=<script>".parse().unwrap());
        headers.insert("accept-language", "ja".parse().unwrap());
        let forged = Browser::with_headers(&app, headers);
        let page = forged.follow(forged.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        assert_eq!(html_language(&page.html).0, "ja");
        let page = open_sign_in(&Browser::speaking(&app, "tlh, *"), &client_id, &[]).await;
        assert_eq!(html_language(&page.html).0, "en");
    }
}

/// The sign-in page an authorization request with `extra` parameters leads to.
async fn open_sign_in(browser: &Browser, client_id: &str, extra: &[(&str, &str)]) -> Page {
    let url = authorize_url(client_id, CB, extra);
    let page = browser.follow(browser.get(&url).await, CB).await;
    assert_eq!(page.status, 200, "{}", page.html);
    page
}

/// The `lang` and `dir` of a page's `<html>` element.
fn html_language(html: &str) -> (String, String) {
    let start = html.find("<html").expect("an html element");
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    let attribute = |name: &str| {
        let at = tag
            .find(&format!("{name}=\""))
            .map(|i| i + name.len() + 2)?;
        Some(tag[at..at + tag[at..].find('"')?].to_owned())
    };
    (
        attribute("lang").unwrap_or_default(),
        attribute("dir").unwrap_or_default(),
    )
}

/// Arabic and Hebrew sign-in pages in Chromium lay out right to left, German left to right, and
/// a language picked on a page is remembered; screenshots in `test-artifacts/sign-in-<lang>.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_pages_in_chromium_speak_the_browsers_language() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let origin = crate::clients::app_origin();
    let redirect = format!("{origin}/cb");
    let (_, client_id, _) = create_app(&app, "Shop", "spa", &[&redirect]).await;
    crate::clients::run_client(
        "node",
        "languages.mjs",
        &[
            ("ISSUER", app.base.clone()),
            ("CLIENT_ID", client_id),
            ("REDIRECT_URI", redirect),
        ],
    )
    .await;
    let shots =
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-artifacts"));
    for lang in ["ar", "he", "de"] {
        let size = std::fs::metadata(shots.join(format!("sign-in-{lang}.png")))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size > 5_000, "screenshot sign-in-{lang} missing or blank");
    }
}
