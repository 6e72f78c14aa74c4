//! The pages pass axe-core at WCAG 2.2 AA in headless Chromium, and a password + TOTP sign-in
//! needs nothing but the keyboard (`tests/clients/accessibility.mjs`). The other Chromium
//! scripts audit each page they pass through the same way (`tests/clients/lib/a11y.mjs`).

use crate::clients::{app_origin, run_client};
use crate::flow::{create_app, PASSWORD};
use crate::harness::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sign_in_page_passes_axe_core_and_the_keyboard_alone_signs_in() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.otp_mfa_is_required = true;
        c.enable_recovery_code = true;
        c.allow_passkey_enrollment = true;
        c.enable_user_app_consent = true;
    })
    .await;
    let origin = app_origin();
    let redirect = format!("{origin}/cb");
    let (_, client_id, _) = create_app(&app, "Shop", "spa", &[&redirect]).await;
    run_client(
        "node",
        "accessibility.mjs",
        &[
            ("ISSUER", app.base.clone()),
            ("CLIENT_ID", client_id),
            ("REDIRECT_URI", redirect),
            ("EMAIL", "ada.keyboard@example.com".into()),
            ("PASSWORD", PASSWORD.into()),
        ],
    )
    .await;
}
