//! One module per grant type; each decides a token request from plain facts.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;
pub mod token_exchange;

/// The kinds of app (OAuth client) Gatehouse knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    /// A public browser app: authorization code with PKCE, no secret.
    Spa,
    /// A backend calling Gatehouse's APIs with client credentials.
    S2s,
    /// A confidential web app that authenticates at the token endpoint.
    Web,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spa => "spa",
            Self::S2s => "s2s",
            Self::Web => "web",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "spa" => Some(Self::Spa),
            "s2s" => Some(Self::S2s),
            "web" => Some(Self::Web),
            _ => None,
        }
    }
}

impl std::fmt::Display for AppType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
