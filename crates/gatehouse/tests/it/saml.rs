//! SAML 2.0 SP through HTTP: a test IdP made here (an RSA key and a self-signed certificate, its
//! metadata registered through the S2S API, its responses signed with xml-sec), driven as a
//! browser would from `/authorize?policy=saml_sso_<idp>` to the token endpoint.

use std::io::Read;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use xml_sec::c14n::{C14nAlgorithm, C14nMode};
use xml_sec::xmldsig::{
    DigestAlgorithm, ReferenceBuilder, RsaSigningKey, SignContext, SignatureAlgorithm,
    SignatureBuilder, Transform, X509CertificateKeyInfoWriter,
};

use crate::flow::{
    authorize_url, create_app, finish_consent, id_token_subject, query_param, unescape, Browser,
    Page,
};
use crate::harness::{backend_tests, call, token_with, TestApp};

const APP_CB: &str = "http://127.0.0.1:9999/cb";
const IDP: &str = "corp";
const IDP_ENTITY: &str = "https://idp.corp.test/entity";
const IDP_SSO: &str = "https://idp.corp.test/sso";
const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// The test IdP's signing key and certificate.
struct TestIdp {
    key_pem: String,
    cert_pem: String,
}

impl TestIdp {
    fn new() -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["idp.corp.test".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        Self {
            key_pem: key.serialize_pem(),
            cert_pem: cert.pem(),
        }
    }

    fn cert_base64(&self) -> String {
        self.cert_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect()
    }

    fn metadata(&self) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP_ENTITY}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="{PROTOCOL_NS}">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{IDP_SSO}/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{IDP_SSO}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
            cert = self.cert_base64()
        )
    }

    /// Signs the element with `id` (an enveloped signature placed at `<!--SIG-->`).
    fn sign(&self, xml: &str, id: &str) -> String {
        let c14n = C14nAlgorithm::new(C14nMode::Exclusive1_0, false);
        let template = SignatureBuilder::new(c14n.clone(), SignatureAlgorithm::RsaSha256)
            .add_reference(
                ReferenceBuilder::new(DigestAlgorithm::Sha256)
                    .uri(format!("#{id}"))
                    .transform(Transform::Enveloped)
                    .transform(Transform::C14n(c14n)),
            )
            .key_info(true)
            .build_template()
            .unwrap();
        let with_template = xml
            .replacen("<!--SIG-->", &template, 1)
            .replace("<!--SIG-->", "");
        let key = RsaSigningKey::from_pkcs8_pem(&self.key_pem).unwrap();
        let key_info = X509CertificateKeyInfoWriter::from_pem(&self.cert_pem).unwrap();
        SignContext::new(&key)
            .key_info_writer(&key_info)
            .sign_template(&with_template)
            .unwrap()
    }
}

/// What the IdP says in one response; `Default` is a good answer to `request_id`.
struct Answer {
    request_id: String,
    response_id: String,
    assertion_id: String,
    destination: String,
    audience: String,
    recipient: String,
    issued: i64,
    not_on_or_after: i64,
    uid: String,
    email: String,
    /// Placed after the assertion, inside the Response.
    extra: String,
}

fn instant(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn random_id() -> String {
    format!("_{}", uuid::Uuid::new_v4().simple())
}

impl Answer {
    fn to(app: &TestApp, request_id: &str) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self {
            request_id: request_id.to_owned(),
            response_id: random_id(),
            assertion_id: random_id(),
            destination: app.url("/saml/sp/v1/acs"),
            audience: app.url("/saml/sp/v1/metadata"),
            recipient: app.url("/saml/sp/v1/acs"),
            issued: now,
            not_on_or_after: now + 300,
            uid: "u-1001".into(),
            email: "ada@corp.test".into(),
            extra: String::new(),
        }
    }

    fn assertion(&self, signature_slot: &str) -> String {
        let (issued, end) = (instant(self.issued), instant(self.not_on_or_after));
        format!(
            r#"<saml:Assertion xmlns:saml="{ASSERTION_NS}" ID="{aid}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer>{signature_slot}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{end}" Recipient="{rcpt}" InResponseTo="{irt}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{issued}" NotOnOrAfter="{end}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="uid"><saml:AttributeValue>{uid}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="mail"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="givenName"><saml:AttributeValue>Ada</saml:AttributeValue></saml:Attribute><saml:Attribute Name="sn"><saml:AttributeValue>Lovelace</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
            aid = self.assertion_id,
            email = self.email,
            rcpt = self.recipient,
            irt = self.request_id,
            aud = self.audience,
            uid = self.uid,
        )
    }

    /// The Response XML, with `<!--SIG-->` where the response's or the assertion's signature goes.
    fn xml(&self, sign_response: bool) -> String {
        let (response_slot, assertion_slot) = if sign_response {
            ("<!--SIG-->", "")
        } else {
            ("", "<!--SIG-->")
        };
        format!(
            r#"<samlp:Response xmlns:samlp="{PROTOCOL_NS}" xmlns:saml="{ASSERTION_NS}" ID="{rid}" Version="2.0" IssueInstant="{issued}" Destination="{dest}" InResponseTo="{irt}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer>{response_slot}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}{extra}</samlp:Response>"#,
            rid = self.response_id,
            issued = instant(self.issued),
            dest = self.destination,
            irt = self.request_id,
            assertion = self.assertion(assertion_slot),
            extra = self.extra,
        )
    }

    /// Signed by `idp` on the assertion.
    fn signed(&self, idp: &TestIdp) -> String {
        idp.sign(&self.xml(false), &self.assertion_id)
    }
}

async fn register_idp(app: &TestApp, idp: &TestIdp, name: &str) -> i64 {
    let root = app.admin_token("root").await;
    let (status, body) = call(app, "POST", "/api/v1/saml/idps", &root, Some(json!({
        "name": name, "userIdAttribute": "uid", "emailAttribute": "mail",
        "firstNameAttribute": "givenName", "lastNameAttribute": "sn", "metadata": idp.metadata(),
    }))).await;
    assert_eq!(status, 201, "{body}");
    body["idp"]["id"].as_i64().unwrap()
}

async fn spawn(backend: crate::harness::Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| c.enable_saml_sso_as_sp = true).await
}

/// A server with an IdP registered as `IDP`: the server, the IdP, its id and an app's client id.
async fn spawn_with_idp(backend: crate::harness::Backend) -> (TestApp, TestIdp, i64, String) {
    let app = spawn(backend).await;
    let idp = TestIdp::new();
    let id = register_idp(&app, &idp, IDP).await;
    let (_, client_id, _) = create_app(&app, "SAML app", "spa", &[APP_CB]).await;
    (app, idp, id, client_id)
}

/// A sign-in sent to the IdP: the decoded AuthnRequest and the RelayState.
struct SentRequest {
    xml: String,
    relay_state: String,
}

impl SentRequest {
    fn attribute(&self, name: &str) -> String {
        let marker = format!(" {name}=\"");
        let at = self
            .xml
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name}: {}", self.xml))
            + marker.len();
        let end = self.xml[at..].find('"').unwrap();
        self.xml[at..at + end].to_owned()
    }

    fn id(&self) -> String {
        self.attribute("ID")
    }
}

/// Starts a sign-in at `path` (authorize or the SAML login) and reads what goes to the IdP.
async fn send_to_idp(browser: &Browser, path: &str) -> SentRequest {
    let page = browser.get(path).await;
    assert_eq!(page.status, 303, "{}", page.html);
    let location = page.location.unwrap();
    assert!(location.starts_with(&format!("{IDP_SSO}?")), "{location}");
    let deflated = STANDARD
        .decode(query_param(&location, "SAMLRequest").unwrap())
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    SentRequest {
        xml,
        relay_state: query_param(&location, "RelayState").unwrap(),
    }
}

/// The IdP's page posting the response: a cross-site form POST.
async fn post_to_acs(browser: &Browser, response_xml: &str, relay_state: &str) -> Page {
    let response = browser
        .http
        .post(format!("{}/saml/sp/v1/acs", browser.base))
        .header("Origin", "https://idp.corp.test")
        .form(&[
            ("SAMLResponse", STANDARD.encode(response_xml)),
            ("RelayState", relay_state.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
        html: response.text().await.unwrap(),
    }
}

/// Exactly one user came in through the IdP.
async fn assert_one_saml_user(app: &TestApp) {
    let users = crate::federation::social_users(app).await;
    assert_eq!(saml_users(&users).len(), 1, "{users:?}");
}

fn saml_users(users: &[Value]) -> Vec<Value> {
    users
        .iter()
        .filter(|u| u["socialAccountType"] == json!(format!("SAML_{IDP}")))
        .cloned()
        .collect()
}

/// Finishes a sign-in the ACS accepted: back to the app (through consent), the code exchanged;
/// returns the ID token's subject.
async fn finish(app: &TestApp, browser: &Browser, accepted: Page, client_id: &str) -> String {
    assert_eq!(accepted.status, 303, "{}", accepted.html);
    assert!(
        accepted
            .location
            .as_deref()
            .unwrap()
            .contains("/saml/sp/v1/acs/return?key="),
        "{:?}",
        accepted.location
    );
    let done = finish_consent(browser, accepted, APP_CB).await;
    id_token_subject(app, client_id, APP_CB, &done).await
}

fn authorize(client_id: &str) -> String {
    authorize_url(client_id, APP_CB, &[("policy", "saml_sso_corp")])
}

/// The page says the response was refused for `reason`.
fn assert_refused(page: &Page, reason: &str) {
    assert_eq!(page.status, 400, "{reason}: {}", page.html);
    let text = unescape(&page.html);
    assert!(
        text.contains(&format!("Invalid SAML response: {reason}")),
        "{reason}: {text}"
    );
}

backend_tests! {
    async fn a_signed_assertion_signs_the_user_in_and_finds_them_again(backend: Backend) {
        let (app, idp, _, client_id) = spawn_with_idp(backend).await;

        let browser = Browser::new(&app);
        let sent = send_to_idp(&browser, &authorize(&client_id)).await;
        let id = sent.id();
        assert!(id.starts_with('_') && id.len() > 30, "{id}");
        assert_eq!(sent.attribute("Destination"), IDP_SSO);
        assert_eq!(sent.attribute("AssertionConsumerServiceURL"), app.url("/saml/sp/v1/acs"));
        assert_eq!(sent.attribute("ProtocolBinding"), "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
        assert!(sent.xml.contains(&format!("<saml:Issuer>{}</saml:Issuer>", app.url("/saml/sp/v1/metadata"))), "{}", sent.xml);
        assert!(sent.attribute("IssueInstant").ends_with('Z'));

        let answer = Answer::to(&app, &id);
        let accepted = post_to_acs(&browser, &answer.signed(&idp), &sent.relay_state).await;
        let sub = finish(&app, &browser, accepted, &client_id).await;

        let root = token_with(&app, &app.admin_token("root").await, &["read_user"]).await;
        let (status, body) = call(&app, "GET", &format!("/api/v1/users/{sub}"), &root, None).await;
        assert_eq!(status, 200, "{body}");
        let user = &body["user"];
        assert_eq!(user["socialAccountType"], "SAML_corp", "{user}");
        assert_eq!(user["socialAccountId"], "u-1001");
        assert_eq!(user["email"], "ada@corp.test");
        assert_eq!(user["firstName"], "Ada");
        assert_eq!(user["lastName"], "Lovelace");

        // A second sign-in (a new browser; the Response signed this time) finds the same user.
        let browser = Browser::new(&app);
        let sent = send_to_idp(&browser, &format!("/saml/sp/v1/login?{}", authorize(&client_id).split_once('?').unwrap().1)).await;
        let answer = Answer::to(&app, &sent.id());
        let signed = idp.sign(&answer.xml(true), &answer.response_id);
        let accepted = post_to_acs(&browser, &signed, &sent.relay_state).await;
        assert_eq!(finish(&app, &browser, accepted, &client_id).await, sub);
        assert_one_saml_user(&app).await;
    }

    async fn refused_responses_say_why_and_make_nobody(backend: Backend) {
        let (app, idp, _, client_id) = spawn_with_idp(backend).await;
        let before = app.isolation.table_counts().await;
        let other_key = TestIdp::new();

        type Case = (&'static str, fn(&TestApp, &TestIdp, &TestIdp, &str) -> String);
        let cases: Vec<Case> = vec![
            ("signature", |app, idp, _, id| {
                // An attribute changed after signing.
                Answer::to(app, id).signed(idp).replace("ada@corp.test", "eve@corp.test")
            }),
            ("signature", |app, _, other, id| Answer::to(app, id).signed(other)),
            ("signature", |app, _, _, id| Answer::to(app, id).xml(false)),
            ("audience", |app, idp, _, id| {
                Answer { audience: "https://another-sp.test".into(), ..Answer::to(app, id) }.signed(idp)
            }),
            ("destination", |app, idp, _, id| {
                Answer { destination: "https://another-sp.test/acs".into(), ..Answer::to(app, id) }.signed(idp)
            }),
            ("recipient", |app, idp, _, id| {
                Answer { recipient: "https://another-sp.test/acs".into(), ..Answer::to(app, id) }.signed(idp)
            }),
            ("InResponseTo", |app, idp, _, _| Answer::to(app, "_not-the-request").signed(idp)),
            ("expired", |app, idp, _, id| {
                let now = chrono::Utc::now().timestamp();
                Answer { issued: now - 900, not_on_or_after: now - 600, ..Answer::to(app, id) }.signed(idp)
            }),
            ("the response must carry exactly one assertion", |app, idp, _, id| {
                // Signature wrapping: the signed assertion kept, an unsigned one injected.
                let signed = Answer::to(app, id).signed(idp);
                let injected = Answer { uid: "admin".into(), assertion_id: random_id(), ..Answer::to(app, id) }.assertion("");
                signed.replacen("<samlp:Status>", &format!("{injected}<samlp:Status>"), 1)
            }),
            ("the response must carry exactly one assertion", |app, idp, _, id| {
                // Wrapping the other way: the signed assertion moved into Extensions, a forged one
                // with the same ID in its place.
                let answer = Answer::to(app, id);
                let signed = answer.signed(idp);
                let start = signed.find("<saml:Assertion").unwrap();
                let end = signed.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
                let forged = Answer { uid: "admin".into(), ..Answer::to(app, id) }.assertion("");
                format!("{}<samlp:Extensions>{}</samlp:Extensions>{}{}", &signed[..start], &signed[start..end], forged, &signed[end..])
            }),
            ("signature", |app, idp, _, id| {
                // A valid signature by the IdP's key, over another element than the assertion.
                let xml = Answer::to(app, id).xml(false).replace("<!--SIG-->", "").replacen(
                    "<samlp:Status>",
                    "<samlp:Extensions ID=\"_ext\"><!--SIG--></samlp:Extensions><samlp:Status>",
                    1,
                );
                idp.sign(&xml, "_ext")
            }),
            ("DOCTYPE", |app, idp, _, id| {
                format!("<!DOCTYPE r [<!ENTITY who \"admin\">]>{}", Answer::to(app, id).signed(idp))
            }),
            ("encrypted assertions are not supported", |app, idp, _, id| {
                Answer { extra: format!("<saml:EncryptedAssertion xmlns:saml=\"{ASSERTION_NS}\"/>"), ..Answer::to(app, id) }.signed(idp)
            }),
        ];
        for (reason, make) in cases {
            let browser = Browser::new(&app);
            let sent = send_to_idp(&browser, &authorize(&client_id)).await;
            let response = make(&app, &idp, &other_key, &sent.id());
            assert_refused(&post_to_acs(&browser, &response, &sent.relay_state).await, reason);
        }

        // A RelayState that was never handed out, or is used a second time.
        let browser = Browser::new(&app);
        let sent = send_to_idp(&browser, &authorize(&client_id)).await;
        let good = Answer::to(&app, &sent.id()).signed(&idp);
        assert_refused(&post_to_acs(&browser, &good, "made-up").await, "unknown RelayState");
        assert_refused(&post_to_acs(&browser, &good, "").await, "unknown RelayState");
        assert_eq!(app.isolation.table_counts().await, before);

        // Accepted once; the same Response again, even for a new request, is a replay.
        let accepted = post_to_acs(&browser, &good, &sent.relay_state).await;
        assert_eq!(accepted.status, 303, "{}", accepted.html);
        assert_refused(&post_to_acs(&browser, &good, &sent.relay_state).await, "unknown RelayState");
        let again = send_to_idp(&browser, &authorize(&client_id)).await;
        assert_refused(&post_to_acs(&browser, &good, &again.relay_state).await, "replay");
        finish(&app, &browser, accepted, &client_id).await;
        assert_one_saml_user(&app).await;
    }

    async fn the_return_from_the_acs_belongs_to_the_browser_that_began(backend: Backend) {
        let (app, idp, _, client_id) = spawn_with_idp(backend).await;
        let before = app.isolation.table_counts().await;
        let victim = Browser::new(&app);
        let sent = send_to_idp(&victim, &authorize(&client_id)).await;
        let accepted = post_to_acs(&victim, &Answer::to(&app, &sent.id()).signed(&idp), &sent.relay_state).await;
        assert_eq!(accepted.status, 303, "{}", accepted.html);
        // Another browser cannot finish it, and the key is gone after one use.
        let stranger = Browser::new(&app);
        let stolen = stranger.get(accepted.location.as_deref().unwrap()).await;
        assert_eq!(stolen.status, 403, "{}", stolen.html);
        let again = victim.get(accepted.location.as_deref().unwrap()).await;
        assert_eq!(again.status, 404, "{}", again.html);
        assert_eq!(app.isolation.table_counts().await, before);
    }

    async fn unknown_or_inactive_idps_are_refused_before_anything_starts(backend: Backend) {
        let (app, _idp, id, client_id) = spawn_with_idp(backend).await;
        let browser = Browser::new(&app);
        let page = browser.get(&authorize_url(&client_id, APP_CB, &[("policy", "saml_sso_nobody")])).await;
        assert_eq!(page.status, 400, "{}", page.html);
        assert!(unescape(&page.html).contains("No active SAML IdP is named `nobody`"), "{}", page.html);

        let root = app.admin_token("root").await;
        let (status, body) = call(&app, "PUT", &format!("/api/v1/saml/idps/{id}"), &root, Some(json!({"isActive": false}))).await;
        assert_eq!(status, 200, "{body}");
        let page = browser.get(&authorize(&client_id)).await;
        assert_eq!(page.status, 400, "{}", page.html);
        assert!(unescape(&page.html).contains("No active SAML IdP is named `corp`"), "{}", page.html);

        // Metadata without a redirect SSO service is named as the problem.
        let (status, body) = call(&app, "POST", "/api/v1/saml/idps", &root, Some(json!({
            "name": "broken", "userIdAttribute": "uid",
            "metadata": "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"><md:IDPSSODescriptor/></md:EntityDescriptor>",
        }))).await;
        assert_eq!(status, 201, "{body}");
        let page = browser.get(&authorize_url(&client_id, APP_CB, &[("policy", "saml_sso_broken")])).await;
        assert_eq!(page.status, 400, "{}", page.html);
        assert!(unescape(&page.html).contains("no SingleSignOnService for the HTTP-Redirect binding"), "{}", page.html);
        // The login entry needs a SAML policy.
        let page = browser.get("/saml/sp/v1/login?client_id=x").await;
        assert_eq!(page.status, 400, "{}", page.html);
    }

    async fn the_sp_metadata_names_the_acs(backend: Backend) {
        let app = spawn(backend).await;
        let response = app.client.get(app.url("/saml/sp/v1/metadata")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/samlmetadata+xml");
        let xml = response.text().await.unwrap();
        assert!(xml.contains(&format!("entityID=\"{}\"", app.url("/saml/sp/v1/metadata"))), "{xml}");
        assert!(xml.contains(&format!("Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{}\"", app.url("/saml/sp/v1/acs"))), "{xml}");
        assert!(xml.contains("WantAssertionsSigned=\"true\"") && xml.contains("AuthnRequestsSigned=\"false\""), "{xml}");
        assert!(!xml.contains("SingleLogoutService"), "{xml}");
    }

    async fn without_the_feature_there_is_no_sp(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/saml/sp/v1/metadata", "/saml/sp/v1/login", "/saml/sp/v1/acs/return"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 404, "{path}");
        }
        let response = app.client.post(app.url("/saml/sp/v1/acs")).form(&[("SAMLResponse", "x"), ("RelayState", "y")]).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
}
