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
