//! What a list request asks for, from a `GET` query string or a `POST /.search` body
//! (RFC 7644 §3.4.2, §3.4.3): the filter, the attributes to show or hide, and the page.

use std::collections::HashMap;

use serde_json::Value;

use super::filter::{parse_filter, Filter};
use super::{attribute_list, ScimError};

pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A list or search request, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
}

impl ListQuery {
    /// The query string of `GET /Users` or `GET /Groups` (unknown parameters are ignored, as
    /// sorting is: it is declared unsupported).
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, ScimError> {
        let number = |name: &str| {
            query
                .get(name)
                .map(|v| {
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer")))
                })
                .transpose()
        };
        Ok(Self {
            filter: query.get("filter").map(|f| parse_filter(f)).transpose()?,
            attributes: attribute_list(query.get("attributes").map(String::as_str)),
            excluded_attributes: attribute_list(
                query.get("excludedAttributes").map(String::as_str),
            ),
            start_index: number("startIndex")?,
            count: number("count")?,
        })
    }

    /// A SearchRequest message (the body of `POST /.search`). Anything it does not define is
    /// refused, so a misspelt member cannot silently widen a search.
    pub fn from_search_request(body: &Value) -> Result<Self, ScimError> {
        let object = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("The body must be a JSON object"))?;
        let mut query = Self::default();
        let mut schema_named = false;
        for (name, value) in object {
            match name.to_ascii_lowercase().as_str() {
                "schemas" => {
                    schema_named = value.as_array().is_some_and(|s| {
                        s.iter().any(|s| s.as_str() == Some(SEARCH_REQUEST_SCHEMA))
                    });
                }
                "filter" => {
                    let filter = value
                        .as_str()
                        .ok_or_else(|| ScimError::invalid_filter("filter must be a string"))?;
                    query.filter = Some(parse_filter(filter)?);
                }
                "attributes" => query.attributes = names(name, value)?,
                "excludedattributes" => query.excluded_attributes = names(name, value)?,
                "startindex" => query.start_index = Some(integer(name, value)?),
                "count" => query.count = Some(integer(name, value)?),
                // Sorting is declared unsupported; a request for it is answered unsorted.
                "sortby" | "sortorder" if value.is_string() => {}
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "{name} is not a member of a SearchRequest"
                    )))
                }
            }
        }
        if !schema_named {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must contain {SEARCH_REQUEST_SCHEMA}"
            )));
        }
        Ok(query)
    }
}

fn names(member: &str, value: &Value) -> Result<Vec<String>, ScimError> {
    let invalid = || ScimError::invalid_syntax(format!("{member} must be an array of strings"));
    value
        .as_array()
        .ok_or_else(invalid)?
        .iter()
        .map(|v| v.as_str().map(|s| s.trim().to_owned()).ok_or_else(invalid))
        .filter(|name| name.as_ref().map_or(true, |n| !n.is_empty()))
        .collect()
}

fn integer(member: &str, value: &Value) -> Result<i64, ScimError> {
    value
        .as_i64()
        .ok_or_else(|| ScimError::invalid_value(format!("{member} must be an integer")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_search_request_reads_like_a_query_string() {
        let body = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "filter": "userName sw \"b\"",
            "attributes": ["userName", "name.givenName"], "startIndex": 2, "count": 5,
            "sortBy": "userName"});
        let from_body = ListQuery::from_search_request(&body).unwrap();
        let query: HashMap<String, String> = [
            ("filter", "userName sw \"b\""),
            ("attributes", "userName, name.givenName"),
            ("startIndex", "2"),
            ("count", "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(from_body, ListQuery::from_query(&query).unwrap());
        let empty = ListQuery::from_search_request(&json!({"schemas": [SEARCH_REQUEST_SCHEMA]}));
        assert_eq!(empty.unwrap(), ListQuery::default());
    }

    #[test]
    fn a_malformed_search_request_is_refused_with_its_scim_type() {
        let schemas = json!([SEARCH_REQUEST_SCHEMA]);
        for (body, kind) in [
            (json!([]), "invalidSyntax"),
            (json!({"filter": "userName pr"}), "invalidSyntax"),
            (
                json!({"schemas": ["urn:other"], "filter": "userName pr"}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": schemas, "filter": "userName eq"}),
                "invalidFilter",
            ),
            (json!({"schemas": schemas, "filter": 3}), "invalidFilter"),
            (
                json!({"schemas": schemas, "attributes": "userName"}),
                "invalidSyntax",
            ),
            (
                json!({"schemas": schemas, "attributes": [1]}),
                "invalidSyntax",
            ),
            (json!({"schemas": schemas, "count": "10"}), "invalidValue"),
            (
                json!({"schemas": schemas, "filters": "userName pr"}),
                "invalidSyntax",
            ),
        ] {
            let err = ListQuery::from_search_request(&body).unwrap_err();
            assert_eq!((err.status, err.scim_type), (400, Some(kind)), "{body}");
        }
    }

    #[test]
    fn query_numbers_must_be_integers() {
        let query: HashMap<String, String> = [("count".to_owned(), "ten".to_owned())].into();
        let err = ListQuery::from_query(&query).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidValue"));
    }
}
