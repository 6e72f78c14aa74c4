//! Signatures per second on one core for aws-lc-rs, ring and the openssl crate, with the same
//! RSA-2048 key and a token-sized message. Run with
//! `cargo run --release --manifest-path bench/rsa-backends/Cargo.toml`.

use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;

fn rate(mut sign: impl FnMut()) -> f64 {
    for _ in 0..50 {
        sign();
    }
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        sign();
        count += 1;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let message = [b'x'; 330];
    let aws_key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .expect("aws-lc-rs key generation");
    let pkcs8 = aws_key.as_der().expect("PKCS#8 export");
    let mut signature = vec![0; aws_key.public_modulus_len()];

    let aws_rng = aws_lc_rs::rand::SystemRandom::new();
    let aws = rate(|| {
        aws_key
            .sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &aws_rng, &message, &mut signature)
            .expect("aws-lc-rs signing")
    });

    let ring_key =
        ring::signature::RsaKeyPair::from_pkcs8(pkcs8.as_ref()).expect("ring key import");
    let ring_rng = ring::rand::SystemRandom::new();
    let ring = rate(|| {
        ring_key
            .sign(&ring::signature::RSA_PKCS1_SHA256, &ring_rng, &message, &mut signature)
            .expect("ring signing")
    });

    let openssl_key =
        openssl::pkey::PKey::private_key_from_pkcs8(pkcs8.as_ref()).expect("openssl key import");
    let openssl = rate(|| {
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &openssl_key)
                .expect("openssl signer");
        signer.update(&message).expect("openssl update");
        signer.sign_to_vec().expect("openssl signing");
    });

    println!("RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second, one core:");
    println!("  aws-lc-rs  {aws:>8.0}");
    println!("  openssl    {openssl:>8.0}");
    println!("  ring       {ring:>8.0}");
}
