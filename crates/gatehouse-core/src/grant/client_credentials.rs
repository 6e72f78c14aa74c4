//! The client-credentials grant (RFC 6749 §4.4) for S2S apps.

use super::AppType;
use crate::jwt::AccessTokenClaims;
use crate::scope::{grant_scopes, parse_scope_list};
use crate::TokenError;

/// What the grant needs to know about the app named by the client id.
#[derive(Debug, Clone)]
pub struct ClientApp<'a> {
    pub app_type: AppType,
    pub is_active: bool,
    pub scopes: &'a [String],
}

/// The requested scopes, which the grant requires: checked before anything is looked up.
pub fn requested_scopes(requested_scope: Option<&str>) -> Result<Vec<String>, TokenError> {
    let requested = parse_scope_list(requested_scope.unwrap_or_default());
    if requested.is_empty() {
        return Err(TokenError::MissingParameter("scope"));
    }
    Ok(requested)
}

/// Decides a client-credentials request. `secret_matches` is asked only once the app is known to
/// be an S2S app, so the (constant-time) comparison runs only where a secret exists.
/// Returns the granted scopes (possibly empty: the request is narrowed, not refused).
pub fn decide(
    requested_scope: Option<&str>,
    app: Option<ClientApp<'_>>,
    secret_matches: impl FnOnce() -> bool,
) -> Result<Vec<String>, TokenError> {
    let requested = requested_scopes(requested_scope)?;
    let app = app.ok_or(TokenError::NoS2sAppFound)?;
    if app.app_type != AppType::S2s {
        return Err(TokenError::NotAnS2sApp);
    }
    if !secret_matches() {
        return Err(TokenError::WrongS2sClientSecret);
    }
    if !app.is_active {
        return Err(TokenError::S2sAppDisabled);
    }
    Ok(grant_scopes(&requested, app.scopes))
}

/// The claims of an S2S access token: the app is both subject and authorized party, and
/// Gatehouse itself is the audience.
pub fn access_token_claims(
    issuer: &str,
    client_id: &str,
    scopes: &[String],
    now: i64,
    lifetime_secs: i64,
    jti: String,
) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: issuer.to_owned(),
        sub: client_id.to_owned(),
        azp: client_id.to_owned(),
        aud: issuer.to_owned(),
        scope: scopes.join(" "),
        iat: now,
        exp: now + lifetime_secs,
        jti,
        roles: None,
        impersonated_by: None,
        userinfo_claims: None,
        cnf: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes() -> Vec<String> {
        vec!["read_user".into(), "root".into()]
    }

    fn s2s(scopes: &[String]) -> ClientApp<'_> {
        ClientApp {
            app_type: AppType::S2s,
            is_active: true,
            scopes,
        }
    }

    #[test]
    fn grants_the_intersection_of_requested_and_held_scopes() {
        let held = scopes();
        let granted = decide(Some("read_user write_app"), Some(s2s(&held)), || true).unwrap();
        assert_eq!(granted, vec!["read_user".to_string()]);
    }

    #[test]
    fn scope_is_required() {
        let held = scopes();
        for scope in [None, Some(""), Some("  ")] {
            assert_eq!(
                decide(scope, Some(s2s(&held)), || true),
                Err(TokenError::MissingParameter("scope"))
            );
        }
    }

    #[test]
    fn refusals_in_order() {
        let held = scopes();
        assert_eq!(
            decide(Some("root"), None, || true),
            Err(TokenError::NoS2sAppFound)
        );
        let spa = ClientApp {
            app_type: AppType::Spa,
            ..s2s(&held)
        };
        assert_eq!(
            decide(Some("root"), Some(spa), || panic!(
                "no secret check for a SPA"
            )),
            Err(TokenError::NotAnS2sApp)
        );
        assert_eq!(
            decide(Some("root"), Some(s2s(&held)), || false),
            Err(TokenError::WrongS2sClientSecret)
        );
        let disabled = ClientApp {
            is_active: false,
            ..s2s(&held)
        };
        // A disabled app is only revealed to a caller holding its secret.
        assert_eq!(
            decide(Some("root"), Some(disabled.clone()), || false),
            Err(TokenError::WrongS2sClientSecret)
        );
        assert_eq!(
            decide(Some("root"), Some(disabled), || true),
            Err(TokenError::S2sAppDisabled)
        );
    }

    #[test]
    fn claims_name_the_app_as_subject_and_party() {
        let claims = access_token_claims(
            "https://id.example",
            "cid",
            &scopes(),
            1000,
            3600,
            "jti".into(),
        );
        assert_eq!(claims.sub, "cid");
        assert_eq!(claims.azp, "cid");
        assert_eq!(claims.scope, "read_user root");
        assert_eq!(claims.exp, 4600);
        assert_eq!(claims.aud, "https://id.example");
    }
}
