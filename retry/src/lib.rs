//! # wafwatch-retry
//!
//! The one retry helper of the workspace, used by every part that talks to a service: re-ingest
//! into Firehose, the simulator's Firehose and `_bulk` sinks, the bootstrap's OpenSearch client, and
//! alert delivery. One [`RetryPolicy`] says how hard to try (attempts, first delay, ceiling); a
//! [`Backoff`] walks it, waiting exponentially longer between attempts with full jitter (a random
//! wait between zero and the capped delay, so clients that failed together do not retry together);
//! [`retry`] runs an operation through it; [`retryable_status`] says which HTTP answers are worth
//! another try.
//!
//! ```
//! use std::time::Duration;
//! use wafwatch_retry::{Attempt, RetryPolicy, retry};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let policy = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_millis(4));
//! let mut calls = 0;
//! let answer: Result<&str, String> = retry(&policy, |_attempt| {
//!     calls += 1;
//!     let n = calls;
//!     async move { if n < 3 { Attempt::Retry(format!("503 on call {n}")) } else { Attempt::Done("ok") } }
//! })
//! .await;
//! assert_eq!(answer, Ok("ok"));
//! assert_eq!(calls, 3);
//! # });
//! ```

use std::future::Future;
use std::time::Duration;

/// How hard to try: attempts in all (the first included), the delay before the first retry, and
/// the ceiling of one delay. Each retry's delay doubles, up to the ceiling, with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The delay ceiling before the first retry; it doubles for each next one.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// A policy of `attempts` tries, waits starting below `base_delay` and never above `max_delay`.
    pub const fn new(attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        RetryPolicy { attempts, base_delay, max_delay }
    }

    /// No retry at all: one attempt.
    pub const fn once() -> Self {
        RetryPolicy { attempts: 1, base_delay: Duration::ZERO, max_delay: Duration::ZERO }
    }

    /// The most a wait before retry number `retry` (1 for the first retry) can be:
    /// `base_delay * 2^(retry - 1)`, at most `max_delay`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        self.base_delay.saturating_mul(1 << retry.saturating_sub(1).min(16)).min(self.max_delay)
    }
}

/// Whether an HTTP answer is worth another try: throttled (429), or a gateway or service briefly
/// unavailable (502, 503, 504). Anything else (a refusal, a bug, a 500 that would fail the same
/// way again) is final.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// A small xorshift generator for jitter, seeded from the clock: no dependency needed, and jitter
/// need not be cryptographic.
#[derive(Debug, Clone)]
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64);
        Jitter(seed | 1)
    }

    /// A duration in `[0, max)`.
    fn below(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let nanos = max.as_nanos().max(1) as u64;
        Duration::from_nanos(self.0 % nanos)
    }
}

/// Walks a [`RetryPolicy`]: after each failed attempt, how long to wait before the next one, or
/// that there is none left. For loops that retry part of a batch, where [`retry`] does not fit.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    attempts_made: u32,
    jitter: Jitter,
}

impl Backoff {
    /// A backoff before the first attempt.
    pub fn new(policy: RetryPolicy) -> Self {
        Backoff { policy, attempts_made: 0, jitter: Jitter::new() }
    }

    /// Records an attempt that failed and says how long to wait before the next one: `None` when
    /// the policy's attempts are used up.
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.attempts_made += 1;
        (self.attempts_made < self.policy.attempts).then(|| self.jitter.below(self.policy.ceiling(self.attempts_made)))
    }

    /// Records a failed attempt and waits (tokio) before the next one; false when there is none.
    pub async fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }

    /// Records a failed attempt and waits (blocking the thread) before the next one; false when
    /// there is none. For synchronous callers.
    pub fn wait_blocking(&mut self) -> bool {
        match self.next_delay() {
            Some(d) => {
                std::thread::sleep(d);
                true
            }
            None => false,
        }
    }

    /// Attempts recorded so far.
    pub fn attempts_made(&self) -> u32 {
        self.attempts_made
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt<T, E> {
    /// It worked.
    Done(T),
    /// It failed in a way worth another try.
    Retry(E),
    /// It failed for good.
    Fail(E),
}

/// Runs `op` (given the attempt number, from 1) until it is done or fails for good, retrying with
/// the policy's backoff; the error is the last attempt's.
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    let mut backoff = Backoff::new(*policy);
    loop {
        match op(backoff.attempts_made() + 1).await {
            Attempt::Done(v) => return Ok(v),
            Attempt::Fail(e) => return Err(e),
            Attempt::Retry(e) => {
                if !backoff.wait().await {
                    return Err(e);
                }
            }
        }
    }
}

/// [`retry`] for synchronous operations: sleeps the thread between attempts.
pub fn retry_blocking<T, E>(policy: &RetryPolicy, mut op: impl FnMut(u32) -> Attempt<T, E>) -> Result<T, E> {
    let mut backoff = Backoff::new(*policy);
    loop {
        match op(backoff.attempts_made() + 1) {
            Attempt::Done(v) => return Ok(v),
            Attempt::Fail(e) => return Err(e),
            Attempt::Retry(e) => {
                if !backoff.wait_blocking() {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_with_full_jitter() {
        let p = RetryPolicy::new(6, Duration::from_millis(100), Duration::from_millis(500));
        assert_eq!(
            (1..=5).map(|r| p.ceiling(r).as_millis()).collect::<Vec<_>>(),
            [100, 200, 400, 500, 500],
            "doubling, capped"
        );
        let mut b = Backoff::new(p);
        let mut waits = Vec::new();
        while let Some(d) = b.next_delay() {
            waits.push(d);
        }
        assert_eq!(waits.len(), 5, "six attempts leave five waits");
        for (i, w) in waits.iter().enumerate() {
            assert!(*w < p.ceiling(i as u32 + 1), "wait {i} = {w:?} is below its ceiling");
        }
        assert_eq!(b.attempts_made(), 6);
    }

    #[test]
    fn a_single_attempt_never_waits() {
        let mut b = Backoff::new(RetryPolicy::once());
        assert_eq!(b.next_delay(), None);
    }

    #[test]
    fn retry_stops_at_a_final_failure_and_at_the_bound() {
        let p = RetryPolicy::new(4, Duration::from_micros(10), Duration::from_micros(40));
        let mut calls = 0;
        let r: Result<(), u32> = retry_blocking(&p, |n| {
            calls += 1;
            if n == 2 { Attempt::Fail(n) } else { Attempt::Retry(n) }
        });
        assert_eq!((r, calls), (Err(2), 2), "a final failure is not retried");
        let mut calls = 0;
        let r: Result<(), u32> = retry_blocking(&p, |n| {
            calls += 1;
            Attempt::Retry(n)
        });
        assert_eq!((r, calls), (Err(4), 4), "the last attempt's error after all four");
    }

    #[tokio::test(start_paused = true)]
    async fn async_retry_sleeps_between_attempts() {
        let p = RetryPolicy::new(3, Duration::from_secs(1), Duration::from_secs(2));
        let start = tokio::time::Instant::now();
        let r: Result<u32, ()> =
            retry(&p, |n| async move { if n < 3 { Attempt::Retry(()) } else { Attempt::Done(n) } }).await;
        assert_eq!(r, Ok(3));
        assert!(start.elapsed() < Duration::from_secs(3), "two waits below 1 s and 2 s");
    }

    #[test]
    fn which_statuses_are_worth_another_try() {
        for s in [429, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 500, 501] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}
