//! One run against a live cluster: reads, writes (recorded instead of sent in a dry run), and the
//! report of what was done. `apply`, `status` and `destroy` each drive one [`Session`].

use serde_json::Value;

use super::client::{Api, Reply, Target};
use super::error::{BootstrapError, refused};
use super::report::{Action, Outcome, Report};
use super::request::{Body, Request};

/// One run: the service, whether writes are only recorded, and what was done so far.
pub struct Session<'a, A: Api> {
    api: &'a A,
    url: &'a str,
    dry_run: bool,
    report: Report,
}

impl<'a, A: Api> Session<'a, A> {
    /// A run against `api`, whose cluster is at `url` (for messages). With `dry_run`, writes are
    /// recorded in the report instead of sent.
    pub fn new(api: &'a A, url: &'a str, dry_run: bool) -> Self {
        Session { api, url, dry_run, report: Report::default() }
    }

    /// Whether writes are only recorded (`--dry-run`).
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// A GET, whatever its answer.
    pub async fn get(&self, target: Target, path: &str) -> Result<Reply, BootstrapError> {
        Ok(self.api.send(target, "GET", path, None).await?)
    }

    /// A GET that must succeed; a refusal says it was `doing` this.
    pub async fn read(&self, target: Target, path: &str, doing: &str) -> Result<Reply, BootstrapError> {
        let reply = self.get(target, path).await?;
        if reply.ok() { Ok(reply) } else { Err(self.fail(doing, path, &reply)) }
    }

    /// A read-only POST (a search) on the cluster, whatever its answer.
    pub async fn search(&self, path: &str, body: Value) -> Result<Reply, BootstrapError> {
        Ok(self.api.send(Target::Cluster, "POST", path, Some(&Body::Json(body))).await?)
    }

    /// A write, whatever its answer; with --dry-run recorded (its summary says what it does) and
    /// answered with 200 and `dry`.
    pub async fn send(&mut self, target: Target, request: Request, dry: Value) -> Result<Reply, BootstrapError> {
        self.report.writes += 1;
        if self.dry_run {
            self.report.would_send.push(request);
            return Ok(Reply { status: 200, body: dry });
        }
        Ok(self.api.send(target, &request.method, &request.path, request.body.as_ref()).await?)
    }

    /// A write that must succeed: [`Session::send`], and a refusal explained with the request's
    /// summary as what was being done.
    pub async fn write(&mut self, target: Target, request: Request, dry: Value) -> Result<Reply, BootstrapError> {
        let (doing, path) = (request.summary.clone(), request.path.clone());
        let reply = self.send(target, request, dry).await?;
        if reply.ok() { Ok(reply) } else { Err(self.fail(&doing, &path, &reply)) }
    }

    /// Adds a line to the report (and to the log).
    pub fn outcome(&mut self, kind: &'static str, name: impl Into<String>, action: Action, detail: impl Into<String>) {
        let o = Outcome { kind, name: name.into(), action, detail: detail.into() };
        tracing::info!(kind = o.kind, name = %o.name, action = ?o.action, detail = %o.detail, "Bootstrap.");
        self.report.outcomes.push(o);
    }

    /// A refused request, explained: [`refused`].
    pub fn fail(&self, doing: &str, path: &str, reply: &Reply) -> BootstrapError {
        refused(doing, self.url, path, reply)
    }

    /// The report of the run.
    pub fn finish(self) -> Report {
        self.report
    }
}
