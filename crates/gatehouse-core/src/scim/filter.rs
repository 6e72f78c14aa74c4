//! The filter language (RFC 7644 §3.4.2.2): parsed into a tree, then evaluated against resources
//! held as JSON.

use serde_json::Value;

use super::{get_attr, strip_core_urn, ScimError};

/// An attribute path: `userName`, `name.givenName`, `emails.value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub attribute: String,
    pub sub_attribute: Option<String>,
}

impl AttrPath {
    fn parse(raw: &str) -> Result<Self, ScimError> {
        let name = strip_core_urn(raw);
        let (attribute, sub_attribute) = match name.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (name, None),
        };
        let valid = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
        };
        if !valid(attribute) || sub_attribute.is_some_and(|s| !valid(s)) {
            return Err(ScimError::invalid_filter(format!(
                "Invalid attribute path: {raw}"
            )));
        }
        Ok(Self {
            attribute: attribute.to_owned(),
            sub_attribute: sub_attribute.map(str::to_owned),
        })
    }

    /// Every value the path reaches in `resource` (multi-valued attributes give one per element).
    fn values<'a>(&self, resource: &'a Value) -> Vec<&'a Value> {
        let Some(found) = get_attr(resource, &self.attribute) else {
            return Vec::new();
        };
        let elements: Vec<&Value> = match found {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        elements
            .into_iter()
            .filter_map(|e| match &self.sub_attribute {
                Some(sub) => get_attr(e, sub),
                // A complex multi-valued attribute compares on its `value` (RFC 7644 §3.4.2.2).
                None if e.is_object() => get_attr(e, "value"),
                None => Some(e),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work" and value co "@example.com"]`: one element matches it all.
    ValuePath {
        attribute: String,
        filter: Box<Filter>,
    },
}

impl Filter {
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::Compare { path, op, value } => {
                let values = path.values(resource);
                if *op == CompareOp::Ne {
                    return !values.iter().any(|v| compare(v, CompareOp::Eq, value));
                }
                values.iter().any(|v| compare(v, *op, value))
            }
            Filter::Present(path) => path.values(resource).iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            }),
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(f) => !f.matches(resource),
            Filter::ValuePath { attribute, filter } => match get_attr(resource, attribute) {
                Some(Value::Array(items)) => items.iter().any(|e| filter.matches(e)),
                Some(single) => filter.matches(single),
                None => false,
            },
        }
    }

    /// The `eq` value this filter pins `attribute` to at its top level, if any: lets a list be
    /// narrowed by an index before the full filter runs.
    pub fn equality_on(&self, attribute: &str) -> Option<&str> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: Value::String(s),
            } if path.attribute.eq_ignore_ascii_case(attribute) && path.sub_attribute.is_none() => {
                Some(s)
            }
            Filter::And(a, b) => a
                .equality_on(attribute)
                .or_else(|| b.equality_on(attribute)),
            _ => None,
        }
    }
}

/// Strings compare case-insensitively (every attribute we expose is `caseExact: false`, except
/// ids, which are generated lowercase).
fn compare(actual: &Value, op: CompareOp, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
            }
        }
        (Value::Bool(a), Value::Bool(e)) => match op {
            CompareOp::Eq => a == e,
            CompareOp::Ne => a != e,
            _ => false,
        },
        (Value::Number(a), Value::Number(e)) => {
            let (Some(a), Some(e)) = (a.as_f64(), e.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
                _ => false,
            }
        }
        (Value::Null, Value::Null) => op == CompareOp::Eq,
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Literal(Value),
}

fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // A JSON string literal, escapes included.
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or_else(|| ScimError::invalid_filter("Unterminated string"))?;
                let text: String = serde_json::from_str(&input[start..=end])
                    .map_err(|_| ScimError::invalid_filter("Invalid string literal"))?;
                tokens.push(Token::Literal(Value::String(text)));
            }
            _ => {
                let mut end = input.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(input[start..end].to_owned()));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.keyword("not") {
            self.at += 1;
            if self.next() != Some(Token::Open) {
                return Err(ScimError::invalid_filter("Expected ( after not"));
            }
            let inner = self.or()?;
            self.expect(Token::Close, ")")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close, ")")?;
                Ok(inner)
            }
            Some(Token::Word(name)) => self.attribute_expression(&name),
            _ => Err(ScimError::invalid_filter(
                "Expected an attribute expression",
            )),
        }
    }

    fn expect(&mut self, token: Token, shown: &str) -> Result<(), ScimError> {
        if self.next() == Some(token) {
            Ok(())
        } else {
            Err(ScimError::invalid_filter(format!("Expected {shown}")))
        }
    }

    fn attribute_expression(&mut self, name: &str) -> Result<Filter, ScimError> {
        if self.peek() == Some(&Token::OpenBracket) {
            self.at += 1;
            let path = AttrPath::parse(name)?;
            if path.sub_attribute.is_some() {
                return Err(ScimError::invalid_filter(
                    "A value filter follows an attribute",
                ));
            }
            let inner = self.or()?;
            self.expect(Token::CloseBracket, "]")?;
            return Ok(Filter::ValuePath {
                attribute: path.attribute,
                filter: Box::new(inner),
            });
        }
        let path = AttrPath::parse(name)?;
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path))
            }
            Some(Token::Word(w)) => CompareOp::parse(&w)
                .ok_or_else(|| ScimError::invalid_filter(format!("Unknown operator: {w}")))?,
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "Expected an operator after {name}"
                )))
            }
        };
        let value = match self.next() {
            Some(Token::Literal(v)) => v,
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                number => serde_json::from_str::<serde_json::Number>(number)
                    .map(Value::Number)
                    .map_err(|_| ScimError::invalid_filter(format!("Invalid value: {number}")))?,
            },
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "Expected a value after {name}"
                )))
            }
        };
        Ok(Filter::Compare { path, op, value })
    }
}

/// Parses a `filter` parameter.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser {
        tokens: tokenize(input)?,
        at: 0,
    };
    let filter = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(ScimError::invalid_filter(
            "Unexpected text after the filter",
        ));
    }
    Ok(filter)
}

/// Parses the filter inside a PATCH path's brackets.
pub(super) fn parse_value_filter(input: &str) -> Result<Filter, ScimError> {
    parse_filter(input).map_err(|e| ScimError::invalid_path(e.detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "2819c223", "userName": "Bjensen@example.com", "externalId": "ext-1",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@home.example", "type": "home"}],
            "active": true,
        })
    }

    fn matches(filter: &str) -> bool {
        parse_filter(filter).unwrap().matches(&user())
    }

    #[test]
    fn equality_ignores_case_of_names_and_values() {
        assert!(matches(r#"userName eq "bjensen@example.com""#));
        assert!(matches(r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#));
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#
        ));
        assert!(!matches(r#"userName eq "other@example.com""#));
    }

    #[test]
    fn contains_starts_with_and_present() {
        assert!(matches(r#"name.familyName co "ens""#));
        assert!(matches(r#"name.givenName sw "bar""#));
        assert!(matches(r#"emails.value ew "home.example""#));
        assert!(matches("externalId pr"));
        assert!(!matches("title pr"));
    }

    #[test]
    fn booleans_logic_and_grouping() {
        assert!(matches("active eq true"));
        assert!(!matches("active eq false"));
        assert!(matches(
            r#"active eq false or (id eq "2819c223" and not (userName eq "x"))"#
        ));
        assert!(!matches(r#"active eq true and externalId eq "ext-2""#));
    }

    #[test]
    fn value_paths_match_one_element() {
        assert!(matches(
            r#"emails[type eq "work" and value co "example.com"]"#
        ));
        assert!(!matches(
            r#"emails[type eq "home" and value co "example.com"]"#
        ));
    }

    #[test]
    fn equality_on_finds_an_indexable_value() {
        let filter = parse_filter(r#"userName eq "a@b.c" and active eq true"#).unwrap();
        assert_eq!(filter.equality_on("username"), Some("a@b.c"));
        let filter = parse_filter(r#"userName eq "a@b.c" or active eq true"#).unwrap();
        assert_eq!(filter.equality_on("userName"), None);
    }

    #[test]
    fn malformed_filters_are_invalid_filter() {
        for bad in [
            "userName eq",
            "userName zz \"a\"",
            "(userName pr",
            "userName eq \"a",
            "eq \"a\"",
            "userName pr extra",
            "",
        ] {
            let err = parse_filter(bad).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidFilter"), "{bad}");
        }
    }
}
