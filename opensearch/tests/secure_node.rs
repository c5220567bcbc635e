//! The connection against a real OpenSearch node with the security plugin (`scripts/opensearch up
//! --secure`: the plugin's demo TLS and basic auth): certificate verification with the CA passed
//! explicitly, basic auth, and the one-sentence explanations of what goes wrong.
//!
//! The test command starts the node and exports `WAFWATCH_TEST_OPENSEARCH_SECURE_URL`,
//! `WAFWATCH_TEST_OPENSEARCH_CA`, `WAFWATCH_TEST_OPENSEARCH_USER` and
//! `WAFWATCH_TEST_OPENSEARCH_PASSWORD`. Without them these tests are skipped; under `CI` they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // test code

use std::path::PathBuf;

use wafwatch_opensearch::connection::{ConnectionArgs, HeaderMap, Method, explain_status};

struct Node {
    url: String,
    ca: PathBuf,
    user: String,
    password_file: PathBuf,
}

/// The secure node, or `None` (skipped) outside CI when the test command did not start one.
fn node() -> Option<Node> {
    let Ok(url) = std::env::var("WAFWATCH_TEST_OPENSEARCH_SECURE_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "WAFWATCH_TEST_OPENSEARCH_SECURE_URL is not set under CI: run the tests with scripts/test"
        );
        eprintln!("skipped: WAFWATCH_TEST_OPENSEARCH_SECURE_URL is not set (scripts/test starts a secure node)");
        return None;
    };
    let password = std::env::var("WAFWATCH_TEST_OPENSEARCH_PASSWORD").unwrap();
    let dir = std::env::temp_dir().join(format!("wafwatch-secure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{password}\n")).unwrap();
    Some(Node {
        url,
        ca: std::env::var("WAFWATCH_TEST_OPENSEARCH_CA").unwrap().into(),
        user: std::env::var("WAFWATCH_TEST_OPENSEARCH_USER").unwrap(),
        password_file,
    })
}

impl Node {
    fn args(&self) -> ConnectionArgs {
        ConnectionArgs {
            url: Some(self.url.clone()),
            user: Some(self.user.clone()),
            password_file: Some(self.password_file.clone()),
            ca: Some(self.ca.clone()),
            ..ConnectionArgs::default()
        }
    }
}

/// GET / through the connection: the status, or the error's text.
async fn root(args: &ConnectionArgs) -> Result<u16, String> {
    let client = args.client(None).map_err(|e| e.to_string())?;
    let response =
        client.send::<()>(Method::GET, "/", HeaderMap::new(), None, None, None).await.map_err(|e| e.to_string())?;
    Ok(response.status_code().as_u16())
}

#[tokio::test]
async fn tls_with_the_ca_given_explicitly_and_basic_auth() {
    let Some(node) = node() else { return };
    assert_eq!(root(&node.args()).await, Ok(200), "the demo CA verifies the node, admin is let in");

    // Without the CA, the platform's roots do not know the demo CA: refused, and the error says why.
    let no_ca = ConnectionArgs { ca: None, ..node.args() };
    let err = root(&no_ca).await.unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // --opensearch-insecure gets through without the CA (test clusters only).
    let insecure = ConnectionArgs { ca: None, insecure: true, ..node.args() };
    assert_eq!(root(&insecure).await, Ok(200));
}

#[tokio::test]
async fn a_wrong_password_is_a_401_explained_in_one_sentence() {
    let Some(node) = node() else { return };
    let wrong = node.password_file.with_file_name("wrong");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    let args = ConnectionArgs { password_file: Some(wrong), ..node.args() };
    assert_eq!(root(&args).await, Ok(401));
    let text = explain_status(401, &node.url).unwrap();
    assert!(text.contains("refused the credentials (401)"), "{text}");
}

#[tokio::test]
async fn a_ca_file_that_is_not_a_certificate_is_refused_at_start() {
    let Some(node) = node() else { return };
    let bogus = node.password_file.with_file_name("bogus.pem");
    std::fs::write(&bogus, "not a certificate\n").unwrap();
    let args = ConnectionArgs { ca: Some(bogus.clone()), ..node.args() };
    let err = args.client(None).unwrap_err().to_string();
    assert!(err.contains("holds no PEM certificate") && err.contains("bogus.pem"), "{err}");
}
