//! `/info`, health checks and metrics.

use serde_json::Value;

use crate::harness::{backend_tests, Backend, TestApp};

/// `/info`'s email verification and password reset flags.
async fn email_flags(app: &TestApp) -> (Value, Value) {
    let token = app.admin_token("read_user").await;
    let request = app.client.get(app.url("/info")).bearer_auth(&token);
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    let configs = &body["configs"];
    (
        configs["ENABLE_EMAIL_VERIFICATION"].clone(),
        configs["ENABLE_PASSWORD_RESET"].clone(),
    )
}

backend_tests! {
    async fn info_needs_an_s2s_token_and_lists_the_configuration(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_org = true).await;
        let response = app.client.get(app.url("/info")).send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));

        for bad in ["Bearer not-a-jwt", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Im5vcGUifQ.e30.c2ln"] {
            let response = app.client.get(app.url("/info")).header("authorization", bad).send().await.unwrap();
            assert_eq!(response.status(), 401, "{bad}");
        }
        let response = app.client.get(app.url("/info")).header("authorization", "Basic abc").send().await.unwrap();
        assert_eq!(response.status(), 400);

        // Any S2S token will do, whatever its scope.
        let token = app.admin_token("read_user").await;
        let response = app.client.get(app.url("/info")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let configs = body["configs"].as_object().unwrap();
        assert_eq!(configs["AUTH_SERVER_URL"], app.base);
        assert_eq!(configs["ENABLE_ORG"], true);
        assert_eq!(configs["S2S_ACCESS_TOKEN_EXPIRES_IN"], 3600);
        assert_eq!(configs["SUPPORTED_LOCALES"], serde_json::json!(["en", "fr", "zh-CN", "de", "es", "pt-BR", "it", "ja", "ko", "ru", "ar", "he"]));
        for key in [
            "SUPPORTED_LOCALES", "ENABLE_NAMES", "ENABLE_USER_APP_CONSENT", "ENABLE_EMAIL_VERIFICATION",
            "ENABLE_ORG", "ENABLE_ORG_GROUP", "ENABLE_APP_BANNER", "ENABLE_USER_ATTRIBUTE",
            "ENABLE_SAML_SSO_AS_SP", "ENABLE_EMAIL_LOG", "ENABLE_SMS_LOG", "ENABLE_SIGN_IN_LOG",
            "EMAIL_MFA_IS_REQUIRED", "OTP_MFA_IS_REQUIRED", "SMS_MFA_IS_REQUIRED",
            "ALLOW_PASSKEY_ENROLLMENT", "ENABLE_RECOVERY_CODE", "ACCOUNT_LOCKOUT_THRESHOLD",
            "ENABLE_PLAIN_PKCE_METHOD",
        ] {
            assert!(configs.contains_key(key), "{key} missing from /info");
        }
        let text = body.to_string();
        assert!(!text.contains(crate::harness::BOOTSTRAP_SECRET));
        assert!(!text.contains(crate::harness::MASTER_KEY));
        assert!(!text.contains("postgres://"));
    }

    async fn info_reports_email_features_as_they_are_offered(backend: Backend) {
        // Configured on, but with no email provider nothing can be sent: both are off.
        let without = TestApp::spawn_with(backend, |c| {
            c.enable_email_verification = true;
            c.enable_password_reset = true;
        }).await;
        assert_eq!(email_flags(&without).await, (Value::Bool(false), Value::Bool(false)));
        // With a real SMTP receiver they are on as configured.
        let mailbox = crate::mailbox::Mailbox::start().await;
        let with = TestApp::spawn_with(backend, |c| {
            mailbox.configure(c);
            c.enable_email_verification = true;
            c.enable_password_reset = true;
        }).await;
        assert_eq!(email_flags(&with).await, (Value::Bool(true), Value::Bool(true)));
    }

    async fn health_and_metrics(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let live = app.client.get(app.url("/health/live")).send().await.unwrap();
        assert_eq!(live.status(), 200);
        let ready = app.client.get(app.url("/health/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"status": "ok", "database": "ok", "cache": "ok"}));

        app.admin_token("root").await;
        let missing = app.client.get(app.url("/no/such/route")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("gatehouse_tokens_issued_total{grant=\"client_credentials\"} 1"), "{metrics}");
        assert!(metrics.contains("gatehouse_http_requests_total{method=\"POST\",route=\"/oauth2/v1/token\",status=\"200\"} 1"), "{metrics}");
        assert!(metrics.contains("gatehouse_http_request_duration_seconds_count{method=\"GET\",route=\"/health/ready\",status=\"200\"} 1"), "{metrics}");
        assert!(metrics.contains("route=\"unmatched\",status=\"404\""), "{metrics}");
    }
}

/// A failing database is a clear 503 with a greppable code, never a panic or a leak of the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failure_is_a_503_without_internals() {
    let app = TestApp::spawn(Backend::PostgresRedis).await;
    let schema = app.isolation.redis_prefix.trim_end_matches(':').to_owned();
    let admin = sqlx::PgPool::connect(crate::harness::POSTGRES_URL)
        .await
        .unwrap();
    // The server's background rounds read these tables meanwhile; PostgreSQL may pick the drop
    // as the victim of a lock cycle with one of them, and then it is tried again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await
        {
            Ok(_) => break,
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("40P01") && attempts < 5 => {}
            Err(e) => panic!("dropping the schema: {e}"),
        }
    }
    let response = app
        .client_credentials("someone-new", "secret-secret-secret", "root")
        .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "server_error");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains("GH-STORE"), "{description}");
    assert!(!description.contains("apps"), "{description}");
}
