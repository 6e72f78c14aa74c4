//! The authorization-code grant: the code minted at the end of a sign-in, and the checks its
//! exchange must pass.

use serde::{Deserialize, Serialize};

use crate::grant::AppType;
use crate::ids::UserId;
use crate::pkce::CodeChallenge;
use crate::TokenError;

/// What an authorization code stands for. Kept in the cache under the code, single use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<CodeChallenge>,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub user_id: UserId,
    pub auth_id: String,
    /// When the user last actively signed in (unix seconds).
    pub auth_time: i64,
    /// The browser session the sign-in belongs to, if any.
    pub session_id: Option<i64>,
    pub expires_at: i64,
    /// The resource server the access token is for (RFC 8707).
    #[serde(default)]
    pub resource: Option<String>,
    /// How the user proved themselves (RFC 8176).
    #[serde(default)]
    pub amr: Vec<String>,
    /// Claims the authorization's `claims` parameter asked for in the ID token.
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    /// And at userinfo.
    #[serde(default)]
    pub userinfo_claims: Vec<String>,
    /// The DPoP key the code must be exchanged with (RFC 9449 §10).
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

/// The token request's view of an exchange.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The client the request identified (authenticated for confidential apps), if any.
    pub client_id: Option<&'a str>,
    pub client_type: Option<AppType>,
    /// The `redirect_uri` the token request sent (empty when it sent none), or `None` when the
    /// code never travelled through a redirect (the embedded API's session exchange).
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub now: i64,
}

/// Checks an exchange against the code (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §2.1.1).
pub fn check_exchange(code: &IssuedCode, exchange: &Exchange<'_>) -> Result<(), TokenError> {
    if code.expires_at <= exchange.now {
        return Err(TokenError::InvalidAuthCode);
    }
    if let Some(client_id) = exchange.client_id {
        if client_id != code.client_id {
            return Err(TokenError::CodeOfAnotherClient);
        }
    }
    // Every authorization request carries a redirect_uri, so every exchange of a code that was
    // sent to it names the same one (RFC 6749 §4.1.3): omitted counts as different.
    match exchange.redirect_uri {
        Some(uri) if uri != code.redirect_uri => return Err(TokenError::RedirectUriMismatch),
        None if exchange.client_type == Some(AppType::Web) => {
            return Err(TokenError::MissingParameter("redirect_uri"))
        }
        _ => {}
    }
    let verifier = exchange.code_verifier.filter(|v| !v.is_empty());
    match (&code.challenge, verifier) {
        (Some(challenge), Some(verifier)) if challenge.is_answered_by(verifier) => Ok(()),
        (Some(_), Some(_)) => Err(TokenError::InvalidCodeVerifier),
        (Some(_), None) => Err(TokenError::MissingParameter("code_verifier")),
        // A verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(TokenError::InvalidCodeVerifier),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkce::ChallengeMethod;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code() -> IssuedCode {
        IssuedCode {
            client_id: "spa1".into(),
            redirect_uri: "https://app.example/cb".into(),
            challenge: Some(CodeChallenge {
                value: CHALLENGE.into(),
                method: ChallengeMethod::S256,
            }),
            scopes: vec!["openid".into()],
            nonce: None,
            user_id: UserId::new(1),
            auth_id: "u".into(),
            auth_time: 100,
            session_id: None,
            expires_at: 400,
            resource: None,
            amr: Vec::new(),
            id_token_claims: Vec::new(),
            userinfo_claims: Vec::new(),
            dpop_jkt: None,
        }
    }

    fn exchange() -> Exchange<'static> {
        Exchange {
            client_id: None,
            client_type: Some(AppType::Spa),
            redirect_uri: Some("https://app.example/cb"),
            code_verifier: Some(VERIFIER),
            now: 200,
        }
    }

    #[test]
    fn a_melody_sdk_exchange_without_client_id_passes() {
        assert_eq!(check_exchange(&code(), &exchange()), Ok(()));
    }

    #[test]
    fn each_binding_is_checked() {
        let cases = [
            (
                Exchange {
                    now: 400,
                    ..exchange()
                },
                TokenError::InvalidAuthCode,
            ),
            (
                Exchange {
                    client_id: Some("other"),
                    ..exchange()
                },
                TokenError::CodeOfAnotherClient,
            ),
            (
                Exchange {
                    redirect_uri: Some("https://app.example/cb/"),
                    ..exchange()
                },
                TokenError::RedirectUriMismatch,
            ),
            (
                Exchange {
                    redirect_uri: Some("https://app.example/CB"),
                    ..exchange()
                },
                TokenError::RedirectUriMismatch,
            ),
            (
                Exchange {
                    code_verifier: Some(CHALLENGE),
                    ..exchange()
                },
                TokenError::InvalidCodeVerifier,
            ),
            (
                Exchange {
                    code_verifier: None,
                    ..exchange()
                },
                TokenError::MissingParameter("code_verifier"),
            ),
        ];
        for (ex, err) in cases {
            assert_eq!(check_exchange(&code(), &ex), Err(err));
        }
    }

    #[test]
    fn web_apps_must_send_the_redirect_uri_and_cannot_downgrade_pkce() {
        let web = Exchange {
            client_id: Some("spa1"),
            client_type: Some(AppType::Web),
            redirect_uri: None,
            ..exchange()
        };
        assert_eq!(
            check_exchange(&code(), &web),
            Err(TokenError::MissingParameter("redirect_uri"))
        );
        let no_pkce = IssuedCode {
            challenge: None,
            ..code()
        };
        assert_eq!(
            check_exchange(&no_pkce, &exchange()),
            Err(TokenError::InvalidCodeVerifier)
        );
        let plain = Exchange {
            code_verifier: None,
            ..exchange()
        };
        assert_eq!(check_exchange(&no_pkce, &plain), Ok(()));
    }
}
