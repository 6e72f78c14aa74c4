//! What kind of failure an error is ([`ErrorClass`]), and the errors a token request can end
//! in, with their RFC 6749 §5.2 codes and Melody's messages.

/// What kind of failure an error is. Every core error names its class; each HTTP surface turns
/// a class into its status in one place, so a refusal answers the same on every surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The request breaks a rule or is malformed; sent again unchanged, it fails again.
    Invalid,
    /// The caller did not prove who it is: no credentials, or ones that do not verify.
    Unauthenticated,
    /// The caller may not do this here (a form not sent by this browser, say).
    Forbidden,
    /// What the request names does not exist, or is not known to this caller.
    NotFound,
    /// The request conflicts with what exists (a name already taken).
    Conflict,
    /// An outside provider the request depends on could not be reached or answered nonsense.
    Upstream,
    /// A backing service of this server (database, cache) cannot answer; a retry may succeed.
    Unavailable,
    /// A fault on the server's side.
    Internal,
}

impl ErrorClass {
    /// Whether the fault is the server's (logged with its cause, never shown).
    pub fn is_server_fault(self) -> bool {
        matches!(self, Self::Unavailable | Self::Internal)
    }
}

/// The `error` code of RFC 6749 §5.2 (and RFC 7009 / 7662 where they reuse it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707 §2: a resource that cannot be granted.
    InvalidTarget,
    /// RFC 8628 §3.5: the device grant's answers while polling.
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    AccessDenied,
    /// RFC 9449 §7.1: a DPoP proof that does not hold, and the nonce the server wants.
    InvalidDpopProof,
    UseDpopNonce,
    /// RFC 9101 §6.3: a request object that does not hold.
    InvalidRequestObject,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::AccessDenied => "access_denied",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidRequestObject => "invalid_request_object",
        }
    }
}

/// A refused token request: what the client did wrong, in words it can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Invalid grant_type provided")]
    UnsupportedGrantType,
    #[error("Client authentication is required: send the client id and secret with HTTP Basic")]
    ClientAuthenticationRequired,
    #[error("Malformed Authorization header: expected Basic base64(client_id:client_secret)")]
    MalformedAuthorizationHeader,
    #[error("The {0} parameter is required")]
    MissingParameter(&'static str),
    #[error("No S2S app found")]
    NoS2sAppFound,
    #[error("A S2S request sent to a non-S2S app")]
    NotAnS2sApp,
    #[error("Wrong S2S client secret provided")]
    WrongS2sClientSecret,
    #[error("A request to a S2S app was made but the app is disabled")]
    S2sAppDisabled,
    #[error("No app found for this client_id")]
    UnknownClient,
    #[error("Wrong client secret provided")]
    WrongClientSecret,
    #[error("This app must authenticate with its client secret (client_secret_basic or client_secret_post)")]
    ConfidentialClientMustAuthenticate,
    #[error("The app is disabled")]
    AppDisabled,
    #[error("This app may not use the {0} grant")]
    GrantNotAllowed(&'static str),
    #[error("Invalid auth code provided")]
    InvalidAuthCode,
    #[error("The auth code was issued to another client")]
    CodeOfAnotherClient,
    #[error("redirect_uri does not match the one of the authorization request")]
    RedirectUriMismatch,
    #[error("Invalid code_verifier provided")]
    InvalidCodeVerifier,
    #[error("Too many failed auth code verifier attempts. Please try again after 30 minutes.")]
    VerifierLockout,
    #[error("{0}")]
    NotSecured(#[from] crate::signin::NotSecured),
    #[error("Invalid refresh_token provided")]
    InvalidRefreshToken,
    #[error("Try to access a disabled account")]
    DisabledAccount,
    #[error("Only an app with a client secret (S2S or server-side web) may introspect tokens")]
    PublicClientCannotIntrospect,
    #[error("Invalid device_code provided")]
    InvalidDeviceCode,
    #[error("The device_code was issued to another client")]
    DeviceCodeOfAnotherClient,
    #[error("The user has not yet approved the request on the verification page")]
    AuthorizationPending,
    #[error("Polling too fast: wait the interval (5 seconds more after each slow_down) between requests")]
    SlowDown,
    #[error("The device_code has expired; start a new device authorization")]
    ExpiredDeviceCode,
    #[error("The user denied the request")]
    DeviceAccessDenied,
    #[error("{0}")]
    InvalidTarget(#[from] crate::resource::ResourceError),
    #[error("{0} must be urn:ietf:params:oauth:token-type:access_token")]
    UnsupportedTokenType(&'static str),
    #[error("actor_token is not supported: the calling app is the actor")]
    ActorTokenNotSupported,
    #[error("The subject_token is not a user's access token this app may use")]
    InvalidSubjectToken,
    #[error("scope may only narrow the subject token's scopes")]
    ScopeBeyondSubject,
    #[error("None of the requested scopes is defined by the target API")]
    NoScopeForTarget,
    #[error("resource and audience name two different APIs: name one")]
    TwoTargets,
    #[error("Use one client authentication per request: a client_assertion alone (its client_id, if sent, the one it names), or the client secret")]
    TwoClientAuthentications,
    #[error("{0}")]
    ClientAssertion(#[from] crate::client_assertion::ClientAssertionError),
    #[error("{0}")]
    Dpop(#[from] crate::dpop::DpopError),
    #[error("{0}")]
    PushedRequest(#[from] crate::par::ParError),
    #[error("{0}")]
    RequestObject(#[from] crate::request_object::RequestObjectError),
    #[error("{0}")]
    Fapi(#[from] crate::fapi::FapiError),
}

impl TokenError {
    pub fn code(&self) -> OAuthErrorCode {
        match self {
            Self::UnsupportedGrantType => OAuthErrorCode::UnsupportedGrantType,
            Self::ClientAuthenticationRequired
            | Self::NoS2sAppFound
            | Self::WrongS2sClientSecret => OAuthErrorCode::InvalidClient,
            Self::MalformedAuthorizationHeader | Self::MissingParameter(_) => {
                OAuthErrorCode::InvalidRequest
            }
            Self::NotAnS2sApp | Self::S2sAppDisabled | Self::GrantNotAllowed(_) => {
                OAuthErrorCode::UnauthorizedClient
            }
            Self::UnknownClient
            | Self::WrongClientSecret
            | Self::ConfidentialClientMustAuthenticate
            | Self::AppDisabled
            | Self::PublicClientCannotIntrospect => OAuthErrorCode::InvalidClient,
            Self::InvalidAuthCode
            | Self::CodeOfAnotherClient
            | Self::RedirectUriMismatch
            | Self::InvalidCodeVerifier
            | Self::VerifierLockout
            | Self::NotSecured(_)
            | Self::InvalidRefreshToken
            | Self::DisabledAccount
            | Self::InvalidDeviceCode
            | Self::DeviceCodeOfAnotherClient => OAuthErrorCode::InvalidGrant,
            Self::AuthorizationPending => OAuthErrorCode::AuthorizationPending,
            Self::SlowDown => OAuthErrorCode::SlowDown,
            Self::ExpiredDeviceCode => OAuthErrorCode::ExpiredToken,
            Self::DeviceAccessDenied => OAuthErrorCode::AccessDenied,
            Self::InvalidTarget(_) => OAuthErrorCode::InvalidTarget,
            Self::UnsupportedTokenType(_) | Self::ActorTokenNotSupported | Self::TwoTargets => {
                OAuthErrorCode::InvalidRequest
            }
            Self::InvalidSubjectToken => OAuthErrorCode::InvalidGrant,
            Self::ScopeBeyondSubject | Self::NoScopeForTarget => OAuthErrorCode::InvalidScope,
            Self::ClientAssertion(_) => OAuthErrorCode::InvalidClient,
            Self::TwoClientAuthentications => OAuthErrorCode::InvalidRequest,
            Self::Dpop(crate::dpop::DpopError::UseNonce) => OAuthErrorCode::UseDpopNonce,
            // A bound refresh token used with another key is a grant that does not hold.
            Self::Dpop(
                crate::dpop::DpopError::RefreshTokenBound | crate::dpop::DpopError::CodeBound,
            ) => OAuthErrorCode::InvalidGrant,
            Self::Dpop(_) => OAuthErrorCode::InvalidDpopProof,
            Self::PushedRequest(_) => OAuthErrorCode::InvalidRequest,
            Self::RequestObject(_) => OAuthErrorCode::InvalidRequestObject,
            Self::Fapi(
                crate::fapi::FapiError::KeyAuthenticationRequired
                | crate::fapi::FapiError::AlgorithmNotAllowed(_),
            ) => OAuthErrorCode::InvalidClient,
            Self::Fapi(_) => OAuthErrorCode::InvalidRequest,
        }
    }

    /// RFC 6749 §5.2: a failed client authentication is unauthenticated (401), the rest invalid.
    pub fn class(&self) -> ErrorClass {
        match self.code() {
            OAuthErrorCode::InvalidClient => ErrorClass::Unauthenticated,
            _ => ErrorClass::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_client_authentication_is_unauthenticated_and_the_rest_invalid() {
        for err in [
            TokenError::ClientAuthenticationRequired,
            TokenError::NoS2sAppFound,
            TokenError::WrongS2sClientSecret,
            TokenError::UnknownClient,
            TokenError::WrongClientSecret,
            TokenError::ConfidentialClientMustAuthenticate,
            TokenError::AppDisabled,
        ] {
            assert_eq!(err.class(), ErrorClass::Unauthenticated, "{err:?}");
        }
        for err in [
            TokenError::UnsupportedGrantType,
            TokenError::MalformedAuthorizationHeader,
            TokenError::NotAnS2sApp,
            TokenError::S2sAppDisabled,
            TokenError::InvalidAuthCode,
            TokenError::InvalidRefreshToken,
            TokenError::DisabledAccount,
        ] {
            assert_eq!(err.class(), ErrorClass::Invalid, "{err:?}");
        }
    }
}
