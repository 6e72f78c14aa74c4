//! Pages in real headless Chromium (the Debian `chromium` package, installed by the test
//! command). Screenshots land in `test-artifacts/`.

use std::path::PathBuf;
use std::process::Command;

use crate::harness::{Backend, TestApp};

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-artifacts"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium with a fresh profile and no background traffic; returns stdout.
fn chromium(args: &[&str]) -> String {
    let profile = tempfile_dir();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=15000",
            "--window-size=1280,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect(
            "headless Chromium (Debian package `chromium`) must be installed: run ./scripts/test",
        );
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn tempfile_dir() -> PathBuf {
    crate::harness::fresh_temp_dir("gh_chromium")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_renders_every_operation_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let url = app.url("/api/v1/swagger/");
    let page_url = url.clone();
    let dom = tokio::task::spawn_blocking(move || chromium(&["--dump-dom", &page_url]))
        .await
        .unwrap();
    // The operations are drawn by Swagger UI's script from the generated document.
    assert!(
        dom.contains("Gatehouse S2S API"),
        "title not rendered: {dom:.2000}"
    );
    assert!(dom.contains("opblock"), "no operation blocks rendered");
    for path in ["/api/v1/apps", "/api/v1/users/{authId}", "/info"] {
        assert!(dom.contains(path), "{path} not rendered");
    }
    let shot = artifacts().join("swagger-ui.png");
    let _ = std::fs::remove_file(&shot);
    let target = format!("--screenshot={}", shot.display());
    tokio::task::spawn_blocking(move || chromium(&[&target, &url]))
        .await
        .unwrap();
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "the screenshot is missing or blank ({size} bytes)"
    );
}
