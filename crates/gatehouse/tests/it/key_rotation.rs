//! Scheduled key rotation: the next key is in the JWKS before it signs, signs from its
//! activation, and the key it replaces stays published for the overlap, then goes; instances
//! racing to rotate make one key.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::DateTime;
use gatehouse_server::config::Config;
use gatehouse_server::startup;
use gatehouse_store::SigningKeyStore;
use serde_json::Value;

use crate::harness::{backend_tests, jwt_part, Isolation, TestApp, BOOTSTRAP_ID, BOOTSTRAP_SECRET};

/// Rotation every 4 s, the next key published 2 s ahead, the old one kept 3 s.
fn fast_rotation(c: &mut Config) {
    c.key_rotation_interval = 4;
    c.key_prepublish = 2;
    c.key_rotation_overlap = 3;
    c.keys_reload_interval = 1;
    c.s2s_access_token_expires_in = 3;
    c.spa_access_token_expires_in = 3;
    c.id_token_expires_in = 3;
}

async fn jwks_kids(app: &TestApp) -> HashSet<String> {
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn signing_kid(app: &TestApp) -> String {
    let response = app
        .client_credentials(BOOTSTRAP_ID, BOOTSTRAP_SECRET, "root")
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    jwt_part(body["access_token"].as_str().unwrap(), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    async fn the_next_key_is_published_before_it_signs_and_the_old_one_stays_for_the_overlap(backend: Backend) {
        let app = TestApp::spawn_with(backend, fast_rotation).await;
        let first = signing_kid(&app).await;
        let started = Instant::now();
        // When the next key was first seen in the JWKS, when it first signed, and when the
        // first key left the JWKS.
        let (mut next, mut next_published, mut next_signed, mut first_gone) = (None::<String>, None, None, None);
        while first_gone.is_none() && started.elapsed() < Duration::from_secs(25) {
            let kids = jwks_kids(&app).await;
            let signer = signing_kid(&app).await;
            let now = started.elapsed();
            if next.is_none() {
                if let Some(kid) = kids.iter().find(|k| **k != first) {
                    assert_eq!(signer, first, "a key signs only after it was published on its own");
                    next = Some(kid.clone());
                    next_published = Some(now);
                }
            }
            if let Some(next) = &next {
                if next_signed.is_none() && signer == *next {
                    next_signed = Some(now);
                    assert!(kids.contains(&first), "the replaced key is still published when its successor starts signing");
                }
                if next_signed.is_some() && !kids.contains(&first) {
                    first_gone = Some(now);
                }
            }
            assert!(signer == first || Some(&signer) == next.as_ref(), "only the first key and its successor sign while the first is published");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (published, signed, gone) = (next_published.expect("a next key was published"), next_signed.expect("the next key signed"), first_gone.expect("the first key left the JWKS"));
        // Prepublished 2 s ahead (whole seconds, reloaded every second: at least 1 s seen).
        assert!(signed >= published + Duration::from_millis(900), "published at {published:?}, signing at {signed:?}");
        // Kept for the 3 s overlap after its successor started (within a reload).
        assert!(gone >= signed + Duration::from_millis(1900), "signing at {signed:?}, first key gone at {gone:?}");
        app.stop().await;
    }

    async fn instances_racing_to_rotate_make_one_key_each_time(backend: Backend) {
        let isolation = Isolation::new(backend).await;
        let mut config = isolation.config();
        config.signing_algorithm = "ES256".into();
        config.key_rotation_interval = 90 * 86_400;
        config.key_rotation_overlap = 86_400;
        let store_a = startup::open_store(&config).await.unwrap();
        let store_b = startup::open_store(&config).await.unwrap();
        let a = startup::key_ring(&config, &store_a).await.unwrap();
        let b = startup::key_ring(&config, &store_b).await.unwrap();
        let keys = store_a.all_signing_keys().await.unwrap();
        assert_eq!(keys.len(), 1, "the second instance found the first one's key");
        let mut due = keys[0].active_from().and_utc().timestamp() + 90 * 86_400 - 3600;
        for round in 0..4 {
            let at = DateTime::from_timestamp(due, 0).unwrap().naive_utc();
            let (from_a, from_b) = tokio::join!(a.rotate_on_schedule(at), b.rotate_on_schedule(at));
            let mut published = from_a.unwrap();
            published.extend(from_b.unwrap());
            assert_eq!(published.len(), 1, "round {round}: one instance published, the other found it done");
            assert_eq!(store_a.all_signing_keys().await.unwrap().len(), round + 2);
            // Taking the step again at the same moment finds the next key already published.
            assert!(a.rotate_on_schedule(at).await.unwrap().is_empty());
            due = published[0].active_from().and_utc().timestamp() + 90 * 86_400 - 3600;
        }
        store_a.close().await;
        store_b.close().await;
    }
}
