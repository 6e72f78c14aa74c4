//! Real outside clients against the running server: headless Chromium on the pages, Melody's own
//! browser SDKs (plain and React), openid-client (npm) and Authlib (PyPI). The scripts live in
//! `tests/clients/`; the test command installs their packages.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::flow::{create_app, user_by_email, PASSWORD};
use crate::harness::{backend_tests, call, s2s_app, Backend, TestApp};

/// An origin for the test's browser app on a free loopback port (the client script serves it).
pub(crate) fn app_origin() -> String {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", probe.local_addr().unwrap())
}

fn scripts() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/clients"));
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the client packages are missing: run ./scripts/test (or `npm ci` in tests/clients)"
    );
    dir
}

/// Runs one client script to the end; fails the test with its output when it fails.
pub(crate) async fn run_client(program: &str, script: &str, env: &[(&str, String)]) {
    let mut command = tokio::process::Command::new(program);
    command
        .arg(script)
        .current_dir(scripts())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program} {script}: {e}"));
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish in 180 s"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains(": ok"),
        "{script} ended without its ok line:\n{stdout}\n{stderr}"
    );
    // Shown with `--nocapture`.
    println!("{stdout}");
}

/// A server whose CORS lets the app's scripts call the token, userinfo and logout endpoints.
async fn spawn(backend: Backend, app_origin: &str) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.cors_allowed_origins = vec![app_origin.to_owned()];
    })
    .await
}

fn email(name: &str, backend: Backend) -> String {
    format!("{name}.{backend:?}@example.com").to_lowercase()
}

/// Runs a server-side client script (`(program, script)`) through the code flow of a new web
/// app called `app_name`, with its callback under `/{callback_dir}/cb`.
async fn web_client_completes_code_flow(
    backend: Backend,
    (program, script): (&str, &str),
    app_name: &str,
    callback_dir: &str,
    user: &str,
) {
    let origin = app_origin();
    let app = spawn(backend, &origin).await;
    let redirect = format!("{origin}/{callback_dir}/cb");
    let (_, client_id, secret) = create_app(&app, app_name, "web", &[&redirect]).await;
    // A resource server: an S2S app that introspects the tokens it is sent.
    let root = app.admin_token("root").await;
    let resource_server = s2s_app(&app, &root, &["read_user"]).await;
    run_client(
        program,
        script,
        &[
            ("ISSUER", app.base.clone()),
            ("CLIENT_ID", client_id),
            ("CLIENT_SECRET", secret.expect("web apps get a secret")),
            ("REDIRECT_URI", redirect),
            ("EMAIL", email(user, backend)),
            ("PASSWORD", PASSWORD.into()),
            ("RS_CLIENT_ID", resource_server.client_id),
            ("RS_CLIENT_SECRET", resource_server.secret),
        ],
    )
    .await;
}

/// Runs a device-flow client script (`(program, script)`) for a new app of `kind` with the device
/// flow on (a secret is passed when the app has one); the user signs up as `user`.
async fn device_client_signs_in(
    backend: Backend,
    (program, script): (&str, &str),
    kind: &str,
    user: &str,
) {
    // One second between polls keeps the run short; the script still waits it.
    let app = TestApp::spawn_with(backend, |c| c.device_code_interval = 1).await;
    let (client_id, secret) =
        crate::flow::device_app(&app, &format!("{script} device"), kind).await;
    let mut env = vec![
        ("ISSUER", app.base.clone()),
        ("CLIENT_ID", client_id),
        ("EMAIL", email(user, backend)),
        ("PASSWORD", PASSWORD.into()),
    ];
    if let Some(secret) = secret.filter(|_| kind != "spa") {
        env.push(("CLIENT_SECRET", secret));
    }
    run_client(program, script, &env).await;
}

/// Runs `email-flows.mjs` for the SPA `client` (id, redirect URI) with the mails `mailbox`
/// receives, and `env` besides.
async fn run_email_flows(
    app: &TestApp,
    mailbox: &crate::mailbox::Mailbox,
    (client_id, redirect): (String, String),
    env: &[(&str, String)],
) {
    let mut all = vec![
        ("ISSUER", app.base.clone()),
        ("CLIENT_ID", client_id),
        ("REDIRECT_URI", redirect),
        ("MAIL_DIR", mailbox.dir.display().to_string()),
        ("PASSWORD", PASSWORD.into()),
    ];
    all.extend_from_slice(env);
    run_client("node", "email-flows.mjs", &all).await;
}

/// Runs a script that drives one of Melody's browser SDKs in an app page served at a free
/// origin, registered as an SPA with its callback and post-logout URIs; the user is `user`.
async fn melody_browser_app_signs_in_refreshes_and_logs_out(
    backend: Backend,
    script: &str,
    app_name: &str,
    user: &str,
) {
    let origin = app_origin();
    let app = spawn(backend, &origin).await;
    let cb = format!("{origin}/cb");
    let out = format!("{origin}/signed-out");
    let (app_id, client_id, _) = create_app(&app, app_name, "spa", &[&cb, &out]).await;
    // Melody's SDKs keep the first refresh token, so this app turns rotation off.
    let token = app.admin_token("root").await;
    let (status, body) = call(
        &app,
        "PUT",
        &format!("/api/v1/apps/{app_id}"),
        &token,
        Some(json!({ "rotateRefreshTokens": false })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    run_client(
        "node",
        script,
        &[
            ("ISSUER", app.base.clone()),
            ("CLIENT_ID", client_id),
            ("APP_ORIGIN", origin.clone()),
            ("EMAIL", email(user, backend)),
            ("PASSWORD", PASSWORD.into()),
        ],
    )
    .await;
}

backend_tests! {
    async fn chromium_signs_up_consents_and_returns_with_a_code_in_english_and_chinese(backend: Backend) {
        let origin = app_origin();
        let app = spawn(backend, &origin).await;
        let redirect = format!("{origin}/cb");
        let (_, client_id, _) = create_app(&app, "Chromium app", "spa", &[&redirect]).await;
        for (locale, title) in [("en", "Sign in"), ("zh-CN", "登录")] {
            run_client("node", "browser-flow.mjs", &[
                ("ISSUER", app.base.clone()),
                ("CLIENT_ID", client_id.clone()),
                ("REDIRECT_URI", redirect.clone()),
                ("LOCALE", locale.into()),
                ("EXPECT_TITLE", title.into()),
                ("EMAIL", email(&format!("browser-{locale}"), backend)),
                ("PASSWORD", PASSWORD.into()),
            ]).await;
        }
        let shots = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-artifacts"));
        for name in ["browser-en-sign-in", "browser-en-sign-up", "browser-en-consent", "browser-zh-CN-consent"] {
            let size = std::fs::metadata(shots.join(format!("{name}.png"))).map(|m| m.len()).unwrap_or(0);
            assert!(size > 5_000, "screenshot {name} missing or blank");
        }
    }

    async fn chromium_verifies_resets_and_accepts_an_invitation_by_email(backend: Backend) {
        let mailbox = crate::mailbox::Mailbox::start().await;
        let origin = app_origin();
        let app = TestApp::spawn_with(backend, |c| mailbox.configure(c)).await;
        let redirect = format!("{origin}/cb");
        let (_, client_id, _) = create_app(&app, "Email app", "spa", &[&redirect]).await;
        let invited = email("invited", backend);
        let token = app.admin_token("root").await;
        let (status, body) = call(&app, "POST", "/api/v1/users/invitations", &token, Some(json!({ "email": invited }))).await;
        assert_eq!(status, 200, "{body}");
        let env = [("EMAIL", email("email-flows", backend)), ("INVITED_EMAIL", invited), ("MODE", "accounts".into())];
        run_email_flows(&app, &mailbox, (client_id, redirect), &env).await;
    }

    async fn chromium_signs_in_with_a_magic_link(backend: Backend) {
        let mailbox = crate::mailbox::Mailbox::start().await;
        let origin = app_origin();
        let app = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_passwordless_sign_in = true;
            c.use_passwordless_as_magic_link = true;
        }).await;
        let redirect = format!("{origin}/cb");
        let (_, client_id, _) = create_app(&app, "Magic app", "spa", &[&redirect]).await;
        let env = [("EMAIL", email("magic", backend)), ("MODE", "magic".into())];
        run_email_flows(&app, &mailbox, (client_id, redirect), &env).await;
    }

    async fn chromium_enrolls_signs_in_with_and_deletes_passkeys(backend: Backend) {
        let origin = app_origin();
        // WebAuthn takes no IP address as relying party id: the server is reached as localhost.
        let app = TestApp::spawn_with(backend, |c| {
            c.allow_passkey_enrollment = true;
            c.issuer = c.issuer.replace("127.0.0.1", "localhost");
        }).await;
        let issuer = app.base.replace("127.0.0.1", "localhost");
        let redirect = format!("{origin}/cb");
        let (_, client_id, _) = create_app(&app, "Passkey app", "spa", &[&redirect]).await;
        run_client("node", "passkeys.mjs", &[
            ("ISSUER", issuer),
            ("CLIENT_ID", client_id),
            ("REDIRECT_URI", redirect),
            ("EMAIL", email("passkeys", backend)),
            ("PASSWORD", PASSWORD.into()),
        ]).await;
        // The S2S API lists the one passkey left.
        let token = app.admin_token("root").await;
        let user = user_by_email(&app, &email("passkeys", backend)).await;
        let auth_id = user["authId"].as_str().unwrap();
        let (status, body) = call(&app, "GET", &format!("/api/v1/users/{auth_id}/passkeys"), &token, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["passkeys"].as_array().unwrap().len(), 1, "{body}");
    }

    async fn melody_sdk_signs_in_refreshes_and_logs_out_unchanged(backend: Backend) {
        melody_browser_app_signs_in_refreshes_and_logs_out(backend, "melody-sdk.mjs", "Melody SDK app", "melody-sdk").await;
    }

    async fn melody_react_sdk_signs_in_refreshes_and_logs_out_in_a_react_app(backend: Backend) {
        melody_browser_app_signs_in_refreshes_and_logs_out(backend, "melody-react.mjs", "Melody React app", "melody-react").await;
    }

    async fn openid_client_completes_code_flow_refresh_and_revocation(backend: Backend) {
        web_client_completes_code_flow(backend, ("node", "openid-client.mjs"), "openid-client app", "oidc", "openid-client").await;
    }

    async fn authlib_completes_code_flow_refresh_and_revocation(backend: Backend) {
        web_client_completes_code_flow(backend, ("python3", "authlib_flow.py"), "Authlib app", "authlib", "authlib").await;
    }

    async fn a_resource_server_accepts_only_tokens_meant_for_it(backend: Backend) {
        let origin = app_origin();
        let app = spawn(backend, &origin).await;
        let redirect = format!("{origin}/cb");
        let (app_id, client_id, _) = create_app(&app, "Orders app", "spa", &[&redirect]).await;
        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{app_id}"), &root,
            Some(json!({ "idTokenSignedResponseAlg": "ES256" }))).await;
        assert_eq!(status, 200, "{body}");
        let api_app = s2s_app(&app, &root, &["read_user"]).await;
        let resource = "https://orders.example.com/api";
        let (status, body) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
            "identifier": resource, "name": "Orders", "scopes": ["orders:read"],
            "introspectionClientId": api_app.client_id, "signingAlgorithm": "EdDSA",
        }))).await;
        assert_eq!(status, 201, "{body}");
        let downstream = "https://history.example.com/api";
        let (status, body) = call(&app, "POST", "/api/v1/resource-servers", &root, Some(json!({
            "identifier": downstream, "name": "Order history", "scopes": ["orders:read"],
            "tokenExchangeClientIds": [api_app.client_id],
        }))).await;
        assert_eq!(status, 201, "{body}");
        run_client("node", "resource-server.mjs", &[
            ("DOWNSTREAM", downstream.into()),
            ("ISSUER", app.base.clone()),
            ("CLIENT_ID", client_id),
            ("REDIRECT_URI", redirect),
            ("EMAIL", email("resource-server", backend)),
            ("PASSWORD", PASSWORD.into()),
            ("RESOURCE", resource.into()),
            ("RS_CLIENT_ID", api_app.client_id),
            ("RS_CLIENT_SECRET", api_app.secret),
        ]).await;
    }

    async fn openid_client_runs_the_device_flow_with_chromium_as_the_user(backend: Backend) {
        device_client_signs_in(backend, ("node", "device-flow.mjs"), "spa", "device-oidc").await;
    }

    async fn authlib_runs_the_device_flow_with_chromium_as_the_user(backend: Backend) {
        device_client_signs_in(backend, ("python3", "authlib_device.py"), "web", "device-authlib").await;
    }
}

/// CORS: the browser endpoints answer only configured origins; the management API answers none;
/// discovery is public.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_configured_origins_on_browser_endpoints_only() {
    let allowed = "https://app.example.com";
    let app = spawn(Backend::Sqlite, allowed).await;
    let preflight = |path: &'static str, origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let allow_origin = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    for path in [
        "/oauth2/v1/token",
        "/oauth2/v1/userinfo",
        "/oauth2/v1/revoke",
        "/identity/v1/logout",
    ] {
        let ok = preflight(path, allowed).await.unwrap();
        assert_eq!(allow_origin(&ok).as_deref(), Some(allowed), "{path}");
        let allowed_headers = ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(
            allowed_headers.contains("authorization"),
            "{path}: {allowed_headers}"
        );
        let foreign = preflight(path, "https://evil.example").await.unwrap();
        assert_eq!(
            allow_origin(&foreign),
            None,
            "{path} allowed a foreign origin"
        );
    }
    let api = preflight("/api/v1/apps", allowed).await.unwrap();
    assert_eq!(
        allow_origin(&api),
        None,
        "the management API is not for browsers"
    );
    let discovery = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .header("Origin", "https://anyone.example")
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&discovery).as_deref(), Some("*"));
}
