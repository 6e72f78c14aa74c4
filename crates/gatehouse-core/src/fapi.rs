//! The FAPI 2.0 Security Profile (final, 2025) for an app held to it: what it asks of the
//! authorization server beyond what every app gets. The switches it needs (PAR, DPoP,
//! `private_key_jwt`) are the app's settings; this module holds the rules that are FAPI's own.

use crate::federation::JwsAlgorithm;

/// FAPI 2.0 §5.3.2.1: authorization codes live at most 60 seconds.
pub const CODE_LIFETIME_SECS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FapiError {
    #[error("FAPI 2.0 apps are confidential: a spa app cannot be held to the profile")]
    PublicClient,
    #[error("FAPI 2.0 requires PKCE with S256")]
    PkceRequired,
    #[error("FAPI 2.0 requires client authentication with private_key_jwt")]
    KeyAuthenticationRequired,
    #[error("FAPI 2.0 allows PS256, ES256 and EdDSA signatures, not {0}")]
    AlgorithmNotAllowed(&'static str),
    #[error("FAPI 2.0 ID tokens must be signed with ES256 or EdDSA: set idTokenSignedResponseAlg")]
    IdTokenAlgorithm,
}

/// Whether the profile accepts a signature in `alg` (FAPI 2.0 §5.4.1: PS256, ES256, EdDSA).
pub fn algorithm_allowed(alg: JwsAlgorithm) -> Result<(), FapiError> {
    match alg {
        JwsAlgorithm::Rs256 => Err(FapiError::AlgorithmNotAllowed("RS256")),
        _ => Ok(()),
    }
}

/// The lifetime of an authorization code: the server's, and no more than the profile's for an
/// app held to it.
pub fn code_lifetime(server: u64, fapi: bool) -> u64 {
    if fapi {
        server.min(CODE_LIFETIME_SECS)
    } else {
        server
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_pkcs1_is_not_allowed_and_codes_are_short() {
        assert_eq!(
            algorithm_allowed(JwsAlgorithm::Rs256),
            Err(FapiError::AlgorithmNotAllowed("RS256"))
        );
        for alg in [
            JwsAlgorithm::Ps256,
            JwsAlgorithm::Es256,
            JwsAlgorithm::EdDsa,
        ] {
            assert_eq!(algorithm_allowed(alg), Ok(()));
        }
        assert_eq!(code_lifetime(300, true), 60);
        assert_eq!(code_lifetime(30, true), 30);
        assert_eq!(code_lifetime(300, false), 300);
    }
}
