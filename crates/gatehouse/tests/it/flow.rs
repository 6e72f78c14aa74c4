//! A browser's way through sign-in, driven over HTTP: a cookie jar, redirects followed by hand,
//! forms read from the pages and posted back.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{call, TestApp};

pub const PASSWORD: &str = "Passw0rd!long";
pub const VERIFIER: &str = "a-verifier-that-is-long-enough-to-be-valid-0123456789abcdefghij";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Creates an app through the S2S API; returns (id, client id, secret if any).
pub async fn create_app(
    app: &TestApp,
    name: &str,
    kind: &str,
    redirect_uris: &[&str],
) -> (i64, String, Option<String>) {
    let token = app.admin_token("root").await;
    let (status, body) = call(
        app,
        "POST",
        "/api/v1/apps",
        &token,
        Some(json!({
            "name": name,
            "type": kind,
            "scopes": ["openid", "profile", "offline_access"],
            "redirectUris": redirect_uris,
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let app_json = &body["app"];
    (
        app_json["id"].as_i64().unwrap(),
        app_json["clientId"].as_str().unwrap().to_owned(),
        app_json["secret"].as_str().map(str::to_owned),
    )
}

/// An app of `kind` with the device flow (RFC 8628) turned on through the S2S API; returns its
/// client id and secret (if any).
pub async fn device_app(app: &TestApp, name: &str, kind: &str) -> (String, Option<String>) {
    let (id, client_id, secret) = create_app(app, name, kind, &["https://tv.example/cb"]).await;
    let (path, on) = (
        format!("/api/v1/apps/{id}"),
        json!({ "allowDeviceFlow": true }),
    );
    let (status, body) = call(app, "PUT", &path, &app.admin_token("root").await, Some(on)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["app"]["allowDeviceFlow"], true, "{body}");
    (client_id, secret)
}

/// A browser: its own cookie jar, no automatic redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self::with_headers(app, reqwest::header::HeaderMap::new())
    }

    /// A browser whose every request says `Accept-Language: <languages>`.
    pub fn speaking(app: &TestApp, languages: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT_LANGUAGE, languages.parse().unwrap());
        Self::with_headers(app, headers)
    }

    /// A browser (cookies kept, redirects not followed) sending `headers` with every request.
    pub fn with_headers(app: &TestApp, headers: reqwest::header::HeaderMap) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            base: app.url(""),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    async fn page(&self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| self.absolute(l.to_str().unwrap()));
        Page {
            status,
            location,
            html: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        let url = self.absolute(url);
        let response = self.http.get(&url).send().await.unwrap();
        self.page(response).await
    }

    pub async fn post(&self, url: &str, form: &[(String, String)]) -> Page {
        let url = self.absolute(url);
        let response = self.http.post(&url).form(form).send().await.unwrap();
        self.page(response).await
    }

    /// Follows redirects until a page (not a redirect) or a URL starting with `stop`.
    pub async fn follow(&self, mut page: Page, stop: &str) -> Page {
        for _ in 0..10 {
            match &page.location {
                Some(next) if next.starts_with(stop) => return page,
                Some(next) if (300..400).contains(&page.status) => {
                    let next = next.clone();
                    page = self.get(&next).await;
                }
                _ => return page,
            }
        }
        panic!("too many redirects");
    }
}

/// The value of `<input name="NAME" … value="…">` in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].replace("&amp;", "&"))
}

/// The hidden fields of the page's form plus `extra`.
pub fn form_fields(html: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = ["tx", "csrf_token"]
        .iter()
        .filter_map(|n| input_value(html, n).map(|v| ((*n).to_owned(), v)))
        .collect();
    fields.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    fields
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `value` encoded for a query string.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).unwrap()[2..].to_owned()
}

pub fn authorize_url(client_id: &str, redirect_uri: &str, extra: &[(&str, &str)]) -> String {
    let challenge = challenge(VERIFIER);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", "state-123"),
        ("scope", "openid profile offline_access"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("nonce", "nonce-456"),
    ];
    for (k, v) in extra {
        params.retain(|(key, _)| key != k);
        params.push((k, v));
    }
    format!(
        "/oauth2/v1/authorize?{}",
        serde_urlencoded::to_string(&params).unwrap()
    )
}

/// Signs a new user up from an authorization URL and accepts consent; returns the final
/// redirect to the client.
pub async fn sign_up(
    browser: &Browser,
    authorize: &str,
    email: &str,
    redirect_uri: &str,
) -> String {
    let page = browser
        .follow(browser.get(authorize).await, redirect_uri)
        .await;
    assert_eq!(page.status, 200, "sign-in page: {}", page.html);
    let tx = input_value(&page.html, "tx").unwrap();
    let fields = sign_up_form(browser, &tx, email, ADA_NAMES).await;
    let after = browser.post("/identity/v1/view/sign-up", &fields).await;
    finish_consent(browser, after, redirect_uri).await
}

/// The names the test sign-ups give.
pub const ADA_NAMES: &[(&str, &str)] = &[("first_name", "Ada"), ("last_name", "Lovelace")];

/// The sign-up form of transaction `tx`, filled with `email`, the test password and `names`.
pub async fn sign_up_form(
    browser: &Browser,
    tx: &str,
    email: &str,
    names: &[(&str, &str)],
) -> Vec<(String, String)> {
    let form = browser
        .get(&format!("/identity/v1/view/sign-up?tx={tx}"))
        .await;
    assert_eq!(form.status, 200, "{}", form.html);
    let mut extra = vec![("email", email), ("password", PASSWORD)];
    extra.extend_from_slice(names);
    form_fields(&form.html, &extra)
}

/// Posts the hidden form `form_id` of `page` to `path` (a sign-in button); the redirect it
/// answers with.
pub async fn press_form(browser: &Browser, page: &Page, form_id: &str, path: &str) -> String {
    let fields = hidden_fields(&page.html, form_id, &[]);
    let sent = browser.post(path, &fields).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    sent.location.unwrap()
}

/// Accepts the consent page, if `page` is one; the page after it (redirects followed until
/// `redirect_uri`).
pub async fn past_consent(browser: &Browser, page: Page, redirect_uri: &str) -> Page {
    if !page.html.contains("consent-form") {
        return page;
    }
    let fields = form_fields(&page.html, &[("decision", "accept")]);
    browser
        .follow(
            browser.post("/identity/v1/view/consent", &fields).await,
            redirect_uri,
        )
        .await
}

/// Accepts consent if asked; returns the redirect to the client.
pub async fn finish_consent(browser: &Browser, page: Page, redirect_uri: &str) -> String {
    let page = browser.follow(page, redirect_uri).await;
    if let Some(loc) = page
        .location
        .as_deref()
        .filter(|l| l.starts_with(redirect_uri))
    {
        return loc.to_owned();
    }
    assert!(
        page.html.contains("consent-form"),
        "expected consent: {} {}",
        page.status,
        page.html
    );
    let fields = form_fields(&page.html, &[("decision", "accept")]);
    let done = browser.post("/identity/v1/view/consent", &fields).await;
    let loc = done
        .location
        .clone()
        .unwrap_or_else(|| panic!("no redirect after consent: {}", done.html));
    assert!(loc.starts_with(redirect_uri), "{loc}");
    loc
}

/// Signs an existing user in from an authorization URL; returns the final redirect or page.
pub async fn sign_in(
    browser: &Browser,
    authorize: &str,
    email: &str,
    password: &str,
    redirect_uri: &str,
) -> Page {
    let page = browser
        .follow(browser.get(authorize).await, redirect_uri)
        .await;
    if page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with(redirect_uri))
    {
        return page;
    }
    let fields = form_fields(&page.html, &[("email", email), ("password", password)]);
    browser.post("/identity/v1/view/authorize", &fields).await
}

/// Submits `code` on the step page `page` (its `step-form`) to `path`; the error shown, if any.
pub async fn submit_step_code(browser: &Browser, page: &Page, path: &str, code: &str) -> String {
    let answer = browser
        .post(
            path,
            &hidden_fields(&page.html, "step-form", &[("code", code)]),
        )
        .await;
    error_text(&answer.html)
}

pub async fn exchange(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url("/oauth2/v1/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Exchanges the code an app's final `redirect` carries (PKCE with [`VERIFIER`]) for tokens;
/// returns the ID token's claims.
pub async fn id_token_claims(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
    redirect: &str,
) -> Value {
    let tokens = code_tokens(app, client_id, redirect_uri, redirect).await;
    crate::harness::jwt_part(tokens["id_token"].as_str().unwrap(), 1)
}

/// Exchanges the code an app's final `redirect` carries (PKCE with [`VERIFIER`]); the token
/// endpoint's answer, which must be a success.
pub async fn code_tokens(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
    redirect: &str,
) -> Value {
    let code = query_param(redirect, "code").unwrap_or_else(|| panic!("no code: {redirect}"));
    let (status, tokens) = exchange(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// [`id_token_claims`]' `sub`.
pub async fn id_token_subject(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
    redirect: &str,
) -> String {
    let claims = id_token_claims(app, client_id, redirect_uri, redirect).await;
    claims["sub"].as_str().unwrap().to_owned()
}

/// The hidden inputs of the form with id `form_id`, plus `extra`.
pub fn hidden_fields(html: &str, form_id: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let start = html
        .find(&format!("id=\"{form_id}\""))
        .unwrap_or_else(|| panic!("no form {form_id} in {html}"));
    let end = start + html[start..].find("</form>").unwrap();
    let mut fields = Vec::new();
    let mut rest = &html[start..end];
    while let Some(at) = rest.find("type=\"hidden\"") {
        let tag_start = rest[..at].rfind('<').unwrap();
        let tag_end = at + rest[at..].find('>').unwrap();
        let tag = &rest[tag_start..=tag_end];
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            let v = tag.find(&marker)? + marker.len();
            let e = tag[v..].find('"')?;
            Some(unescape(&tag[v..v + e]))
        };
        fields.push((attr("name").unwrap(), attr("value").unwrap_or_default()));
        rest = &rest[tag_end..];
    }
    fields.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    fields
}

/// The text of the page's refusal (`<p class="error" role="alert">`), or "".
pub fn error_text(html: &str) -> String {
    let marker = "class=\"error\" role=\"alert\">";
    let Some(at) = html.find(marker) else {
        return String::new();
    };
    let start = at + marker.len();
    let end = start + html[start..].find('<').unwrap();
    unescape(&html[start..end])
}

/// Undoes the pages' HTML escaping.
pub fn unescape(text: &str) -> String {
    text.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The first user the management API finds for `email`, as it shows them.
pub(crate) async fn user_by_email(app: &TestApp, email: &str) -> Value {
    let token = app.admin_token("root").await;
    let path = format!("/api/v1/users?search={email}");
    let (status, body) = call(app, "GET", &path, &token, None).await;
    assert_eq!(status, 200, "{body}");
    body["users"][0].clone()
}
