//! The IdP's Response at the ACS, read from the parsed tree: structure only, no trust (the
//! signature is the server's part, the conditions are `checks`).
//!
//! Reading refuses every shape that lets a signature cover one element while the SP reads
//! another: more than one Assertion, an Assertion that is not a child of the Response, an ID
//! carried by two elements, an EncryptedAssertion (not supported), values split by comments.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use xml_sec::{XmlDomDocument, XmlDomNode};

use super::{ASSERTION_NS, BEARER, PROTOCOL_NS};

/// A posted response larger than this is refused before decoding.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Why a SAML response is refused; shown after "Invalid SAML response: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    #[error("SAMLResponse is missing or not base64")]
    NotBase64,
    #[error("the response is too large")]
    TooLarge,
    #[error("DOCTYPE and entity declarations are not accepted")]
    Doctype,
    #[error("the response is not well-formed XML")]
    Malformed,
    #[error("the document is not a SAML 2.0 Response")]
    NotAResponse,
    #[error("encrypted assertions are not supported; configure the IdP to sign, not encrypt")]
    EncryptedAssertion,
    #[error("the response must carry exactly one assertion")]
    AssertionCount,
    #[error("the assertion must be a direct child of the response")]
    AssertionMisplaced,
    #[error("`{0}` is missing")]
    Missing(&'static str),
    #[error("the ID `{0}` is not unique in the document")]
    DuplicateId(String),
    #[error("`{0}` is split by a comment or holds markup")]
    SplitValue(&'static str),
    #[error("signature: no valid signature by the IdP's key covers the assertion")]
    Signature,
    #[error("status: the IdP answered `{0}`")]
    Status(String),
    #[error("issuer: `{0}` is not the IdP's entity ID")]
    Issuer(String),
    #[error("destination: the response is addressed to `{0}`, not this ACS")]
    Destination(String),
    #[error("InResponseTo: the response does not answer the request this sign-in sent")]
    InResponseTo,
    #[error("audience: the assertion is not restricted to this service provider")]
    Audience,
    #[error("expired: the assertion is not valid now (NotBefore / NotOnOrAfter)")]
    Expired,
    #[error("recipient: no bearer SubjectConfirmation names this ACS")]
    Recipient,
    #[error("replay: this response was already used")]
    Replay,
    #[error("unknown RelayState: this sign-in has expired or was already used")]
    UnknownRelayState,
    #[error("the user ID attribute `{0}` is missing from the assertion")]
    MissingUserId(String),
}

/// One `<saml:Attribute>` with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub friendly_name: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerConfirmation {
    pub not_before: Option<String>,
    pub not_on_or_after: Option<String>,
    pub recipient: Option<String>,
    pub in_response_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionData {
    pub id: String,
    pub issuer: String,
    pub name_id: Option<String>,
    pub bearer: Vec<BearerConfirmation>,
    /// Conditions' NotBefore / NotOnOrAfter.
    pub not_before: Option<String>,
    pub not_on_or_after: Option<String>,
    /// Each AudienceRestriction's audiences; every one must name this SP.
    pub audience_restrictions: Vec<Vec<String>>,
    pub attributes: Vec<Attribute>,
}

/// What a Response says, read without trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseData {
    pub id: String,
    pub issuer: Option<String>,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub status: String,
    pub assertion: AssertionData,
}

/// The POST binding's `SAMLResponse`: base64 of the XML; DOCTYPEs are refused here already.
pub fn decode_post_binding(encoded: &str) -> Result<String, SamlError> {
    if encoded.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4096 {
        return Err(SamlError::TooLarge);
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(SamlError::NotBase64);
    }
    let bytes = STANDARD.decode(compact).map_err(|_| SamlError::NotBase64)?;
    let xml = String::from_utf8(bytes).map_err(|_| SamlError::Malformed)?;
    let upper = xml.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(SamlError::Doctype);
    }
    Ok(xml)
}

fn child<'a, 'i>(node: XmlDomNode<'a, 'i>, ns: &str, name: &str) -> Option<XmlDomNode<'a, 'i>> {
    node.children().find(|n| n.has_tag_name((ns, name)))
}

/// A node's children that are the assertion namespace's element `name`.
fn assertion_children<'a, 'i>(
    node: XmlDomNode<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = XmlDomNode<'a, 'i>> {
    node.children()
        .filter(move |c| c.has_tag_name((ASSERTION_NS, name)))
}

/// The texts of a node's assertion-namespace `name` children, in order.
fn child_texts(node: XmlDomNode<'_, '_>, name: &'static str) -> Result<Vec<String>, SamlError> {
    assertion_children(node, name)
        .map(|c| text(c, name))
        .collect()
}

/// An element's text: all of its direct text, refused when a comment or element splits it
/// (canonicalization drops comments, so a split value could differ from what was signed).
fn text(node: XmlDomNode<'_, '_>, what: &'static str) -> Result<String, SamlError> {
    let mut value = String::new();
    for part in node.children() {
        if part.is_text() {
            value.push_str(part.text().unwrap_or_default());
        } else {
            return Err(SamlError::SplitValue(what));
        }
    }
    Ok(value.trim().to_owned())
}

fn required_child_text(
    node: XmlDomNode<'_, '_>,
    ns: &str,
    name: &'static str,
) -> Result<String, SamlError> {
    let found = child(node, ns, name).ok_or(SamlError::Missing(name))?;
    text(found, name)
}

/// Every element carrying `value` as an ID-like attribute; exactly one may.
fn unique_id(document: &XmlDomDocument<'_>, value: &str) -> Result<(), SamlError> {
    let carriers = document
        .descendants()
        .filter(|n| n.is_element())
        .filter(|n| {
            n.attributes().any(|a| {
                a.value() == value
                    && (a.is_id() || matches!(a.name(), "ID" | "Id" | "id" | "AssertionID"))
            })
        })
        .count();
    if carriers == 1 {
        Ok(())
    } else {
        Err(SamlError::DuplicateId(value.to_owned()))
    }
}

fn attr(node: XmlDomNode<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name).map(|v| v.trim().to_owned())
}

/// Reads the Response and its one Assertion.
pub fn read_response(document: &XmlDomDocument<'_>) -> Result<ResponseData, SamlError> {
    let root = document.root_element();
    if !root.has_tag_name((PROTOCOL_NS, "Response")) {
        return Err(SamlError::NotAResponse);
    }
    if document
        .descendants()
        .any(|n| n.has_tag_name((ASSERTION_NS, "EncryptedAssertion")))
    {
        return Err(SamlError::EncryptedAssertion);
    }
    let assertions: Vec<_> = document
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Assertion")
        .collect();
    let [assertion] = assertions[..] else {
        return Err(SamlError::AssertionCount);
    };
    if !assertion.has_tag_name((ASSERTION_NS, "Assertion"))
        || assertion.parent_element() != Some(root)
    {
        return Err(SamlError::AssertionMisplaced);
    }
    let id = attr(root, "ID").ok_or(SamlError::Missing("Response ID"))?;
    unique_id(document, &id)?;
    let status = child(root, PROTOCOL_NS, "Status")
        .and_then(|s| child(s, PROTOCOL_NS, "StatusCode"))
        .and_then(|c| attr(c, "Value"))
        .ok_or(SamlError::Missing("StatusCode"))?;
    let issuer = child(root, ASSERTION_NS, "Issuer")
        .map(|i| text(i, "Issuer"))
        .transpose()?;
    Ok(ResponseData {
        id,
        issuer,
        destination: attr(root, "Destination"),
        in_response_to: attr(root, "InResponseTo"),
        status,
        assertion: read_assertion(document, assertion)?,
    })
}

fn read_assertion(
    document: &XmlDomDocument<'_>,
    assertion: XmlDomNode<'_, '_>,
) -> Result<AssertionData, SamlError> {
    let id = attr(assertion, "ID").ok_or(SamlError::Missing("Assertion ID"))?;
    unique_id(document, &id)?;
    let issuer = required_child_text(assertion, ASSERTION_NS, "Issuer")?;
    let subject = child(assertion, ASSERTION_NS, "Subject");
    let name_id = subject
        .and_then(|s| child(s, ASSERTION_NS, "NameID"))
        .map(|n| text(n, "NameID"))
        .transpose()?;
    let bearer = subject
        .into_iter()
        .flat_map(|s| assertion_children(s, "SubjectConfirmation"))
        .filter(|c| c.attribute("Method") == Some(BEARER))
        .map(|c| {
            let data = child(c, ASSERTION_NS, "SubjectConfirmationData");
            let get = |name| data.and_then(|d| attr(d, name));
            BearerConfirmation {
                not_before: get("NotBefore"),
                not_on_or_after: get("NotOnOrAfter"),
                recipient: get("Recipient"),
                in_response_to: get("InResponseTo"),
            }
        })
        .collect();
    let conditions = child(assertion, ASSERTION_NS, "Conditions");
    let mut audience_restrictions = Vec::new();
    for restriction in conditions
        .into_iter()
        .flat_map(|c| assertion_children(c, "AudienceRestriction"))
    {
        audience_restrictions.push(child_texts(restriction, "Audience")?);
    }
    let mut attributes = Vec::new();
    for statement in assertion_children(assertion, "AttributeStatement") {
        for attribute in assertion_children(statement, "Attribute") {
            let values = child_texts(attribute, "AttributeValue")?;
            attributes.push(Attribute {
                name: attr(attribute, "Name").unwrap_or_default(),
                friendly_name: attr(attribute, "FriendlyName"),
                values,
            });
        }
    }
    Ok(AssertionData {
        id,
        issuer,
        name_id,
        bearer,
        not_before: conditions.and_then(|c| attr(c, "NotBefore")),
        not_on_or_after: conditions.and_then(|c| attr(c, "NotOnOrAfter")),
        audience_restrictions,
        attributes,
    })
}
impl AssertionData {
    /// The first non-empty value of the attribute named `name` (its Name or FriendlyName).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|a| a.name == name || a.friendly_name.as_deref() == Some(name))
            .flat_map(|a| a.values.iter())
            .map(String::as_str)
            .find(|v| !v.is_empty())
    }
}
