//! The `email`, `phone` and `address` scopes and their OIDC Core claims, with the contact
//! fields set through the management API. The attacks: a phone number not in E.164 form, an
//! address with unknown members, control characters or overlong text; a token without the
//! scope asking for the claim.

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, jwt_part, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";

backend_tests! {
    async fn phone_and_address_reach_tokens_and_userinfo_through_their_scopes(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (app_id, client_id, _) = create_app(&app, "Post office", "spa", &[CB]).await;
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{app_id}"), &root, Some(json!({
            "scopes": ["openid", "profile", "email", "phone", "address"],
        }))).await;
        assert_eq!(status, 200, "{body}");
        let email = format!("contact.{backend:?}@example.com").to_lowercase();
        let browser = Browser::new(&app);
        // Signed up with only `openid email`: no phone or address, and the email claims.
        let narrow = authorize_url(&client_id, CB, &[("scope", "openid email")]);
        let redirect = sign_up(&browser, &narrow, &email, CB).await;
        let user = user_by_email(&app, &email).await;
        let path = format!("/api/v1/users/{}", user["authId"].as_str().unwrap());
        for bad in [
            json!({"phoneNumber": "555-0123"}),
            json!({"phoneNumber": "+0123456789"}),
            json!({"address": {"planet": "Mars"}}),
            json!({"address": {"locality": "a\u{0007}b"}}),
            json!({"address": {"region": "x".repeat(201)}}),
            json!({"address": "1 Main St"}),
        ] {
            let (status, answer) = call(&app, "PUT", &path, &root, Some(bad.clone())).await;
            assert!(status == 400 || status == 422, "{bad}: {status} {answer}");
        }
        let address = json!({"street_address": "1 Main St", "locality": "Springfield", "postal_code": "12345", "country": "US"});
        let (status, body) = call(&app, "PUT", &path, &root,
            Some(json!({"phoneNumber": "+14155550123", "address": address}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((&body["user"]["phoneNumber"], &body["user"]["address"]), (&json!("+14155550123"), &address), "{body}");

        let code = query_param(&redirect, "code").unwrap();
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CB),
            ("code_verifier", VERIFIER), ("client_id", client_id.as_str())];
        let (status, tokens) = exchange(&app, &form).await;
        assert_eq!(status, 200, "{tokens}");
        let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(claims["email"], email.as_str(), "{claims}");
        assert!(claims.get("phone_number").is_none() && claims.get("address").is_none(), "{claims}");

        // Asking for them: the ID token and userinfo carry them; the number was not verified here.
        let wide = authorize_url(&client_id, CB, &[("scope", "openid phone address"), ("prompt", "consent")]);
        let page = browser.follow(browser.get(&wide).await, CB).await;
        let done = past_consent(&browser, page, CB).await;
        let code = query_param(done.location.as_deref().unwrap(), "code").unwrap();
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CB),
            ("code_verifier", VERIFIER), ("client_id", client_id.as_str())];
        let (status, tokens) = exchange(&app, &form).await;
        assert_eq!(status, 200, "{tokens}");
        let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!((&claims["phone_number"], &claims["phone_number_verified"]), (&json!("+14155550123"), &json!(false)), "{claims}");
        assert_eq!(claims["address"], address, "{claims}");
        let info: Value = app.client.get(app.url("/oauth2/v1/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
        assert_eq!((&info["phone_number"], &info["address"]), (&json!("+14155550123"), &address), "{info}");
        // Cleared with empty values.
        let (status, body) = call(&app, "PUT", &path, &root, Some(json!({"phoneNumber": "", "address": {}}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((&body["user"]["phoneNumber"], &body["user"]["address"]), (&Value::Null, &Value::Null), "{body}");
    }
}

backend_tests! {
    async fn the_admin_panel_edits_a_users_contact_claims(backend: Backend) {
        use crate::admin::{panel_browser, set_up_admin, sign_up_user, ADMIN_EMAIL};
        let app = TestApp::spawn(backend).await;
        set_up_admin(&app, ADMIN_EMAIL).await;
        let email = format!("panel-contact.{backend:?}@example.com").to_lowercase();
        sign_up_user(&app, &email).await;
        let auth_id = user_by_email(&app, &email).await["authId"].as_str().unwrap().to_owned();
        let (browser, _) = panel_browser(&app, ADMIN_EMAIL, PASSWORD).await;
        let page = browser.get(&format!("/admin/users/{auth_id}")).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let bad = hidden_fields(&page.html, "contact-form", &[("phone_number", "call me")]);
        let refused = browser.post(&format!("/admin/users/{auth_id}/contact"), &bad).await;
        assert_eq!(refused.status, 400, "{}", refused.html);
        let good = hidden_fields(&page.html, "contact-form", &[
            ("phone_number", "+33612345678"), ("locality", "Lyon"), ("country", "FR"), ("region", " "),
        ]);
        let saved = browser.post(&format!("/admin/users/{auth_id}/contact"), &good).await;
        assert_eq!(saved.status, 303, "{}", saved.html);
        let user = user_by_email(&app, &email).await;
        assert_eq!((&user["phoneNumber"], &user["address"]),
            (&json!("+33612345678"), &json!({"locality": "Lyon", "country": "FR"})), "{user}");
        let shown = browser.get(&format!("/admin/users/{auth_id}")).await;
        assert!(shown.html.contains("value=\"Lyon\""), "{}", shown.html);
    }
}

/// The ID token claims a code in `redirect` gives.
async fn id_token_of(app: &TestApp, client_id: &str, redirect: &str) -> Value {
    id_token_claims(app, client_id, CB, redirect).await
}

backend_tests! {
    async fn standard_apps_get_only_the_claims_asked_for(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (app_id, client_id, _) = create_app(&app, "Standard", "spa", &[CB]).await;
        let (status, body) = call(&app, "PUT", &format!("/api/v1/apps/{app_id}"), &root,
            Some(json!({"standardClaims": true}))).await;
        assert_eq!((status, &body["app"]["standardClaims"]), (200, &json!(true)), "{body}");
        let browser = Browser::new(&app);
        let email = format!("standard.{backend:?}@example.com").to_lowercase();
        let openid = authorize_url(&client_id, CB, &[("scope", "openid")]);
        let redirect = sign_up(&browser, &openid, &email, CB).await;
        let claims = id_token_of(&app, &client_id, &redirect).await;
        for absent in ["roles", "locale", "email", "first_name", "last_name", "given_name"] {
            assert!(claims.get(absent).is_none(), "{absent} in {claims}");
        }
        // Asked by name with the claims parameter (OIDC Core §5.5).
        let asked = json!({"id_token": {"email": {"essential": true}, "roles": null, "given_name": null}}).to_string();
        let url = authorize_url(&client_id, CB, &[("scope", "openid"), ("claims", &asked)]);
        let page = browser.follow(browser.get(&url).await, CB).await;
        let claims = id_token_of(&app, &client_id, page.location.as_deref().unwrap()).await;
        assert_eq!((&claims["email"], &claims["roles"], &claims["given_name"]), (&json!(email), &json!([]), &json!("Ada")), "{claims}");
        assert!(claims.get("locale").is_none(), "{claims}");
        // A claims parameter that is not JSON is sent back to the client.
        let bad = authorize_url(&client_id, CB, &[("claims", "{not json")]);
        let location = browser.get(&bad).await.location.unwrap_or_default();
        assert!(location.starts_with(CB) && location.contains("error=invalid_request"), "{location}");
        // acr asked through claims with two factors: the session is not enough.
        let acr = json!({"id_token": {"acr": {"essential": true, "values": ["urn:gatehouse:loa:2fa"]}}}).to_string();
        let url = authorize_url(&client_id, CB, &[("claims", &acr)]);
        let page = browser.follow(browser.get(&url).await, CB).await;
        assert!(page.html.contains("sign-in-form"), "{:?} {}", page.location, page.html);
        // A Melody-shaped app keeps roles and locale without asking.
        let (_, melody, _) = create_app(&app, "Melody", "spa", &[CB]).await;
        let page = browser.follow(browser.get(&authorize_url(&melody, CB, &[("scope", "openid")])).await, CB).await;
        let page = past_consent(&browser, page, CB).await;
        let claims = id_token_of(&app, &melody, page.location.as_deref().unwrap()).await;
        assert!(claims["roles"].is_array() && claims["locale"].is_string(), "{claims}");
    }
}

backend_tests! {
    async fn the_claims_parameter_reaches_userinfo_and_names_the_account(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let (_, client_id, _) = create_app(&app, "Asker", "spa", &[CB]).await;
        let email = format!("asker.{backend:?}@example.com").to_lowercase();
        let browser = Browser::new(&app);
        let asked = json!({"userinfo": {"phone_number": null, "address": null}}).to_string();
        let url = authorize_url(&client_id, CB, &[("claims", &asked)]);
        let redirect = sign_up(&browser, &url, &email, CB).await;
        let user = user_by_email(&app, &email).await;
        let auth_id = user["authId"].as_str().unwrap().to_owned();
        let (status, _) = call(&app, "PUT", &format!("/api/v1/users/{auth_id}"), &root,
            Some(json!({"phoneNumber": "+14155550123", "address": {"country": "US"}}))).await;
        assert_eq!(status, 200);
        let code = query_param(&redirect, "code").unwrap();
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CB),
            ("code_verifier", VERIFIER), ("client_id", client_id.as_str())];
        let (status, tokens) = exchange(&app, &form).await;
        assert_eq!(status, 200, "{tokens}");
        let userinfo = |token: String| {
            let app = &app;
            async move {
                app.client.get(app.url("/oauth2/v1/userinfo")).bearer_auth(token).send().await.unwrap()
                    .json::<Value>().await.unwrap()
            }
        };
        // No `phone` or `address` scope, but asked by name.
        let info = userinfo(tokens["access_token"].as_str().unwrap().to_owned()).await;
        assert_eq!((&info["phone_number"], &info["address"]), (&json!("+14155550123"), &json!({"country": "US"})), "{info}");
        // A refresh keeps asking for them.
        let refresh = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", client_id.as_str())];
        let (status, refreshed) = exchange(&app, &refresh).await;
        assert_eq!(status, 200, "{refreshed}");
        let info = userinfo(refreshed["access_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(info["phone_number"], "+14155550123", "{info}");

        // A `sub` value naming another account: the signed-in one may not finish.
        let other = json!({"id_token": {"sub": {"value": "someone-else"}}}).to_string();
        let url = authorize_url(&client_id, CB, &[("claims", &other)]);
        let page = browser.follow(browser.get(&url).await, CB).await;
        assert_eq!(page.status, 400, "{:?} {}", page.location, page.html);
        assert!(page.html.contains("another account"), "{}", page.html);
        let mine = json!({"id_token": {"sub": {"value": auth_id}}}).to_string();
        let url = authorize_url(&client_id, CB, &[("claims", &mine)]);
        let page = browser.follow(browser.get(&url).await, CB).await;
        assert!(page.location.as_deref().is_some_and(|l| l.starts_with(CB)), "{}", page.html);
    }
}
