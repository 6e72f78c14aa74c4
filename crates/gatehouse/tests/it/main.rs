//! Black-box tests: the real server on an ephemeral port with a fresh database, on SQLite with
//! the in-process cache and on PostgreSQL with Redis.

mod harness;
mod mailbox;
mod melody_fixture;

mod account_linking;
mod admin;
mod admin_browser;
mod api_banners;
mod api_catalog;
mod api_logs_saml;
mod api_orgs;
mod api_user_attributes;
mod api_users;
mod attack_api;
mod attack_fresh_proof;
mod attack_pages;
mod attack_protocol;
mod attack_signin;
mod browser;
mod captcha;
mod cli;
mod client_credentials;
mod clients;
mod config_check;
mod connect;
mod device_flow;
mod discovery;
mod email;
mod embedded;
mod federation;
mod federation_upstream;
mod flow;
mod import;
mod introspection;
mod locales;
mod mfa;
mod my_pass;
mod resource_servers;
mod saml;
mod sign_in;
mod sign_up_attributes;
mod simple_oauth;
mod social_oauth;
mod store_contract;
mod system;
