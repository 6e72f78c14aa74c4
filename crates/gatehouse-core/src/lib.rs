//! Protocol and identity decisions of Gatehouse.
//!
//! Everything here is plain data in, decisions out: no I/O, no clock, no randomness. The server
//! crate passes `now` (unix seconds) and random bytes in, and persists what comes back.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod admin;
pub mod authorize;
pub mod branding;
pub mod charts;
pub mod claims;
pub mod client_assertion;
pub mod client_auth;
pub mod client_metadata;
pub mod connect;
pub mod dashboard;
pub mod dpop;
pub mod error;
pub mod fapi;
pub mod federation;
pub mod grant;
pub mod ids;
pub mod introspection;
pub mod jwt;
pub mod key_rotation;
pub mod lockout;
pub mod logout;
pub mod melody;
pub mod mfa;
pub mod par;
pub mod password;
pub mod pkce;
pub mod redirect_uri;
pub mod request_headers;
pub mod request_object;
pub mod resource;
pub mod saml;
pub mod scim;
pub mod scope;
pub mod signin;
pub mod social_profiles;
pub mod tokens;
pub mod web_url;
pub mod webauthn;
pub mod webhooks;

pub use error::{ErrorClass, TokenError};
