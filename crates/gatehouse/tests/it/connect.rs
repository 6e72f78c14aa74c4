//! The ePass connect flow: apps made with `gatehouse connect-app`, `/connect/<app>` through the
//! sign-in pages, and the sauce opened with the seed's own recipes (PyCryptodome, WebCrypto).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, now, token_with, TestApp};

fn clients_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/clients"))
}

/// Runs `gatehouse connect-app …` on the test's storage; returns stdout.
fn connect_app(app: &TestApp, args: &[&str]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    let out = command
        .arg("connect-app")
        .args(args)
        .envs(app.isolation.env())
        .env("GATEHOUSE_ISSUER", &app.base)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn secret_of(output: &str) -> String {
    output.rsplit(' ').next().unwrap().trim().to_owned()
}

/// Opens a sauce with `program script`; `None` when it does not verify.
fn open(program: &str, script: &str, sauce: &str, secret: &str) -> Option<Value> {
    let out = Command::new(program)
        .arg(script)
        .current_dir(clients_dir())
        .env("SAUCE", sauce)
        .env("SECRET", secret)
        .output()
        .unwrap_or_else(|e| panic!("{program} {script}: {e}"));
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// Signs a new user up through `/connect/<name>`; the sauce handed to `landing`.
async fn sign_up_through(
    browser: &Browser,
    name: &str,
    shown: &str,
    email: &str,
    landing: &str,
) -> String {
    let origin = landing.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let page = browser
        .follow(browser.get(&format!("/connect/{name}")).await, &origin)
        .await;
    assert!(page.html.contains(shown), "{}", page.html);
    let tx = input_value(&page.html, "tx").unwrap();
    let fields = sign_up_form(browser, &tx, email, ADA_NAMES).await;
    let done = browser
        .follow(
            browser.post("/identity/v1/view/sign-up", &fields).await,
            &origin,
        )
        .await;
    let location = done
        .location
        .clone()
        .unwrap_or_else(|| panic!("{}", done.html));
    assert!(
        location.starts_with(&format!("{landing}?sauce=")),
        "{location}"
    );
    query_param(&location, "sauce").unwrap()
}

backend_tests! {
    async fn connect_signs_in_and_hands_a_sauce_the_apps_can_open(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (ok, out) = connect_app(&app, &["create", "shop", "--redirect-url", "https://shop.example/auth",
            "--display-name", "The Shop", "--redirect-pattern", r"https://shop\.example/(cart|account)"]);
        assert!(ok, "{out}");
        let secret = secret_of(&out);
        assert!(secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_alphanumeric()), "{out}");
        let (ok, out) = connect_app(&app, &["create", "blog", "--redirect-url", "https://blog.example/cb"]);
        assert!(ok, "{out}");
        let other_secret = secret_of(&out);
        for (args, expected) in [
            (vec!["create", "i", "--redirect-url", "https://x.example/"], "reserved"),
            (vec!["create", "Bad_Name", "--redirect-url", "https://x.example/"], "kebab-case"),
            (vec!["create", "shop", "--redirect-url", "https://x.example/"], "already exists"),
            (vec!["create", "x", "--redirect-url", "https://x.example/", "--redirect-pattern", "(unclosed"], "regular expression"),
        ] {
            let (ok, out) = connect_app(&app, &args);
            assert!(!ok && out.contains(expected), "{args:?}: {out}");
        }

        // The sign-in page names the app; after sign-up the browser lands on the app with a sauce.
        let browser = Browser::new(&app);
        let email = format!("connect.{backend:?}@example.com").to_lowercase();
        let sauce = sign_up_through(&browser, "shop", "The Shop", &email, "https://shop.example/auth").await;

        for (program, script) in [("python3", "epass_sauce.py"), ("node", "epass-sauce.mjs")] {
            let info = open(program, script, &sauce, &secret).unwrap_or_else(|| panic!("{script} could not open the sauce"));
            assert_eq!(info["username"], email.split('@').next().unwrap());
            assert_eq!(info["displayName"], "Ada Lovelace");
            assert_eq!(info["email"], email.as_str());
            assert!(info["userId"].as_i64().unwrap() > 0);
            assert!((now() - info["issueDate"].as_i64().unwrap()).abs() <= 5, "{info}");
            assert!(open(program, script, &sauce, &other_secret).is_none(), "{script}: app B's secret must not open app A's sauce");
        }

        // With a live session the next visit hands a fresh sauce at once; ?redirect= must match a pattern.
        let again = browser.get("/connect/shop?redirect=https://shop.example/cart").await;
        let landing = again.location.clone().unwrap_or_else(|| panic!("{}", again.html));
        assert!(landing.starts_with("https://shop.example/cart?sauce="), "{landing}");
        assert_ne!(query_param(&landing, "sauce").unwrap(), sauce, "a new sauce each time");
        for bad in ["https://good.example.evil.test", "https://shop.example/cart.evil.test", "https://shop.example/cartX", "https://evil.test/?https://shop.example/cart"] {
            let page = browser.get(&format!("/connect/shop?redirect={}", bad.replace('?', "%3F"))).await;
            assert_eq!(page.status, 400, "{bad}: {:?}", page.location);
            assert!(page.html.contains("not allowed"), "{bad}");
        }
        let unknown = browser.get("/connect/nope").await;
        assert_eq!(unknown.status, 404);

        // Deleting the app ends its flow.
        let (ok, out) = connect_app(&app, &["delete", "blog"]);
        assert!(ok, "{out}");
        let (ok, list) = connect_app(&app, &["list"]);
        assert!(ok && list.contains("shop") && !list.contains("blog"), "{list}");
        assert_eq!(browser.get("/connect/blog").await.status, 404);
    }
}

backend_tests! {
    async fn connect_apps_are_managed_through_the_api(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (status, made) = call(&app, "POST", "/api/v1/connect-apps", &root, Some(json!({
            "name": "forum", "redirectUrl": "https://forum.example/login", "displayName": "The Forum",
            "redirectPatterns": [r"https://forum\.example/t/[0-9]+"]
        }))).await;
        assert_eq!(status, 201, "{made}");
        let secret = made["secret"].as_str().unwrap().to_owned();
        assert!(secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_alphanumeric()), "{made}");
        assert_eq!(made["connectApp"]["signInUrl"], format!("{}/connect/forum", app.base));
        assert_eq!(made["connectApp"]["redirectPatterns"][0], r"https://forum\.example/t/[0-9]+");

        // The secret is never shown again.
        let (status, listed) = call(&app, "GET", "/api/v1/connect-apps", &root, None).await;
        assert_eq!(status, 200);
        assert_eq!(listed["connectApps"].as_array().unwrap().len(), 1);
        assert!(!listed.to_string().contains(&secret), "{listed}");
        let (status, one) = call(&app, "GET", "/api/v1/connect-apps/forum", &root, None).await;
        assert_eq!((status, one["connectApp"]["displayName"].as_str()), (200, Some("The Forum")));
        assert!(one["secret"].is_null());

        // Bad input: a clear 400 (or 409) and nothing made or changed.
        for (body, expected) in [
            (json!({"name": "Bad_Name", "redirectUrl": "https://x.example/"}), "kebab-case"),
            (json!({"name": "i", "redirectUrl": "https://x.example/"}), "reserved"),
            (json!({"name": "x", "redirectUrl": "x.example/cb"}), "absolute"),
            (json!({"name": "x", "redirectUrl": "https://x.example/#top"}), "absolute"),
            (json!({"name": "x", "redirectUrl": "https://x.example/", "redirectPatterns": ["(unclosed"]}), "regular expression"),
            (json!({"name": "x", "redirectUrl": "https://x.example/", "logoUrl": "javascript:alert(1)"}), "logo URL"),
            (json!({"name": "x", "redirectUrl": "https://x.example/", "redirectPatterns": vec!["https://x\\.example/a"; 21]}), "at most 20 redirect patterns"),
            (json!({"name": "x", "redirectUrl": "https://x.example/", "redirectPatterns": [" "]}), "between 1 and 500 characters"),
            (json!({"name": "x", "redirectUrl": "https://x.example/", "secret": "mine"}), "unknown field"),
            (json!({"redirectUrl": "https://x.example/"}), "name"),
        ] {
            let (status, body) = call(&app, "POST", "/api/v1/connect-apps", &root, Some(body.clone())).await;
            assert_eq!(status, 400, "{body}");
            assert!(body["error_description"].as_str().unwrap().contains(expected), "{expected}: {body}");
        }
        let (status, body) = call(&app, "POST", "/api/v1/connect-apps", &root, Some(json!({"name": "forum", "redirectUrl": "https://x.example/"}))).await;
        assert_eq!(status, 409, "{body}");
        let (status, body) = call(&app, "PUT", "/api/v1/connect-apps/forum", &root, Some(json!({"redirectUrl": "nope", "displayName": "Changed"}))).await;
        assert_eq!(status, 400, "{body}");
        let (_, listed) = call(&app, "GET", "/api/v1/connect-apps", &root, None).await;
        assert_eq!(listed["connectApps"].as_array().unwrap().len(), 1);
        assert_eq!(listed["connectApps"][0]["displayName"], "The Forum", "a refused update changes nothing");
        assert_eq!(call(&app, "PUT", "/api/v1/connect-apps/nope", &root, Some(json!({}))).await.0, 404);

        // Scopes: reading needs read_app, changing write_app.
        let user_reader = token_with(&app, &root, &["read_user"]).await;
        for (method, path) in [("GET", "/api/v1/connect-apps"), ("GET", "/api/v1/connect-apps/forum"), ("POST", "/api/v1/connect-apps"),
            ("PUT", "/api/v1/connect-apps/forum"), ("POST", "/api/v1/connect-apps/forum/secret"), ("DELETE", "/api/v1/connect-apps/forum")] {
            let (status, body) = call(&app, method, path, &user_reader, Some(json!({}))).await;
            assert_eq!(status, 401, "{method} {path}: {body}");
        }
        let app_reader = token_with(&app, &root, &["read_app"]).await;
        assert_eq!(call(&app, "GET", "/api/v1/connect-apps", &app_reader, None).await.0, 200);
        assert_eq!(call(&app, "DELETE", "/api/v1/connect-apps/forum", &app_reader, None).await.0, 401);

        // The app made through the API works, and an update takes effect.
        let (status, body) = call(&app, "PUT", "/api/v1/connect-apps/forum", &root, Some(json!({
            "displayName": "Forum Two", "redirectPatterns": [r"https://forum\.example/u/[a-z]+"]
        }))).await;
        assert_eq!(status, 200, "{body}");
        let browser = Browser::new(&app);
        let email = format!("forum.{backend:?}@example.com").to_lowercase();
        let sauce = sign_up_through(&browser, "forum", "Forum Two", &email, "https://forum.example/login").await;
        let info = open("python3", "epass_sauce.py", &sauce, &secret).expect("the API's secret opens the sauce");
        assert_eq!(info["email"], email.as_str());
        assert_eq!(browser.get("/connect/forum?redirect=https://forum.example/t/1").await.status, 400, "the old pattern is gone");
        let moved = browser.get("/connect/forum?redirect=https://forum.example/u/ada").await;
        assert!(moved.location.as_deref().unwrap_or_default().starts_with("https://forum.example/u/ada?sauce="), "{:?}", moved.location);

        // A new secret: the old one no longer opens what is handed out.
        let (status, rotated) = call(&app, "POST", "/api/v1/connect-apps/forum/secret", &root, None).await;
        assert_eq!(status, 200, "{rotated}");
        let new_secret = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        let again = browser.get("/connect/forum").await;
        let fresh = query_param(again.location.as_deref().unwrap(), "sauce").unwrap();
        assert!(open("python3", "epass_sauce.py", &fresh, &secret).is_none());
        assert!(open("python3", "epass_sauce.py", &fresh, &new_secret).is_some());

        // Switched off, then deleted: the flow is gone.
        let (status, _) = call(&app, "PUT", "/api/v1/connect-apps/forum", &root, Some(json!({"isActive": false}))).await;
        assert_eq!(status, 200);
        assert_eq!(browser.get("/connect/forum").await.status, 404);
        assert_eq!(call(&app, "DELETE", "/api/v1/connect-apps/forum", &root, None).await.0, 204);
        assert_eq!(call(&app, "DELETE", "/api/v1/connect-apps/forum", &root, None).await.0, 404);
        assert_eq!(call(&app, "GET", "/api/v1/connect-apps/forum", &root, None).await.0, 404);
    }
}

/// The text of the element with `id` (up to its closing tag).
fn element_text(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id}: {html}"));
    let rest = &html[start + id.len() + 6..];
    rest[..rest.find('<').unwrap()].to_owned()
}

backend_tests! {
    async fn connect_apps_are_managed_in_the_admin_panel(backend: Backend) {
        use crate::admin::{panel_browser, set_up_admin, ADMIN_EMAIL};
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (panel, _) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        let page = panel.get("/admin/connect-apps").await;
        assert_eq!(page.status, 200, "{}", page.html);
        let form = |extra: &[(&str, &str)]| hidden_fields(&page.html, "create-connect-app-form", extra);

        // Refused input shows the service's reason and makes nothing.
        for (fields, expected) in [
            (vec![("name", "Wiki"), ("redirect_url", "https://wiki.example/cb")], "kebab-case"),
            (vec![("name", "wiki"), ("redirect_url", "wiki.example/cb")], "absolute"),
            (vec![("name", "wiki"), ("redirect_url", "https://wiki.example/cb"), ("redirect_patterns", "(open")], "regular expression"),
        ] {
            let refused = panel.post("/admin/connect-apps", &form(&fields)).await;
            assert_eq!(refused.status, 400, "{}", refused.html);
            assert!(unescape(&refused.html).contains(expected), "{expected}: {}", refused.html);
        }
        assert!(!panel.get("/admin/connect-apps").await.html.contains("connect-app-link"));

        let made = panel.post("/admin/connect-apps", &form(&[("name", "wiki"), ("redirect_url", "https://wiki.example/cb"),
            ("display_name", "The Wiki"), ("redirect_patterns", "https://wiki\\.example/page/[a-z]+\n\n")])).await;
        assert_eq!(made.status, 200, "{}", made.html);
        let secret = element_text(&made.html, "connect-secret");
        assert_eq!(secret.len(), 32, "{}", made.html);
        assert_eq!(element_text(&made.html, "connect-sign-in-url"), format!("{}/connect/wiki", app.base));
        let shown = panel.get("/admin/connect-apps/wiki").await;
        assert!(!shown.html.contains(&secret), "the secret is shown once");
        assert!(panel.get("/admin/connect-apps").await.html.contains("The Wiki"));

        // The panel's secret opens the sauce; an edit takes effect.
        let edit = |html: &str, extra: &[(&str, &str)]| hidden_fields(html, "connect-app-form", extra);
        let saved = panel.post("/admin/connect-apps/wiki", &edit(&shown.html, &[("redirect_url", "https://wiki.example/login"),
            ("display_name", "Wiki Two"), ("redirect_patterns", ""), ("is_active", "on")])).await;
        assert_eq!(saved.status, 303, "{}", saved.html);
        let user = Browser::new(&app);
        let email = format!("wiki.{backend:?}@example.com").to_lowercase();
        let sauce = sign_up_through(&user, "wiki", "Wiki Two", &email, "https://wiki.example/login").await;
        assert!(open("python3", "epass_sauce.py", &sauce, &secret).is_some());
        assert_eq!(user.get("/connect/wiki?redirect=https://wiki.example/page/home").await.status, 400, "the patterns were cleared");

        // A new secret replaces the old one at once.
        let shown = panel.get("/admin/connect-apps/wiki").await;
        let csrf = input_value(&shown.html, "csrf_token").unwrap();
        let rotated = panel.post("/admin/connect-apps/wiki/secret", &[("csrf_token".into(), csrf.clone())]).await;
        assert_eq!(rotated.status, 200, "{}", rotated.html);
        let new_secret = element_text(&rotated.html, "connect-secret");
        let fresh = query_param(user.get("/connect/wiki").await.location.as_deref().unwrap(), "sauce").unwrap();
        assert!(open("python3", "epass_sauce.py", &fresh, &secret).is_none());
        assert!(open("python3", "epass_sauce.py", &fresh, &new_secret).is_some());

        // Without the session's CSRF token nothing changes; with it, the app is deleted.
        let forged = panel.post("/admin/connect-apps/wiki/delete", &[("csrf_token".into(), "forged".into())]).await;
        assert_eq!(forged.status, 403, "{}", forged.html);
        let still = user.get("/connect/wiki").await;
        assert!(still.location.as_deref().unwrap_or_default().starts_with("https://wiki.example/login?sauce="), "{:?}", still.location);
        let deleted = panel.post("/admin/connect-apps/wiki/delete", &[("csrf_token".into(), csrf)]).await;
        assert_eq!(deleted.status, 303, "{}", deleted.html);
        assert_eq!(user.get("/connect/wiki").await.status, 404);
        assert_eq!(panel.get("/admin/connect-apps/wiki").await.status, 404);
    }
}
