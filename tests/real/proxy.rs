//! A proxy on loopback in front of the node, to make faults happen on purpose: the node gone
//! (nothing forwarded, 502) after a number of requests, or a request carried out and its answer
//! lost on the way back (502 after forwarding), as a proxy whose upstream died answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// What the proxy does.
#[derive(Debug, Default)]
pub struct Faults {
    /// Requests forwarded so far.
    pub forwarded: usize,
    /// From this many forwarded requests on, the node is gone: nothing more is forwarded.
    pub down_after: Option<usize>,
    /// Requests (method, path suffix) forwarded whose answer is then lost, each once.
    pub lose: Vec<(String, String)>,
    /// The requests the proxy forwarded: method and path.
    pub log: Vec<String>,
}

/// A running proxy.
pub struct Proxy {
    /// Its URL.
    pub url: String,
    /// What it does; tests change it while it runs.
    pub faults: Arc<Mutex<Faults>>,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    faults: Arc<Mutex<Faults>>,
}

fn bad_gateway() -> Response {
    (StatusCode::BAD_GATEWAY, "{\"error\":\"the upstream is gone\"}").into_response()
}

async fn forward(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let lost = {
        let mut f = s.faults.lock().unwrap();
        if f.down_after.is_some_and(|n| f.forwarded >= n) {
            return bad_gateway();
        }
        f.forwarded += 1;
        f.log.push(format!("{method} {path}"));
        let p = uri.path();
        let i = f.lose.iter().position(|(m, suffix)| *m == method.as_str() && p.ends_with(suffix.as_str()));
        i.map(|i| f.lose.remove(i)).is_some()
    };
    let mut req = s.http.request(method, format!("{}{path}", s.upstream)).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    let Ok(res) = req.send().await else { return bad_gateway() };
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let bytes = res.bytes().await.unwrap_or_default();
    if lost {
        return bad_gateway();
    }
    (status, [("content-type", "application/json")], bytes).into_response()
}

impl Proxy {
    /// Starts one in front of `upstream`.
    pub async fn start(upstream: &str) -> Proxy {
        let faults = Arc::new(Mutex::new(Faults::default()));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: wafwatch_http::client(&wafwatch_http::Tls::default(), std::time::Duration::from_secs(120)).unwrap(),
            faults: Arc::clone(&faults),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(forward).with_state(shared);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Proxy { url: format!("http://{addr}"), faults }
    }
}
