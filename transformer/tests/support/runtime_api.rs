//! A loopback stand-in for the Lambda Runtime API, enough to run the real `transformer` binary:
//! it hands out queued events on `GET .../invocation/next` and records what the function posts.
//! Shared by the end-to-end test and the cold-start benchmark.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc};

/// What the function posted back.
#[derive(Debug, Clone)]
pub enum Post {
    Response { id: String, body: Bytes },
    Error { id: String, error_type: Option<String>, body: Bytes },
    InitError { body: Bytes },
}

struct Shared {
    events: Mutex<mpsc::Receiver<(String, Vec<u8>)>>,
    posts: mpsc::Sender<Post>,
    first_next: mpsc::Sender<Instant>,
}

pub struct FakeRuntime {
    pub addr: SocketAddr,
    events: mpsc::Sender<(String, Vec<u8>)>,
    pub posts: mpsc::Receiver<Post>,
    pub first_next: mpsc::Receiver<Instant>,
}

impl FakeRuntime {
    pub async fn start() -> FakeRuntime {
        let (ev_tx, ev_rx) = mpsc::channel(16);
        let (post_tx, post_rx) = mpsc::channel(16);
        let (next_tx, next_rx) = mpsc::channel(64);
        let shared = Arc::new(Shared { events: Mutex::new(ev_rx), posts: post_tx, first_next: next_tx });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeRuntime { addr, events: ev_tx, posts: post_rx, first_next: next_rx }
    }

    /// Queues an event for the function's next `GET .../next`.
    pub async fn invoke(&self, request_id: &str, body: Vec<u8>) {
        self.events.send((request_id.to_owned(), body)).await.unwrap();
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

async fn next(State(s): State<Arc<Shared>>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let _ = s.first_next.try_send(Instant::now());
    let Some((id, body)) = s.events.lock().await.recv().await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), Vec::new());
    };
    let mut h = HeaderMap::new();
    h.insert("Lambda-Runtime-Aws-Request-Id", HeaderValue::from_str(&id).unwrap());
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 60_000;
    h.insert("Lambda-Runtime-Deadline-Ms", HeaderValue::from_str(&deadline.to_string()).unwrap());
    h.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        HeaderValue::from_static("arn:aws:lambda:eu-west-1:111122223333:function:wafwatch-transformer"),
    );
    h.insert("Lambda-Runtime-Trace-Id", HeaderValue::from_static("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"));
    (StatusCode::OK, h, body)
}

async fn response(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    s.posts.send(Post::Response { id, body }).await.unwrap();
    StatusCode::ACCEPTED
}

async fn error(State(s): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let error_type = headers.get("Lambda-Runtime-Function-Error-Type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    s.posts.send(Post::Error { id, error_type, body }).await.unwrap();
    StatusCode::ACCEPTED
}

async fn init_error(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    s.posts.send(Post::InitError { body }).await.unwrap();
    StatusCode::ACCEPTED
}
