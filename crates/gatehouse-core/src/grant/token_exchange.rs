//! Token exchange (RFC 8693): an app holding a user's access token (the subject token) gets one
//! for another API, or with fewer scopes, acting for the user. Always delegation: the new token
//! names the calling app in `act` (with the subject token's own `act` nested), so the API it
//! reaches can tell who acts for whom. This module decides a request from plain facts.

use serde::{Deserialize, Serialize};

use crate::resource::ResourceError;
use crate::scope::parse_scope_list;
use crate::TokenError;

/// The token endpoint's `grant_type` for an exchange.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The one token type exchanged, both ways.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Who acts (RFC 8693 §4.1): the app, and before it whoever acted in the subject token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The acting app's client id.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

/// The exchange's parameters, as sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExchangeParams<'a> {
    pub subject_token_type: Option<&'a str>,
    pub requested_token_type: Option<&'a str>,
    pub actor_token: Option<&'a str>,
    pub scope: Option<&'a str>,
}

/// What the server found about the subject token.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Its scopes.
    pub scopes: &'a [String],
    /// Whether the calling app may use it: it was issued to the app, or it is for the API the
    /// app stands for.
    pub usable_by_caller: bool,
}

/// What the server found about the target API.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The scopes the API defines.
    pub scopes: &'a [String],
    /// Whether the API lets the calling app exchange tokens for it.
    pub allows_caller: bool,
}

/// Checks an exchange (RFC 8693 §2.1–2.2) and answers the scopes of the new token: those asked
/// (all of the subject token's when none are) that the subject token has and the API defines.
pub fn decide(
    params: &ExchangeParams<'_>,
    subject: &Subject<'_>,
    target: &Target<'_>,
) -> Result<Vec<String>, TokenError> {
    if params.subject_token_type != Some(ACCESS_TOKEN_TYPE) {
        return Err(TokenError::UnsupportedTokenType("subject_token_type"));
    }
    if params
        .requested_token_type
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(TokenError::UnsupportedTokenType("requested_token_type"));
    }
    if params.actor_token.is_some_and(|t| !t.is_empty()) {
        return Err(TokenError::ActorTokenNotSupported);
    }
    if !subject.usable_by_caller {
        return Err(TokenError::InvalidSubjectToken);
    }
    if !target.allows_caller {
        return Err(ResourceError::ExchangeNotAllowed.into());
    }
    let asked = match params.scope.filter(|s| !s.trim().is_empty()) {
        Some(scope) => parse_scope_list(scope),
        None => subject.scopes.to_vec(),
    };
    if asked.iter().any(|s| !subject.scopes.contains(s)) {
        return Err(TokenError::ScopeBeyondSubject);
    }
    let granted: Vec<String> = asked
        .into_iter()
        .filter(|s| target.scopes.contains(s))
        .collect();
    if granted.is_empty() {
        return Err(TokenError::NoScopeForTarget);
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn params(scope: Option<&str>) -> ExchangeParams<'_> {
        ExchangeParams {
            subject_token_type: Some(ACCESS_TOKEN_TYPE),
            scope,
            ..ExchangeParams::default()
        }
    }

    #[test]
    fn the_new_token_keeps_only_scopes_the_subject_has_and_the_target_defines() {
        let held = strings(&["openid", "orders:read", "stock:read"]);
        let defined = strings(&["stock:read", "stock:write"]);
        let subject = Subject {
            scopes: &held,
            usable_by_caller: true,
        };
        let target = Target {
            scopes: &defined,
            allows_caller: true,
        };
        assert_eq!(
            decide(&params(None), &subject, &target),
            Ok(strings(&["stock:read"]))
        );
        assert_eq!(
            decide(&params(Some("stock:read")), &subject, &target),
            Ok(strings(&["stock:read"]))
        );
        // More than the subject token has, or nothing the target defines.
        assert_eq!(
            decide(&params(Some("stock:write")), &subject, &target),
            Err(TokenError::ScopeBeyondSubject)
        );
        assert_eq!(
            decide(&params(Some("orders:read")), &subject, &target),
            Err(TokenError::NoScopeForTarget)
        );
    }

    #[test]
    fn token_types_actors_and_the_two_policies_are_checked() {
        let held = strings(&["stock:read"]);
        let subject = Subject {
            scopes: &held,
            usable_by_caller: true,
        };
        let target = Target {
            scopes: &held,
            allows_caller: true,
        };
        let refresh = ExchangeParams {
            subject_token_type: Some("urn:ietf:params:oauth:token-type:refresh_token"),
            ..params(None)
        };
        assert_eq!(
            decide(&refresh, &subject, &target),
            Err(TokenError::UnsupportedTokenType("subject_token_type"))
        );
        let id_token = ExchangeParams {
            requested_token_type: Some("urn:ietf:params:oauth:token-type:id_token"),
            ..params(None)
        };
        assert_eq!(
            decide(&id_token, &subject, &target),
            Err(TokenError::UnsupportedTokenType("requested_token_type"))
        );
        let actor = ExchangeParams {
            actor_token: Some("x"),
            ..params(None)
        };
        assert_eq!(
            decide(&actor, &subject, &target),
            Err(TokenError::ActorTokenNotSupported)
        );
        let foreign = Subject {
            usable_by_caller: false,
            ..subject
        };
        assert_eq!(
            decide(&params(None), &foreign, &target),
            Err(TokenError::InvalidSubjectToken)
        );
        let closed = Target {
            allows_caller: false,
            ..target
        };
        assert_eq!(
            decide(&params(None), &subject, &closed),
            Err(ResourceError::ExchangeNotAllowed.into())
        );
    }

    #[test]
    fn actors_nest() {
        let actor = Actor {
            sub: "api-b".into(),
            act: Some(Box::new(Actor {
                sub: "api-a".into(),
                act: None,
            })),
        };
        let json = serde_json::to_value(&actor).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"sub": "api-b", "act": {"sub": "api-a"}})
        );
    }
}
