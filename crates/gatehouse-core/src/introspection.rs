//! Token introspection (RFC 7662): what an authenticated app is told about a token it presents.
//!
//! The server finds the token (a signed access token, or a stored refresh token) and the state
//! of its app and user; this module decides what the caller may learn. A caller that may not see
//! a token hears `{"active": false}`, exactly as for a token that does not exist, so an answer
//! never tells a caller more than the token's audience entitles it to.

use serde::Serialize;

use crate::grant::refresh_token::{self, StoredRefreshToken};
use crate::jwt::AccessTokenClaims;

/// `token_type_hint` (RFC 7662 §2.1): only the order of the lookups depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHint {
    AccessToken,
    RefreshToken,
}

impl TokenHint {
    /// An absent or unknown hint is no hint: the server may ignore it (RFC 7662 §2.1).
    pub fn parse(hint: Option<&str>) -> Option<Self> {
        match hint {
            Some("access_token") => Some(Self::AccessToken),
            Some("refresh_token") => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

/// A refresh token as stored, with the facts introspection reports.
#[derive(Debug, Clone, Copy)]
pub struct StoredRefresh<'a> {
    pub token: StoredRefreshToken<'a>,
    pub scope: &'a str,
    /// The user's `authId`.
    pub subject: &'a str,
}

/// A token the server found, with whether its holders still stand: the app it was issued to is
/// live and active, and so is its user (for a user's token).
#[derive(Debug, Clone, Copy)]
pub enum FoundToken<'a> {
    /// A verified access token (signature, issuer, expiry and deny-list already checked).
    Access {
        claims: &'a AccessTokenClaims,
        holders_active: bool,
        /// The caller stands for the token's audience (a resource server's introspection app).
        caller_serves_audience: bool,
    },
    Refresh {
        stored: StoredRefresh<'a>,
        holders_active: bool,
    },
}

/// The answer: `{"active": false}` alone, or `active: true` with the token's facts. Built only
/// by [`Introspection::INACTIVE`] and [`Introspection::of`], so `active` always says whether
/// there are facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Introspection {
    active: bool,
    #[serde(flatten)]
    token: Option<ActiveToken>,
}

impl Introspection {
    pub const INACTIVE: Introspection = Introspection {
        active: false,
        token: None,
    };

    /// An active token and its facts.
    pub fn of(token: ActiveToken) -> Self {
        Introspection {
            active: true,
            token: Some(token),
        }
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    pub fn token(&self) -> Option<&ActiveToken> {
        self.token.as_ref()
    }
}

/// The facts of an active token (RFC 7662 §2.2 member names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveToken {
    pub scope: String,
    pub client_id: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    pub iss: String,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// The DPoP key a bound token is good with (RFC 9449 §6.2): the resource server checks
    /// the request's proof against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::jwt::Confirmation>,
}

/// What `caller` (an authenticated app's client id) is told about `found`.
///
/// - An access token is shown to its own app, to an app named as its audience, and, for tokens
///   whose audience is this server as a whole (`aud` = the issuer, the default), to any
///   authenticated app of the server: such a token is meant for every API of the deployment.
/// - A refresh token is shown only to the app it was issued to (RFC 7662 §4: it is no concern
///   of a resource server), and only while it could still be redeemed.
/// - Any token whose app or user was disabled or deleted is inactive.
pub fn introspect(
    caller: &str,
    issuer: &str,
    found: Option<FoundToken<'_>>,
    now: i64,
) -> Introspection {
    let token = match found {
        Some(FoundToken::Access {
            claims,
            holders_active: true,
            caller_serves_audience,
        }) if claims.exp > now
            && (caller_serves_audience || access_visible(caller, issuer, claims)) =>
        {
            ActiveToken {
                scope: claims.scope.clone(),
                client_id: claims.azp.clone(),
                sub: claims.sub.clone(),
                aud: Some(claims.aud.clone()),
                iss: claims.iss.clone(),
                exp: claims.exp,
                iat: Some(claims.iat),
                jti: Some(claims.jti.clone()),
                token_type: Some(if claims.cnf.is_some() {
                    "DPoP"
                } else {
                    "Bearer"
                }),
                cnf: claims.cnf.clone(),
            }
        }
        Some(FoundToken::Refresh {
            stored,
            holders_active: true,
        }) if refresh_token::decide(Some(stored.token), Some(caller), true, now).is_ok() => {
            ActiveToken {
                scope: stored.scope.to_owned(),
                client_id: stored.token.client_id.to_owned(),
                sub: stored.subject.to_owned(),
                aud: None,
                iss: issuer.to_owned(),
                exp: stored.token.expires_at,
                iat: None,
                jti: None,
                token_type: None,
                cnf: None,
            }
        }
        _ => return Introspection::INACTIVE,
    };
    Introspection::of(token)
}

/// The media type a caller accepts to get the answer as a signed JWT (RFC 9701).
pub const JWT_RESPONSE_TYPE: &str = "application/token-introspection+jwt";

/// The `typ` header of a signed answer (RFC 9701 §5).
pub const JWT_RESPONSE_TYP: &str = "token-introspection+jwt";

/// Whether an `Accept` header asks for the signed answer; a plain JSON answer otherwise.
pub fn wants_jwt(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(JWT_RESPONSE_TYPE)
        })
    })
}

/// The claims of a signed answer (RFC 9701 §5): who answers, to whom, when, and the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedIntrospection {
    pub iss: String,
    /// The caller's client id: the answer is meant for it alone.
    pub aud: String,
    pub iat: i64,
    pub token_introspection: Introspection,
}

impl SignedIntrospection {
    pub fn new(issuer: &str, caller: &str, now: i64, answer: Introspection) -> Self {
        SignedIntrospection {
            iss: issuer.to_owned(),
            aud: caller.to_owned(),
            iat: now,
            token_introspection: answer,
        }
    }
}

fn access_visible(caller: &str, issuer: &str, claims: &AccessTokenClaims) -> bool {
    claims.azp == caller || claims.aud == caller || claims.aud == issuer
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";
    const NOW: i64 = 1_000_000;

    fn claims(azp: &str, aud: &str) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: ISSUER.into(),
            sub: "user-1".into(),
            azp: azp.into(),
            aud: aud.into(),
            scope: "openid profile".into(),
            iat: NOW - 10,
            exp: NOW + 300,
            jti: "j1".into(),
            roles: Some(vec![]),
            impersonated_by: None,
            userinfo_claims: None,
            cnf: None,
        }
    }

    fn access(claims: &AccessTokenClaims, holders_active: bool) -> Option<FoundToken<'_>> {
        Some(FoundToken::Access {
            claims,
            holders_active,
            caller_serves_audience: false,
        })
    }

    fn refresh(client_id: &str, used: bool) -> StoredRefresh<'_> {
        StoredRefresh {
            token: StoredRefreshToken {
                client_id,
                expires_at: NOW + 3600,
                used,
                revoked: false,
            },
            scope: "openid offline_access",
            subject: "user-1",
        }
    }

    fn active(answer: &Introspection) -> &ActiveToken {
        assert!(answer.is_active(), "{answer:?}");
        answer.token().expect("facts")
    }

    #[test]
    fn a_server_wide_access_token_is_shown_to_any_app_with_its_facts() {
        let c = claims("spa-1", ISSUER);
        let answer = introspect("backend", ISSUER, access(&c, true), NOW);
        let token = active(&answer);
        assert_eq!(token.client_id, "spa-1");
        assert_eq!(token.sub, "user-1");
        assert_eq!(token.scope, "openid profile");
        assert_eq!(token.token_type, Some("Bearer"));
        assert_eq!(token.exp, NOW + 300);
        let json = serde_json::to_value(&answer).expect("json");
        assert_eq!(json["active"], true);
        assert_eq!(json["client_id"], "spa-1");
    }

    #[test]
    fn a_token_for_another_audience_is_inactive_to_a_stranger() {
        let c = claims("spa-1", "https://api.other.example");
        assert_eq!(
            introspect("backend", ISSUER, access(&c, true), NOW),
            Introspection::INACTIVE
        );
        // Its own app and the app it names as audience see it.
        assert!(introspect("spa-1", ISSUER, access(&c, true), NOW).is_active());
        let named = claims("spa-1", "backend");
        assert!(introspect("backend", ISSUER, access(&named, true), NOW).is_active());
        // The app that stands for the resource server sees it too.
        let served = Some(FoundToken::Access {
            claims: &c,
            holders_active: true,
            caller_serves_audience: true,
        });
        assert!(introspect("orders-api", ISSUER, served, NOW).is_active());
    }

    #[test]
    fn expired_or_orphaned_access_tokens_are_inactive() {
        let c = claims("spa-1", ISSUER);
        assert!(!introspect("backend", ISSUER, access(&c, false), NOW).is_active());
        assert!(!introspect("backend", ISSUER, access(&c, true), NOW + 300).is_active());
        assert!(!introspect("backend", ISSUER, None, NOW).is_active());
    }

    #[test]
    fn an_inactive_answer_is_active_false_alone() {
        let json = serde_json::to_value(Introspection::INACTIVE).expect("json");
        assert_eq!(json, serde_json::json!({"active": false}));
    }

    #[test]
    fn a_refresh_token_is_shown_only_to_its_own_app() {
        let stored = refresh("web-1", false);
        let found = |holders_active| {
            Some(FoundToken::Refresh {
                stored,
                holders_active,
            })
        };
        let token = introspect("web-1", ISSUER, found(true), NOW);
        let facts = active(&token);
        assert_eq!(facts.scope, "openid offline_access");
        assert_eq!(facts.token_type, None);
        assert!(!introspect("backend", ISSUER, found(true), NOW).is_active());
        assert!(!introspect("web-1", ISSUER, found(false), NOW).is_active());
        assert!(!introspect("web-1", ISSUER, found(true), NOW + 3600).is_active());
    }

    #[test]
    fn a_rotated_out_refresh_token_is_inactive() {
        // Only rotation marks a token used; a used one can never be redeemed again.
        let found = Some(FoundToken::Refresh {
            stored: refresh("web-1", true),
            holders_active: true,
        });
        assert!(!introspect("web-1", ISSUER, found, NOW).is_active());
    }

    #[test]
    fn the_signed_answer_is_asked_for_by_its_media_type_only() {
        assert!(wants_jwt(Some("application/token-introspection+jwt")));
        assert!(wants_jwt(Some(
            "application/json;q=0.5, Application/Token-Introspection+JWT;q=1"
        )));
        assert!(!wants_jwt(Some("application/json")));
        assert!(!wants_jwt(Some("application/jwt")));
        assert!(!wants_jwt(None));
        let signed = SignedIntrospection::new(ISSUER, "rs", NOW, Introspection::INACTIVE);
        let json = serde_json::to_value(&signed).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"iss": ISSUER, "aud": "rs", "iat": NOW, "token_introspection": {"active": false}})
        );
    }

    #[test]
    fn hints_are_read_and_unknown_ones_ignored() {
        assert_eq!(
            TokenHint::parse(Some("refresh_token")),
            Some(TokenHint::RefreshToken)
        );
        assert_eq!(
            TokenHint::parse(Some("access_token")),
            Some(TokenHint::AccessToken)
        );
        assert_eq!(TokenHint::parse(Some("id_token")), None);
        assert_eq!(TokenHint::parse(None), None);
    }
}
