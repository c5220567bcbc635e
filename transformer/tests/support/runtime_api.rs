//! A loopback stand-in for the Lambda Runtime API, kept only for the cold-start benchmark
//! (`benches/handler.rs`): it records when the function first asks for an event
//! (`GET .../invocation/next`) and never hands one out.
//!
//! The end-to-end test runs the binary under the AWS Lambda Runtime Interface Emulator instead
//! (`tests/lambda_binary.rs`). The benchmark keeps this because it times exec to the first `next`
//! without Go or the emulator installed, and without the emulator's own start-up in the measurement.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::mpsc;

/// The stand-in, listening on a loopback port.
pub struct FakeRuntime {
    /// Where it listens: the function's `AWS_LAMBDA_RUNTIME_API`.
    pub addr: SocketAddr,
    /// The instant of every `GET .../invocation/next`.
    pub first_next: mpsc::Receiver<Instant>,
}

impl FakeRuntime {
    /// Starts the stand-in on a free loopback port.
    pub async fn start() -> FakeRuntime {
        let (next_tx, next_rx) = mpsc::channel(64);
        let app = Router::new().route("/2018-06-01/runtime/invocation/next", get(next)).with_state(Arc::new(next_tx));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeRuntime { addr, first_next: next_rx }
    }

    /// The environment Lambda gives a function, pointing at this runtime.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "wafwatch-transformer".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/21/[$LATEST]abc".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wafwatch-transformer".into()),
            ("AWS_REGION", "eu-west-1".into()),
        ]
    }
}

/// Records the moment, then holds the request open: no event is ever handed out.
async fn next(State(first_next): State<Arc<mpsc::Sender<Instant>>>) -> StatusCode {
    let _ = first_next.try_send(Instant::now());
    std::future::pending::<()>().await;
    StatusCode::INTERNAL_SERVER_ERROR
}
