//! `gatehouse-bench-reference PATH FILE [PATH FILE …]`: serves each file's bytes as JSON at its
//! path on a loopback port, and prints `listening ADDR` once it accepts connections.
//!
//! It is what a Gatehouse endpoint would cost if computing its answer were free: the same
//! multi-threaded tokio runtime (one worker per core), axum router and hyper HTTP/1 connection
//! handling as the server, so a hot path's rate divided by this one is the share of the HTTP
//! stack's own limit that the endpoint reaches.

use std::process::ExitCode;

use axum::body::Bytes;
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || !args.len().is_multiple_of(2) {
        eprintln!("usage: gatehouse-bench-reference PATH FILE [PATH FILE …]");
        return ExitCode::from(2);
    }
    let mut router = Router::new();
    for pair in args.chunks(2) {
        let body = match std::fs::read(&pair[1]) {
            Ok(bytes) => Bytes::from(bytes),
            Err(err) => {
                eprintln!("cannot read {}: {err}", pair[1]);
                return ExitCode::FAILURE;
            }
        };
        router = router.route(
            &pair[0],
            get(move || {
                let body = body.clone();
                async move {
                    let json = HeaderValue::from_static("application/json");
                    ([(header::CONTENT_TYPE, json)], body)
                }
            }),
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening {}", listener.local_addr()?);
        axum::serve(listener, router).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("serving failed: {err}");
            ExitCode::FAILURE
        }
    }
}
