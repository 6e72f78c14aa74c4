//! The ePass connect flow: apps made with `gatehouse connect-app`, `/connect/<app>` through the
//! sign-in pages, and the sauce opened with the seed's own recipes (PyCryptodome, WebCrypto).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::flow::*;
use crate::harness::{backend_tests, TestApp};

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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
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
        let page = browser.follow(browser.get("/connect/shop").await, "https://shop.example").await;
        assert!(page.html.contains("The Shop"), "{}", page.html);
        let tx = input_value(&page.html, "tx").unwrap();
        let form = browser.get(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        let email = format!("connect.{backend:?}@example.com").to_lowercase();
        let fields = form_fields(&form.html, &[("email", &email), ("password", PASSWORD), ("first_name", "Ada"), ("last_name", "Lovelace")]);
        let done = browser.follow(browser.post("/identity/v1/view/sign-up", &fields).await, "https://shop.example").await;
        let landing = done.location.clone().unwrap_or_else(|| panic!("{}", done.html));
        assert!(landing.starts_with("https://shop.example/auth?sauce="), "{landing}");
        let sauce = query_param(&landing, "sauce").unwrap();

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
