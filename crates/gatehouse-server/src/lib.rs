//! The Gatehouse server: configuration, services and the HTTP surface.

pub mod backup;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod services;
pub mod sms;
pub mod startup;
pub mod state;
