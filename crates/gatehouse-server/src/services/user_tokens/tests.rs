//! Minting on an in-memory database: which tokens a plan and the scopes give, what they claim,
//! and what is stored (the refresh token's hash, never the token).

use std::time::Duration;

use gatehouse_store::{RoleStore, UserChanges};
use serde_json::Value;

use super::*;
use crate::crypto::{Algorithm, MasterKey};
use crate::services::fixture;

const NOW: i64 = 1_800_000_000;

struct World {
    store: Store,
    keys: KeyRing,
    app: App,
    user: UserRecord,
}

async fn world() -> World {
    let store = fixture::store().await;
    let keys = KeyRing::load(
        store.clone(),
        MasterKey::generate(),
        Algorithm::Es256,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let app = fixture::spa_app(&store).await;
    let user = fixture::user(&store, &fixture::passwords(), "mint@example.com", None).await;
    let role = store.insert_role("editor", "").await.unwrap();
    store
        .update_user(user.id, &UserChanges::default(), Some(&[role.id]))
        .await
        .unwrap();
    World {
        store,
        keys,
        app,
        user,
    }
}

impl World {
    fn issuer(&self) -> TokenIssuer<'_, Store> {
        TokenIssuer {
            store: &self.store,
            keys: &self.keys,
            settings: TokenSettings {
                issuer: "https://id.example.com",
                access_lifetime: 300,
                id_token_lifetime: 600,
                refresh_lifetime: 86_400,
                attributes: false,
            },
        }
    }

    fn mint_args(&self, scopes: &[&str], refresh: RefreshPlan) -> Mint<'_> {
        Mint {
            app: &self.app,
            user: &self.user,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            nonce: Some("n-1".into()),
            auth_time: NOW - 30,
            session_id: Some(7),
            refresh,
            impersonated_by: None,
            resource: None,
            amr: &[],
            id_token: true,
            id_token_claims: &[],
            userinfo_claims: &[],
            dpop: None,
            now: NOW,
        }
    }

    /// Mints for `scopes` with `refresh`: the tokens, the refresh family and the access `jti`.
    async fn mint(
        &self,
        scopes: &[&str],
        refresh: RefreshPlan,
    ) -> (UserTokens, Option<String>, String) {
        self.issuer()
            .mint(self.mint_args(scopes, refresh))
            .await
            .unwrap()
    }

    fn claims(&self, token: &str) -> Value {
        serde_json::from_slice(&self.keys.verify(token).expect("signed by the ring")).unwrap()
    }
}

#[tokio::test]
async fn the_access_token_names_user_app_scopes_roles_and_lifetime() {
    let w = world().await;
    let (tokens, family, jti) = w.mint(&["profile"], RefreshPlan::NewFamily).await;
    let access = w.claims(&tokens.access_token);
    assert_eq!(access["iss"], "https://id.example.com");
    assert_eq!(access["sub"], w.user.auth_id.as_str());
    assert_eq!(access["azp"], "spa-client");
    assert_eq!(access["scope"], "profile");
    assert_eq!(access["roles"], serde_json::json!(["editor"]));
    assert_eq!(access["iat"], NOW);
    assert_eq!(access["exp"], NOW + 300);
    assert_eq!(access["jti"], jti.as_str());
    assert_eq!((tokens.expires_in, tokens.expires_on), (300, NOW + 300));
    // Neither `openid` nor `offline_access`: no ID token and no refresh token.
    assert!(tokens.id_token.is_none() && tokens.refresh_token.is_none() && family.is_none());
}

#[tokio::test]
async fn openid_adds_an_id_token_bound_to_the_access_token_and_session() {
    let w = world().await;
    let (tokens, _, _) = w.mint(&["openid", "profile"], RefreshPlan::None).await;
    let id = w.claims(tokens.id_token.as_deref().expect("an ID token"));
    assert_eq!(id["aud"], "spa-client");
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["auth_time"], NOW - 30);
    assert_eq!(id["sid"], "7");
    assert_eq!(id["exp"], NOW + 600);
    let at_hash = gatehouse_core::pkce::left_half_hash(&tokens.access_token);
    assert_eq!(id["at_hash"], at_hash.as_str());
    assert!(id.get("attributes").is_none());
}

#[tokio::test]
async fn offline_access_stores_only_the_hash_of_a_new_family_token() {
    let w = world().await;
    let (tokens, family, _) = w
        .mint(&["openid", "offline_access"], RefreshPlan::NewFamily)
        .await;
    let token = tokens.refresh_token.expect("a refresh token");
    assert_eq!(tokens.refresh_token_expires_on, Some(NOW + 86_400));
    assert_eq!(tokens.refresh_token_expires_in, Some(86_400));
    assert!(w
        .store
        .refresh_token_by_hash(&token)
        .await
        .unwrap()
        .is_none());
    let stored = w
        .store
        .refresh_token_by_hash(&sha256_hex(token.as_bytes()))
        .await
        .unwrap()
        .expect("stored by its hash");
    assert_eq!(Some(stored.family_id.clone()), family);
    assert_eq!(stored.scope, "openid offline_access");
    assert_eq!(stored.session_id, Some(7));
    assert_eq!(stored.expires_at.and_utc().timestamp(), NOW + 86_400);
}

#[tokio::test]
async fn a_rotation_continues_the_family_and_keeps_its_end() {
    let w = world().await;
    let plan = RefreshPlan::Continue {
        family_id: "family-1".into(),
        expires_at: NOW + 50,
        dpop_jkt: None,
    };
    let (tokens, family, _) = w.mint(&["offline_access"], plan).await;
    assert_eq!(family.as_deref(), Some("family-1"));
    assert_eq!(tokens.refresh_token_expires_on, Some(NOW + 50));
    let token = tokens.refresh_token.unwrap();
    let stored = w
        .store
        .refresh_token_by_hash(&sha256_hex(token.as_bytes()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.family_id, "family-1");
    // Without a plan, even `offline_access` gets no new refresh token.
    let (tokens, family, _) = w.mint(&["offline_access"], RefreshPlan::None).await;
    assert!(tokens.refresh_token.is_none() && family.is_none());
}

#[tokio::test]
async fn two_mints_never_share_a_jti_or_a_refresh_token() {
    let w = world().await;
    let (a, _, jti_a) = w.mint(&["offline_access"], RefreshPlan::NewFamily).await;
    let (b, _, jti_b) = w.mint(&["offline_access"], RefreshPlan::NewFamily).await;
    assert_ne!(jti_a, jti_b);
    assert_ne!(a.refresh_token, b.refresh_token);
}

#[tokio::test]
async fn a_token_for_a_resource_server_follows_rfc_9068_and_its_lifetime() {
    let w = world().await;
    let api = gatehouse_store::ResourceServerRecord {
        id: 1,
        identifier: "https://orders.example.com".into(),
        name: "Orders".into(),
        scopes: r#"["orders:read"]"#.into(),
        access_token_expires_in: Some(900),
        introspection_client_id: None,
        token_exchange_client_ids: "[]".into(),
        signing_algorithm: None,
        is_active: true,
        created_at: chrono::NaiveDateTime::default(),
        updated_at: chrono::NaiveDateTime::default(),
    };
    let amr = ["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
    let args = Mint {
        resource: Some(&api),
        amr: &amr,
        ..w.mint_args(
            &["openid", "orders:read", "offline_access"],
            RefreshPlan::NewFamily,
        )
    };
    let (tokens, _, jti) = w.issuer().mint(args).await.unwrap();
    let header = gatehouse_core::jwt::split(&tokens.access_token)
        .unwrap()
        .header;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let access = w.claims(&tokens.access_token);
    assert_eq!(access["aud"], "https://orders.example.com");
    assert_eq!(access["client_id"], "spa-client");
    assert_eq!(access["sub"], w.user.auth_id.as_str());
    assert_eq!(access["auth_time"], NOW - 30);
    assert_eq!(access["jti"], jti.as_str());
    assert_eq!(access["exp"], NOW + 900);
    assert!(access.get("roles").is_none() && access.get("azp").is_none());
    assert_eq!(access["acr"], "urn:gatehouse:loa:2fa");
    assert_eq!(access["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!((tokens.expires_in, tokens.expires_on), (900, NOW + 900));
    // The ID token is the client's as always; the refresh family remembers the API.
    let id = w.claims(tokens.id_token.as_deref().expect("an ID token"));
    assert_eq!(id["aud"], "spa-client");
    assert_eq!((&id["acr"], &id["amr"]), (&access["acr"], &access["amr"]));
    let stored = w
        .store
        .refresh_token_by_hash(&sha256_hex(tokens.refresh_token.unwrap().as_bytes()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.resource.as_deref(),
        Some("https://orders.example.com")
    );
}
