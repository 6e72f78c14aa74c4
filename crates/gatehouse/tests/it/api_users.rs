//! `/api/v1/users`.

use serde_json::{json, Value};

use crate::harness::{backend_tests, call, token_with, TestApp};

pub fn auth_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// Users written straight to the database (sign-up arrives with the browser capability).
pub async fn add_users(app: &TestApp, count: usize) {
    for n in 0..count {
        app.isolation
            .execute(
                &format!("INSERT INTO users (auth_id, email, first_name, last_name, mfa_types) VALUES ($1, 'user{n}@example.com', 'First{n}', 'Last{n}', 'email')"),
                &auth_id(n),
            )
            .await;
    }
}

backend_tests! {
    async fn users_are_listed_with_read_user_only(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        add_users(&app, 5).await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        let (status, body) = call(&app, "GET", "/api/v1/users?page_size=2&page_number=3", &reader, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"], 5);
        let page = body["users"].as_array().unwrap();
        assert_eq!(page.len(), 1);
        let user = &page[0];
        assert_eq!(user["authId"], auth_id(4));
        assert_eq!(user["mfaTypes"], json!(["email"]));
        assert_eq!(user["isInviting"], false);
        for field in ["id", "linkedAuthId", "socialAccountId", "socialAccountType", "email", "locale", "firstName", "lastName",
                      "emailVerified", "otpVerified", "smsPhoneNumberVerified", "loginCount", "isActive", "invitationExpiresAt",
                      "createdAt", "updatedAt", "deletedAt"] {
            assert!(user.get(field).is_some(), "{field} missing");
        }
        let (_, body) = call(&app, "GET", "/api/v1/users?search=first3", &reader, None).await;
        assert_eq!(body["count"], 1);
        assert_eq!(body["users"][0]["email"], "user3@example.com");

        let app_reader = token_with(&app, &root, &["read_app"]).await;
        let (status, _) = call(&app, "GET", "/api/v1/users", &app_reader, None).await;
        assert_eq!(status, 401);
    }

    async fn only_root_assigns_privileged_roles(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        add_users(&app, 1).await;
        let (_, body) = call(&app, "POST", "/api/v1/roles", &root, Some(json!({"name": "editor"}))).await;
        assert_eq!(body["role"]["name"], "editor");
        let writer = token_with(&app, &root, &["write_user", "read_user"]).await;
        let path = format!("/api/v1/users/{}", auth_id(0));

        let before = app.isolation.table_counts().await;
        let (status, body) = call(&app, "PUT", &path, &writer, Some(json!({"roles": ["editor", "super_admin"]}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Only an app with the root scope can assign a privileged role");
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "PUT", &path, &writer, Some(json!({"roles": ["editor", "nonexistent"], "firstName": "Ada"}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["roles"], json!(["editor"]));
        assert_eq!(body["user"]["firstName"], "Ada");
        assert_eq!(body["user"]["lastName"], "Last0");

        let (status, body) = call(&app, "PUT", &path, &root, Some(json!({"roles": ["super_admin", "editor"]}))).await;
        assert_eq!(status, 200);
        assert_eq!(body["user"]["roles"], json!(["super_admin", "editor"]));
        let (_, body) = call(&app, "GET", "/api/v1/roles/1/users", &root, None).await;
        assert_eq!(body["users"][0]["authId"], auth_id(0));
    }

    async fn users_are_updated_linked_and_deleted(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_user_attribute = true).await;
        let root = app.admin_token("root").await;
        add_users(&app, 2).await;
        let (a, b) = (auth_id(0), auth_id(1));
        let (_, body) = call(&app, "POST", "/api/v1/user-attributes", &root, Some(json!({
            "name": "badge", "unique": true, "validationRegex": "^[0-9]+$"
        }))).await;
        let attribute = body["userAttribute"]["id"].as_i64().unwrap();

        let before = app.isolation.table_counts().await;
        for (payload, status, message) in [
            (json!({"locale": "xx"}), 400, "locale must be one of the supported locales".to_string()),
            (json!({"attributes": {attribute.to_string(): "abc"}}), 400, "Value for attribute \"badge\" does not match the validation rule".to_string()),
            (json!({"attributes": {"999": "1"}}), 404, "No user attribute found".to_string()),
            (json!({"firstName": "x".repeat(51)}), 400, "firstName must be at most 50 characters".to_string()),
        ] {
            let (got, body) = call(&app, "PUT", &format!("/api/v1/users/{a}"), &root, Some(payload.clone())).await;
            assert_eq!(got, status, "{payload}: {body}");
            assert_eq!(body["error_description"], message.as_str());
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{a}"), &root, Some(json!({
            "locale": "fr", "isActive": false, "attributes": {attribute.to_string(): "42"}
        }))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["locale"], "fr");
        assert_eq!(body["user"]["isActive"], false);
        assert_eq!(body["user"]["attributes"], json!({"badge": "42"}));
        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{b}"), &root, Some(json!({"attributes": {attribute.to_string(): "42"}}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Duplicate value \"42\" for attribute \"badge\"");

        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{a}/account-linking/{b}"), &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({"success": true}));
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{b}"), &root, None).await;
        assert_eq!(body["user"]["linkedAuthId"], a);
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/{b}/account-linking/{a}"), &root, None).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "This account has already been linked with one account");
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{b}/account-linking"), &root, None).await.0, 200);
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{a}"), &root, None).await;
        assert_eq!(body["user"]["linkedAuthId"], Value::Null);

        assert_eq!(call(&app, "POST", &format!("/api/v1/users/{a}/otp-mfa"), &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{a}"), &root, None).await;
        assert_eq!(body["user"]["mfaTypes"], json!(["email", "otp"]));
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{a}/email-mfa"), &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{a}"), &root, None).await;
        assert_eq!(body["user"]["mfaTypes"], json!(["otp"]));

        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{a}/consented-apps"), &root, None).await;
        assert_eq!(body, json!({"consentedApps": []}));
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{a}/passkeys"), &root, None).await;
        assert_eq!(body, json!({"passkeys": []}));
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{a}/passkeys/7"), &root, None).await.0, 404);

        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/{a}"), &root, None).await.0, 204);
        let (status, body) = call(&app, "GET", &format!("/api/v1/users/{a}"), &root, None).await;
        assert_eq!(status, 404);
        assert_eq!(body["error_description"], "No user found");
        let (_, body) = call(&app, "GET", "/api/v1/users", &root, None).await;
        assert_eq!(body["count"], 1);
    }

    async fn invitations_create_inactive_users(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| c.enable_org = true).await;
        let root = app.admin_token("root").await;
        add_users(&app, 1).await;
        let (_, org) = call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        call(&app, "POST", "/api/v1/orgs", &root, Some(json!({"name": "Brand", "slug": "brand", "onlyUseForBrandingOverride": true}))).await;
        let writer = token_with(&app, &root, &["write_user"]).await;

        let before = app.isolation.table_counts().await;
        for (token, payload, status, message) in [
            (&writer, json!({"email": "new@example.com", "roles": ["super_admin"]}), 400, "Only an app with the root scope can assign a privileged role"),
            (&writer, json!({"email": "USER0@example.com"}), 400, "The email address is already in use"),
            (&writer, json!({"email": "not-an-email"}), 400, "email must be a valid email address"),
            (&writer, json!({"email": "new@example.com", "orgSlug": "brand"}), 400, "Organization does not allow invitation"),
            (&writer, json!({"email": "new@example.com", "roles": ["ghost"]}), 404, "Role not found"),
            (&writer, json!({"email": "new@example.com", "signinUrl": "not a url"}), 400, "signinUrl must be an absolute URL"),
        ] {
            let (got, body) = call(&app, "POST", "/api/v1/users/invitations", token, Some(payload.clone())).await;
            assert_eq!(got, status, "{payload}: {body}");
            assert_eq!(body["error_description"], message, "{payload}");
        }
        assert_eq!(app.isolation.table_counts().await, before);

        let (status, body) = call(&app, "POST", "/api/v1/users/invitations", &writer, Some(json!({
            "email": " New@Example.com ", "firstName": "Nia", "orgSlug": "acme", "signinUrl": "https://app.example/signin"
        }))).await;
        assert_eq!(status, 200, "{body}");
        let user = &body["user"];
        assert_eq!(user["email"], "new@example.com");
        assert_eq!(user["isActive"], false);
        assert_eq!(user["isInviting"], true);
        assert!(user["invitationExpiresAt"].as_str().unwrap().ends_with(".000Z"));
        assert_eq!(user["org"]["id"], org["org"]["id"]);
        let invited = user["authId"].as_str().unwrap().to_owned();

        // Activating before the invitation is accepted is refused.
        let (status, body) = call(&app, "PUT", &format!("/api/v1/users/{invited}"), &root, Some(json!({"isActive": true}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Invitation must be accepted before activating user");

        let (status, body) = call(&app, "POST", &format!("/api/v1/users/invitations/{invited}"), &writer, Some(json!({"locale": "fr"}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({"success": true}));
        assert_eq!(call(&app, "DELETE", &format!("/api/v1/users/invitations/{invited}"), &writer, None).await.0, 204);
        let (_, body) = call(&app, "GET", &format!("/api/v1/users/{invited}"), &root, None).await;
        assert_eq!(body["user"]["isInviting"], false);
        assert_eq!(body["user"]["isActive"], false);
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/invitations/{invited}"), &writer, Some(json!({}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "Invitation not found or already used");
        let (status, body) = call(&app, "POST", &format!("/api/v1/users/invitations/{}", auth_id(0)), &writer, Some(json!({}))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_description"], "User is already active");
    }

    async fn lockouts_are_listed_and_cleared(backend: Backend) {
        use gatehouse_core::lockout::failed_login_key;
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        add_users(&app, 1).await;
        let window = std::time::Duration::from_secs(600);
        // Five failures from one IP lock it; two from another do not; the neighbour's email is not ours.
        for _ in 0..5 {
            app.cache.increment(&failed_login_key("user0@example.com", Some("203.0.113.9")), window).await.unwrap();
        }
        for _ in 0..2 {
            app.cache.increment(&failed_login_key("user0@example.com", Some("198.51.100.1")), window).await.unwrap();
        }
        for _ in 0..5 {
            app.cache.increment(&failed_login_key("user0@example.community", None), window).await.unwrap();
        }
        let path = format!("/api/v1/users/{}/locked-ips", auth_id(0));
        let (status, body) = call(&app, "GET", &path, &root, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({"lockedIPs": ["203.0.113.9"]}));
        assert_eq!(call(&app, "DELETE", &path, &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", &path, &root, None).await;
        assert_eq!(body, json!({"lockedIPs": []}));
        assert!(app.cache.get(&failed_login_key("user0@example.com", Some("198.51.100.1"))).await.unwrap().is_none());
        assert!(app.cache.get(&failed_login_key("user0@example.community", None)).await.unwrap().is_some());
    }

    async fn active_sessions_are_listed_and_ended(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        add_users(&app, 1).await;
        for (family, hash, expires) in [("fam-live", "h1", "2099-01-01 00:00:00"), ("fam-old", "h2", "2001-01-01 00:00:00")] {
            app.isolation.execute(
                &format!("INSERT INTO refresh_tokens (token_hash, family_id, user_id, app_id, scope, roles, expires_at) \
                          SELECT '{hash}', '{family}', u.id, 1, 'openid profile offline_access', '[\"editor\"]', '{expires}' \
                          FROM users u WHERE u.auth_id = $1"),
                &auth_id(0),
            ).await;
        }
        let path = format!("/api/v1/users/{}/active-sessions", auth_id(0));
        let (status, body) = call(&app, "GET", &path, &root, None).await;
        assert_eq!(status, 200, "{body}");
        let sessions = body["activeSessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1, "expired tokens are no session");
        assert_eq!(sessions[0]["sessionId"], "fam-live");
        assert_eq!(sessions[0]["authId"], auth_id(0));
        assert_eq!(sessions[0]["roles"], json!(["editor"]));
        // A number of seconds, as Melody's spec and panel read it (2099-01-01 00:00:00 UTC).
        assert_eq!(sessions[0]["expiredAt"], 4_070_908_800_i64);
        assert!(!body.to_string().contains("h1"), "token hashes are never shown");

        let (status, body) = call(&app, "DELETE", &format!("{path}/fam-old"), &root, None).await;
        assert_eq!(status, 404);
        assert_eq!(body["error_description"], "No active session found");
        assert_eq!(call(&app, "DELETE", &format!("{path}/fam-live"), &root, None).await.0, 204);
        let (_, body) = call(&app, "GET", &path, &root, None).await;
        assert_eq!(body["activeSessions"], json!([]));
    }
}
