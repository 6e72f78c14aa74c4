//! Custom user attributes at sign-up: the form asks for them, checks them, stores them, and
//! the ID token, userinfo and the management API show them.

use serde_json::{json, Value};

use crate::flow::*;
use crate::harness::{backend_tests, call, jwt_part, TestApp};

const CB: &str = "http://127.0.0.1:5173/cb";
const ORIGIN: &str = "http://127.0.0.1:5173";

async fn attribute(app: &TestApp, token: &str, body: Value) -> i64 {
    let (status, created) = call(app, "POST", "/api/v1/user-attributes", token, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["userAttribute"]["id"].as_i64().unwrap()
}

async fn user_count(app: &TestApp, token: &str) -> u64 {
    let (status, body) = call(app, "GET", "/api/v1/users", token, None).await;
    assert_eq!(status, 200, "{body}");
    body["users"].as_array().unwrap().len() as u64
}

backend_tests! {
    async fn sign_up_asks_checks_and_stores_custom_attributes(backend: Backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.enable_user_attribute = true;
            c.embedded_auth_origins = vec![ORIGIN.into()];
        })
        .await;
        let admin = app.admin_token("root").await;
        let employee = attribute(&app, &admin, json!({
            "name": "employeeId", "includeInSignUpForm": true, "requiredInSignUpForm": true,
            "includeInIdTokenBody": true, "includeInUserInfo": true, "unique": true,
            "validationRegex": "^E[0-9]{4}$",
            "validationLocales": [{"locale": "en", "value": "Use E and four digits"}],
            "locales": [{"locale": "en", "value": "Employee number"}],
        })).await;
        let nickname = attribute(&app, &admin, json!({"name": "nickname", "includeInSignUpForm": true})).await;
        let internal = attribute(&app, &admin, json!({"name": "internal", "includeInSignUpForm": false})).await;
        let (_, client_id, _) = create_app(&app, "Attributes", "spa", &[CB]).await;

        let browser = Browser::new(&app);
        let page = browser.follow(browser.get(&authorize_url(&client_id, CB, &[])).await, CB).await;
        let tx = input_value(&page.html, "tx").unwrap();
        let form = browser.get(&format!("/identity/v1/view/sign-up?tx={tx}")).await;
        assert_eq!(form.status, 200);
        assert!(form.html.contains(">Employee number</label>"), "{}", form.html);
        assert!(form.html.contains(&format!("name=\"attribute.{employee}\" type=\"text\" maxlength=\"255\" required")), "{}", form.html);
        assert!(form.html.contains(&format!("name=\"attribute.{nickname}\"")));
        assert!(!form.html.contains(&format!("name=\"attribute.{internal}\"")), "not on the form");

        let employee_input = format!("attribute.{employee}");
        let nickname_input = format!("attribute.{nickname}");
        let internal_input = format!("attribute.{internal}");
        let base = [("email", "attr@example.com"), ("password", PASSWORD), ("first_name", "Ada"), ("last_name", "L")];
        let refused: [(&[(&str, &str)], &str); 3] = [
            (&[(nickname_input.as_str(), "Ada")], "Attribute is required: employeeId"),
            (&[(employee_input.as_str(), "X1")], "Use E and four digits"),
            (&[(employee_input.as_str(), "E1234"), (internal_input.as_str(), "x")], "Unknown attribute"),
        ];
        for (extra, message) in refused {
            let mut fields = form_fields(&form.html, &base);
            fields.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            let page = browser.post("/identity/v1/view/sign-up", &fields).await;
            assert_eq!(page.status, 400, "{}", page.html);
            assert!(page.html.contains(message), "{message}: {}", page.html);
            assert_eq!(user_count(&app, &admin).await, 0, "a refused sign-up created a user");
        }
        // The refused form keeps what was typed.
        let mut fields = form_fields(&form.html, &base);
        fields.push((employee_input.clone(), "X1".into()));
        let page = browser.post("/identity/v1/view/sign-up", &fields).await;
        assert!(page.html.contains("value=\"X1\""), "{}", page.html);

        let mut fields = form_fields(&form.html, &base);
        fields.push((employee_input.clone(), " E1234 ".into()));
        fields.push((nickname_input.clone(), "Countess".into()));
        let after = browser.post("/identity/v1/view/sign-up", &fields).await;
        let redirect = finish_consent(&browser, after, CB).await;
        let code = query_param(&redirect, "code").unwrap();
        let (status, tokens) = exchange(&app, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", VERIFIER), ("client_id", &client_id)]).await;
        assert_eq!(status, 200, "{tokens}");
        let id = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(id["attributes"], json!({"employeeId": "E1234"}), "only attributes flagged for ID tokens");
        let me: Value = reqwest::Client::new()
            .get(app.url("/oauth2/v1/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(me["attributes"], json!({"employeeId": "E1234"}), "{me}");
        let auth_id = id["sub"].as_str().unwrap();
        let (status, detail) = call(&app, "GET", &format!("/api/v1/users/{auth_id}"), &admin, None).await;
        assert_eq!(status, 200);
        assert_eq!(detail["user"]["attributes"], json!({"employeeId": "E1234", "nickname": "Countess"}), "{detail}");

        // The embedded API lists the same fields and applies the same rules.
        let (s, body) = embedded(&app, "/embedded-auth/v1/initiate", json!({
            "clientId": client_id, "redirectUri": CB, "codeChallenge": challenge(VERIFIER),
            "codeChallengeMethod": "S256", "scopes": ["openid", "profile"], "locale": "en",
        })).await;
        assert_eq!(s, 200, "{body}");
        let session = body["sessionId"].as_str().unwrap().to_owned();
        let listed: Value = reqwest::Client::new()
            .get(app.url(&format!("/embedded-auth/v1/{session}/sign-up")))
            .header("Origin", ORIGIN)
            .send().await.unwrap().json().await.unwrap();
        let names: Vec<_> = listed["userAttributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["employeeId", "nickname"], "{listed}");
        assert_eq!(listed["userAttributes"][0]["requiredInSignUpForm"], true);
        let sign_up = format!("/embedded-auth/v1/{session}/sign-up");
        let (s, body) = embedded(&app, &sign_up, json!({"email": "twin@example.com", "password": PASSWORD, "firstName": "T", "lastName": "W", "attributes": {employee.to_string(): "E1234"}})).await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(body["error_description"], "Duplicate value \"E1234\" for attribute \"employeeId\"");
        let (s, body) = embedded(&app, &sign_up, json!({"email": "twin@example.com", "password": PASSWORD, "firstName": "T", "lastName": "W", "attributes": {"not-an-id": "x"}})).await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(user_count(&app, &admin).await, 1);
        let (s, body) = embedded(&app, &sign_up, json!({"email": "twin@example.com", "password": PASSWORD, "firstName": "T", "lastName": "W", "attributes": {employee.to_string(): "E4321"}})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(user_count(&app, &admin).await, 2);
    }
}

async fn embedded(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    crate::harness::post_from_origin(app, path, ORIGIN, body).await
}
