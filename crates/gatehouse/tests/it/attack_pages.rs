//! Attacks on what the sign-in pages render and where they send the browser: organization
//! branding that injects CSS, stylesheets or `javascript:` links (with only `write_org`), a page
//! policy that lets any https stylesheet in, and redirect URIs of any scheme.

use serde_json::{json, Value};

use crate::admin::{panel_browser, set_up_admin, ADMIN_EMAIL};
use crate::flow::{authorize_url, create_app, input_value, Browser, PASSWORD};
use crate::harness::{backend_tests, call, token_with, TestApp};

const CB: &str = "https://app.example/cb";

/// Each payload an org writer tried, with the field the refusal must name.
const BRANDING_ATTACKS: &[(&str, &str)] = &[
    ("fontFamily", "x}body{background:url(//attacker.example/c)"),
    ("fontFamily", "Arial</style><script>alert(1)</script>"),
    ("layoutColor", "red}*{display:none}"),
    ("labelColor", "red;background:url(//attacker.example/c)"),
    ("primaryButtonColor", "url(//attacker.example/c)"),
    ("criticalIndicatorColor", "expression(alert(1))"),
    ("fontUrl", "https://attacker.example/steal.css"),
    ("fontUrl", "http://fonts.googleapis.com/css2?family=Inter"),
    ("fontUrl", "data:text/css,body{display:none}"),
    ("termsLink", "javascript:alert(document.domain)"),
    (
        "privacyPolicyLink",
        "data:text/html,<script>alert(1)</script>",
    ),
    ("companyLogoUrl", "javascript:alert(1)"),
    ("termsLink", "http://attacker.example/terms"),
];

/// Redirect URIs no app may register, as written and as the refusal must quote them.
const REDIRECT_ATTACKS: &[&str] = &[
    "javascript:alert(document.cookie)",
    "JavaScript://app.example/%0aalert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "myapp:/cb",
    "http://app.example/cb",
    "https://app.example/cb#frag",
    "https://user:pass@app.example/cb",
    "/relative/cb",
];

/// Redirect URIs an app may register: https, loopback http (RFC 8252 §7.3) and private-use
/// schemes with a dot (§7.1).
const REDIRECT_ACCEPTED: &[&str] = &[
    "https://app.example/cb",
    "http://127.0.0.1:5173/cb",
    "http://localhost:3000/cb",
    "http://[::1]:8080/cb",
    "com.example.app:/cb",
];

/// An org server with one org `acme`; returns the app, a `write_org`-only token and the org id.
async fn org_server(
    backend: crate::harness::Backend,
    adjust: impl FnOnce(&mut gatehouse_server::config::Config),
) -> (TestApp, String, i64) {
    let app = TestApp::spawn_with(backend, |c| {
        c.enable_org = true;
        adjust(c);
    })
    .await;
    let root = app.admin_token("root").await;
    let (status, body) = call(
        &app,
        "POST",
        "/api/v1/orgs",
        &root,
        Some(json!({"name": "Acme", "slug": "acme"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["org"]["id"].as_i64().unwrap();
    let writer = token_with(&app, &root, &["write_org"]).await;
    (app, writer, id)
}

/// The page at the end of `url`'s redirects, with its Content-Security-Policy.
async fn page_with_policy(browser: &Browser, url: &str) -> (String, String) {
    let mut url = url.to_owned();
    for _ in 0..10 {
        if url.starts_with('/') {
            url = format!("{}{url}", browser.base);
        }
        let response = browser.http.get(&url).send().await.unwrap();
        if response.status().is_redirection() {
            url = response.headers()["location"].to_str().unwrap().to_owned();
            continue;
        }
        assert_eq!(response.status(), 200, "{url}");
        let policy = response
            .headers()
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        return (response.text().await.unwrap(), policy);
    }
    panic!("too many redirects");
}

/// The sources one directive of a policy lists.
fn directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
    policy
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .map(|rest| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// The sign-in page (with the org's branding) and the sign-up page of one sign-in.
async fn branded_pages(app: &TestApp, client_id: &str) -> (String, String, String) {
    let browser = Browser::new(app);
    let (sign_in, policy) =
        page_with_policy(&browser, &authorize_url(client_id, CB, &[("org", "acme")])).await;
    let tx = input_value(&sign_in, "tx").unwrap();
    let (sign_up, _) =
        page_with_policy(&browser, &format!("/identity/v1/view/sign-up?tx={tx}")).await;
    (sign_in, sign_up, policy)
}

fn assert_nothing_injected(html: &str) {
    for raw in [
        "attacker.example",
        "display:none",
        "javascript:",
        "data:text",
        "</style><",
    ] {
        assert!(!html.contains(raw), "`{raw}` rendered: {html}");
    }
}

backend_tests! {
    async fn branding_injections_are_refused_through_the_api(backend: Backend) {
        let (app, writer, id) = org_server(backend, |_| {}).await;
        let before: Value = call(&app, "GET", &format!("/api/v1/orgs/{id}"), &writer, None).await.1;
        for (field, payload) in BRANDING_ATTACKS {
            let (status, body) = call(&app, "PUT", &format!("/api/v1/orgs/{id}"), &writer, Some(json!({ *field: payload }))).await;
            assert_eq!(status, 400, "{field} = {payload}: {body}");
            let message = body["error_description"].as_str().unwrap();
            assert!(message.starts_with(field), "the refusal names {field}: {message}");
        }
        let after: Value = call(&app, "GET", &format!("/api/v1/orgs/{id}"), &writer, None).await.1;
        assert_eq!(before, after, "nothing changed");

        // Ordinary branding is still accepted, and "" gives a field back to the server.
        let good = json!({
            "layoutColor": "#112233", "labelColor": "rgb(10, 20, 30)", "primaryButtonColor": "teal",
            "secondaryButtonColor": "hsl(120deg 50% 50%)", "fontFamily": "\"Open Sans\", sans-serif",
            "fontUrl": "https://fonts.googleapis.com/css2?family=Open+Sans",
            "termsLink": "https://acme.example/terms", "privacyPolicyLink": "http://localhost:8080/privacy",
            "companyLogoUrl": "https://acme.example/logo.png", "criticalIndicatorColor": "",
        });
        let (status, body) = call(&app, "PUT", &format!("/api/v1/orgs/{id}"), &writer, Some(good)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["org"]["fontFamily"], "\"Open Sans\", sans-serif");
        assert_eq!(body["org"]["labelColor"], "rgb(10, 20, 30)");
    }

    async fn branding_injections_are_refused_through_the_admin_panel(backend: Backend) {
        let (app, _, id) = org_server(backend, |_| {}).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (browser, dashboard) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        let page = browser.get(&format!("/admin/orgs/{id}")).await;
        let token = input_value(&page.html, "csrf_token").unwrap();
        let form_field = |api: &str| {
            let mut snake = String::new();
            for c in api.chars() {
                if c.is_ascii_uppercase() {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            snake
        };
        for (field, payload) in BRANDING_ATTACKS {
            let form = vec![
                ("csrf_token".to_owned(), token.clone()),
                ("name".to_owned(), "Acme".to_owned()),
                ("slug".to_owned(), "acme".to_owned()),
                (form_field(field), (*payload).to_owned()),
            ];
            let refused = browser.post(&format!("/admin/orgs/{id}"), &form).await;
            assert_eq!(refused.status, 400, "{field} = {payload}: {}", refused.html);
            assert!(refused.html.contains(field), "the refusal names {field}: {}", refused.html);
        }
        let page = browser.get(&format!("/admin/orgs/{id}")).await;
        assert_nothing_injected(&page.html);
    }

    async fn stored_bad_branding_renders_as_the_server_default(backend: Backend) {
        let (app, _, _) = org_server(backend, |_| {}).await;
        let (_, client_id, _) = create_app(&app, "Branded", "spa", &[CB]).await;
        // Written before validation existed (or by an import): straight into the table.
        for (column, value) in [
            ("font_family", "x}body{background:url(//attacker.example/c)"),
            ("font_url", "https://attacker.example/steal.css"),
            ("layout_color", "red}*{display:none}"),
            ("label_color", "red}</style><i>"),
            ("terms_link", "javascript:alert(document.domain)"),
            ("privacy_policy_link", "data:text/html,<script>alert(1)</script>"),
            ("company_logo_url", "javascript:alert(1)"),
        ] {
            app.isolation.execute(&format!("UPDATE orgs SET {column} = $1 WHERE slug = 'acme'"), value).await;
        }
        let (sign_in, sign_up, policy) = branded_pages(&app, &client_id).await;
        assert_nothing_injected(&sign_in);
        assert_nothing_injected(&sign_up);
        assert!(!policy.contains("attacker.example"), "{policy}");
        assert!(sign_in.contains("--layout:#f4f6f8") && sign_in.contains("font-family:system-ui, sans-serif"), "{sign_in}");
        let admin_view = call(&app, "GET", "/api/v1/orgs", &app.admin_token("root").await, None).await.1;
        assert_eq!(admin_view["orgs"][0]["layoutColor"], "red}*{display:none}", "the stored value is left for the operator to see");
    }

    async fn the_page_policy_allows_styles_and_fonts_only_from_the_font_host(backend: Backend) {
        // No font stylesheet: inline styles only, no font host at all.
        let app = TestApp::spawn(backend).await;
        let (_, client_id, _) = create_app(&app, "Plain", "spa", &[CB]).await;
        let (_, policy) = page_with_policy(&Browser::new(&app), &authorize_url(&client_id, CB, &[])).await;
        assert_eq!(directive(&policy, "style-src"), ["'unsafe-inline'"], "{policy}");
        for name in ["style-src", "font-src", "default-src"] {
            assert!(!directive(&policy, name).contains(&"https:"), "no blanket https: source for {name}: {policy}");
        }
        assert!(directive(&policy, "font-src").iter().all(|s| *s == "'none'"), "{policy}");

        // The server's font: its origin for the stylesheet, it and the font hosts for font files.
        let (app, writer, id) = org_server(backend, |c| c.font_url = "https://fonts.example.net/css?family=Inter".into()).await;
        let (_, client_id, _) = create_app(&app, "Fonts", "spa", &[CB]).await;
        let (html, policy) = page_with_policy(&Browser::new(&app), &authorize_url(&client_id, CB, &[])).await;
        assert!(html.contains("href=\"https://fonts.example.net/css?family=Inter\""), "{html}");
        assert_eq!(directive(&policy, "style-src"), ["'unsafe-inline'", "https://fonts.example.net"], "{policy}");
        let fonts = directive(&policy, "font-src");
        assert!(fonts.contains(&"https://fonts.example.net") && fonts.contains(&"https://fonts.gstatic.com"), "{policy}");
        assert!(!fonts.contains(&"https:"), "{policy}");

        // An org's font from an allowed host replaces it, in the page and in the policy.
        let (status, body) = call(&app, "PUT", &format!("/api/v1/orgs/{id}"), &writer, Some(json!({"fontUrl": "https://fonts.googleapis.com/css2?family=Lato"}))).await;
        assert_eq!(status, 200, "{body}");
        let (sign_in, _, policy) = branded_pages(&app, &client_id).await;
        assert!(sign_in.contains("https://fonts.googleapis.com/css2?family=Lato") && !sign_in.contains("fonts.example.net/css"), "{sign_in}");
        assert_eq!(directive(&policy, "style-src"), ["'unsafe-inline'", "https://fonts.googleapis.com"], "{policy}");
    }

    async fn redirect_uris_of_dangerous_schemes_are_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (status, made) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "Native and web", "type": "spa", "scopes": ["openid"], "redirectUris": REDIRECT_ACCEPTED,
        }))).await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["app"]["redirectUris"], json!(REDIRECT_ACCEPTED));
        let id = made["app"]["id"].as_i64().unwrap();
        let before = app.isolation.table_counts().await;
        for uri in REDIRECT_ATTACKS {
            let (status, body) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
                "name": "Evil", "type": "spa", "scopes": ["openid"], "redirectUris": [CB, uri],
            }))).await;
            assert_eq!(status, 400, "{uri}: {body}");
            let message = body["error_description"].as_str().unwrap();
            assert!(message.starts_with(&format!("Invalid redirect URI `{uri}`: ")), "{message}");
            let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{id}"), &root, Some(json!({"redirectUris": [uri]}))).await;
            assert_eq!(status, 400, "{uri}: {body}");
        }
        assert_eq!(app.isolation.table_counts().await, before);
        let (_, kept) = call(&app, "GET", &format!("/api/v1/apps/{id}"), &root, None).await;
        assert_eq!(kept["app"]["redirectUris"], json!(REDIRECT_ACCEPTED));

        // The ePass connect apps' redirect URL follows the same web rules.
        for url in ["javascript:alert(1)", "http://shop.example/cb", "https://u:p@shop.example/cb"] {
            let (status, body) = call(&app, "POST", "/api/v1/connect-apps", &root, Some(json!({"name": "shop", "redirectUrl": url}))).await;
            assert_eq!(status, 400, "{url}: {body}");
        }
        let (status, body) = call(&app, "POST", "/api/v1/connect-apps", &root, Some(json!({"name": "shop", "redirectUrl": "http://127.0.0.1:9/cb"}))).await;
        assert_eq!(status, 201, "{body}");
    }

    async fn plain_http_redirect_uris_need_the_operator(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.allow_http_redirect_uris = true).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "Intranet", "type": "web", "scopes": ["openid"], "redirectUris": ["http://intranet.example/cb"],
        }))).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = call(&app, "POST", "/api/v1/apps", &root, Some(json!({
            "name": "Still evil", "type": "web", "scopes": ["openid"], "redirectUris": ["javascript:alert(1)"],
        }))).await;
        assert_eq!(status, 400, "{body}");
    }

    async fn redirect_uris_of_dangerous_schemes_are_refused_in_the_admin_panel(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let (browser, dashboard) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.html);
        let token = input_value(&browser.get("/admin/apps").await.html, "csrf_token").unwrap();
        let before = app.isolation.table_counts().await;
        for uri in ["javascript:alert(1)", "data:text/html,x", "http://app.example/cb"] {
            let form = [("csrf_token", token.as_str()), ("name", "Evil"), ("type", "spa"), ("scope", "openid"), ("redirect_uris", uri)]
                .map(|(k, v)| (k.to_owned(), v.to_owned()));
            let refused = browser.post("/admin/apps", &form).await;
            assert_eq!(refused.status, 400, "{uri}: {}", refused.html);
            assert!(refused.html.contains("Invalid redirect URI"), "{}", refused.html);
        }
        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn a_stored_dangerous_redirect_uri_is_never_redirected_to(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (id, client_id, _) = create_app(&app, "Legacy", "spa", &[CB]).await;
        let evil = "javascript:alert(document.cookie)";
        app.isolation
            .execute(&format!("UPDATE apps SET redirect_uris = $1 WHERE id = {id}"), &json!([CB, evil]).to_string())
            .await;
        let browser = Browser::new(&app);
        let refused = browser.get(&authorize_url(&client_id, evil, &[])).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        assert!(refused.location.is_none());
        assert!(refused.html.contains("redirect_uri"), "{}", refused.html);
        let query = serde_urlencoded::to_string([("client_id", client_id.as_str()), ("post_logout_redirect_uri", evil)]).unwrap();
        let logout = browser.get(&format!("/oauth2/v1/logout?{query}")).await;
        assert_eq!(logout.status, 400, "{}", logout.html);
        assert!(logout.location.is_none());
        // The app's good URI still works.
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        assert!(page.html.contains("sign-in-form"), "{}", page.html);
    }

    /// The consent page asked for (or posted) before the sign-in owes it: refused, no code
    /// issued, nothing moved.
    async fn consent_out_of_order_is_refused(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_user_app_consent = true).await;
        let (_, client_id, _) = create_app(&app, "Shop", "spa", &[CB]).await;
        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        let tx = input_value(&page.html, "tx").unwrap();
        let csrf = input_value(&page.html, "csrf_token").unwrap();

        let shown = browser.get(&format!("/identity/v1/view/consent?tx={tx}")).await;
        assert_eq!(shown.status, 400, "{}", shown.html);
        assert!(shown.html.contains("This step does not belong to the current sign-in"), "{}", shown.html);
        let fields = [("tx", tx.as_str()), ("csrf_token", csrf.as_str()), ("decision", "accept")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let posted = browser.post("/identity/v1/view/consent", &fields).await;
        assert_eq!(posted.status, 400, "{}", posted.html);
        assert!(posted.location.is_none(), "no code is issued");

        // Nothing moved: the page is still refused.
        let again = browser.get(&format!("/identity/v1/view/consent?tx={tx}")).await;
        assert_eq!(again.status, 400, "{}", again.html);
    }
}
