//! The contact claims of OIDC Core §5.1 that the model keeps besides names and email: a phone
//! number and a postal address, with the rules they are stored under.

use serde::{Deserialize, Serialize};

use crate::admin::AdminRuleError;

/// The longest member of an address.
const MAX_ADDRESS_PART: usize = 200;

/// A postal address (OIDC Core §5.1.1); absent members are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    /// Blank members dropped; `None` when nothing is left (the address is cleared).
    pub fn checked(self) -> Result<Option<Self>, AdminRuleError> {
        let part = |v: Option<String>, multiline: bool| -> Result<Option<String>, AdminRuleError> {
            let Some(v) = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            let bad = v.chars().count() > MAX_ADDRESS_PART
                || v.chars()
                    .any(|c| c.is_control() && !(multiline && c == '\n'));
            if bad {
                return Err(AdminRuleError::InvalidAddress);
            }
            Ok(Some(v))
        };
        let address = Address {
            formatted: part(self.formatted, true)?,
            street_address: part(self.street_address, true)?,
            locality: part(self.locality, false)?,
            region: part(self.region, false)?,
            postal_code: part(self.postal_code, false)?,
            country: part(self.country, false)?,
        };
        Ok((address != Address::default()).then_some(address))
    }
}

/// A phone number in E.164 form (`+` and 7 to 15 digits, no leading zero); an empty string
/// clears it.
pub fn check_phone_number(number: &str) -> Result<(), AdminRuleError> {
    let digits = number.strip_prefix('+').unwrap_or_default();
    let ok = number.is_empty()
        || ((7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0'));
    if ok {
        Ok(())
    } else {
        Err(AdminRuleError::InvalidPhoneNumber)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164() {
        for ok in ["+14155550123", "+33612345678", ""] {
            assert_eq!(check_phone_number(ok), Ok(()), "{ok}");
        }
        for bad in [
            "14155550123",
            "+0123456789",
            "+1 415 555",
            "+1234",
            "+1234567890123456",
            "+1415555012a",
        ] {
            assert!(check_phone_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_drop_blank_members_and_refuse_long_or_control_text() {
        let address = Address {
            street_address: Some("1 Main St\nApt 2".into()),
            locality: Some("  Springfield ".into()),
            country: Some(" ".into()),
            ..Address::default()
        };
        let checked = address.checked().unwrap().unwrap();
        assert_eq!(checked.locality.as_deref(), Some("Springfield"));
        assert_eq!(checked.country, None);
        assert_eq!(Address::default().checked(), Ok(None));
        let long = Address {
            region: Some("x".repeat(201)),
            ..Address::default()
        };
        assert!(long.checked().is_err());
        let newline = Address {
            locality: Some("a\nb".into()),
            ..Address::default()
        };
        assert!(newline.checked().is_err());
        let unknown: Result<Address, _> = serde_json::from_str(r#"{"planet": "Mars"}"#);
        assert!(unknown.is_err());
    }
}

/// The `claims` request parameter (OIDC Core §5.5), as far as this server acts on it: the
/// claims asked for in the ID token and at userinfo, whether `acr` was asked with two factors
/// among its values (then the sign-in owes a second factor, as with `acr_values`), and the
/// account a `sub` value names (only that account may finish the sign-in, §3.1.2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    pub id_token: Vec<String>,
    pub userinfo: Vec<String>,
    pub wants_two_factors: bool,
    pub subject: Option<String>,
}

/// The longest `claims` parameter read.
const MAX_CLAIMS_REQUEST: usize = 4096;

/// Why a `claims` parameter was refused (`invalid_request`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsRequestError {
    #[error("claims must be a JSON object of at most 4096 characters with id_token and userinfo members")]
    Malformed,
    #[error("each requested claim is null or an object with essential (a boolean), value or values (an array)")]
    BadMember,
}

/// Reads a `claims` parameter.
pub fn parse_claims_request(raw: &str) -> Result<ClaimsRequest, ClaimsRequestError> {
    use serde_json::Value;
    if raw.len() > MAX_CLAIMS_REQUEST {
        return Err(ClaimsRequestError::Malformed);
    }
    let Ok(Value::Object(top)) = serde_json::from_str::<Value>(raw) else {
        return Err(ClaimsRequestError::Malformed);
    };
    let mut request = ClaimsRequest::default();
    for (target, members) in &top {
        let members = match (target.as_str(), members) {
            ("id_token" | "userinfo", Value::Object(members)) => members,
            ("id_token" | "userinfo", _) => return Err(ClaimsRequestError::Malformed),
            // Members this server does not know are passed over (OIDC Core §5.5).
            _ => continue,
        };
        for (name, spec) in members {
            let values: Vec<&str> = match spec {
                Value::Null => Vec::new(),
                Value::Object(spec) => {
                    if spec.get("essential").is_some_and(|e| !e.is_boolean()) {
                        return Err(ClaimsRequestError::BadMember);
                    }
                    let listed = match spec.get("values") {
                        None => Vec::new(),
                        Some(Value::Array(values)) => {
                            values.iter().filter_map(Value::as_str).collect()
                        }
                        Some(_) => return Err(ClaimsRequestError::BadMember),
                    };
                    spec.get("value")
                        .and_then(Value::as_str)
                        .into_iter()
                        .chain(listed)
                        .collect()
                }
                _ => return Err(ClaimsRequestError::BadMember),
            };
            let asked = match target.as_str() {
                "id_token" => &mut request.id_token,
                _ => &mut request.userinfo,
            };
            if !asked.contains(name) {
                asked.push(name.clone());
            }
            if name == "sub" {
                if let Some(value) = values.first() {
                    request.subject = Some((*value).to_owned());
                }
            }
            if name == "acr" {
                let first_known = values
                    .into_iter()
                    .find(|v| crate::signin::context::ACR_VALUES.contains(v));
                request.wants_two_factors |= first_known == Some(crate::signin::context::LOA_2FA);
            }
        }
    }
    Ok(request)
}

#[cfg(test)]
mod claims_request_tests {
    use super::*;

    #[test]
    fn id_token_claims_and_an_acr_level_are_read() {
        let request = parse_claims_request(
            r#"{"id_token": {"email": {"essential": true}, "auth_time": null,
                "acr": {"essential": true, "values": ["urn:gatehouse:loa:2fa"]}},
                "userinfo": {"phone_number": null}, "other": 1}"#,
        )
        .unwrap();
        let mut asked = request.id_token.clone();
        asked.sort();
        assert_eq!(asked, ["acr", "auth_time", "email"]);
        assert!(request.wants_two_factors);
        assert_eq!(request.userinfo, ["phone_number"]);
        assert_eq!(request.subject, None);
        let named = parse_claims_request(r#"{"id_token": {"sub": {"value": "user-7"}}}"#);
        assert_eq!(named.unwrap().subject.as_deref(), Some("user-7"));
        let one =
            parse_claims_request(r#"{"id_token": {"acr": {"value": "urn:gatehouse:loa:1fa"}}}"#);
        assert!(!one.unwrap().wants_two_factors);
    }

    #[test]
    fn malformed_requests_are_refused() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"id_token": []}"#,
            r#"{"id_token": {"email": 1}}"#,
            r#"{"id_token": {"email": {"essential": "yes"}}}"#,
            r#"{"id_token": {"acr": {"values": "urn:gatehouse:loa:2fa"}}}"#,
        ] {
            assert!(parse_claims_request(bad).is_err(), "{bad}");
        }
        let huge = format!(r#"{{"id_token": {{"{}": null}}}}"#, "x".repeat(5000));
        assert_eq!(
            parse_claims_request(&huge),
            Err(ClaimsRequestError::Malformed)
        );
    }
}
