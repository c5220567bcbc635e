//! A webhook inbox on loopback: records every request the Notifications plugin delivers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};

/// One delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The path it was posted to.
    pub path: String,
    /// The channel's header.
    pub token: Option<String>,
    /// The rendered message.
    pub body: String,
}

/// A running inbox.
#[derive(Clone)]
pub struct Inbox {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    received: Arc<Mutex<Vec<Delivery>>>,
}

async fn receive(
    State(received): State<Arc<Mutex<Vec<Delivery>>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let token = headers.get("x-wafwatch").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let delivery = Delivery { path: uri.path().to_owned(), token, body: String::from_utf8_lossy(&body).into_owned() };
    received.lock().unwrap().push(delivery);
    "{\"ok\":true}"
}

impl Inbox {
    /// Starts one on a free loopback port.
    pub async fn start() -> Inbox {
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(receive).with_state(Arc::clone(&received));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Inbox { url: format!("http://{addr}"), received }
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<Delivery> {
        self.received.lock().unwrap().clone()
    }
}
