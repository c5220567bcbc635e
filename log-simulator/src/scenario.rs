//! Named attack and outage scenarios, and the `NAME[@OFFSET][+DURATION][xINTENSITY]` syntax.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A scenario the simulator can force into a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScenarioKind {
    /// A surge of requests WAF blocks.
    BlockStorm,
    /// Requests whose `httpSourceName` is `-` (an unknown source).
    UnknownSource,
    /// The origin answers with 5xx and some 4xx: an outage.
    ErrorBurst,
    /// Requests from countries outside the known set.
    GeoAnomaly,
    /// A burst of DELETE requests (an uncommon method).
    DeleteBurst,
    /// Many failed logins on the login URI from a few IPs.
    CredentialStuffing,
    /// One IP sweeping many URIs, mostly answered 404.
    Scanner,
    /// A SQL injection campaign: the SQL database rule group blocks most, counts the rest.
    SqlInjection,
    /// A surge of one Bot Control category: a scraping framework from many addresses.
    BotSurge,
    /// A flood over a rate-based rule's limit, blocked with 429.
    RateFlood,
    /// Credential stuffing through residential proxies that Account Takeover Prevention labels.
    AtpStuffing,
    /// A new TLS fingerprint spreading over many addresses, claiming a browser's User-Agent.
    NewFingerprint,
}

impl ScenarioKind {
    /// The seven scenarios of the seed, which both record shapes show.
    pub const SEED: [ScenarioKind; 7] = [
        ScenarioKind::BlockStorm,
        ScenarioKind::UnknownSource,
        ScenarioKind::ErrorBurst,
        ScenarioKind::GeoAnomaly,
        ScenarioKind::DeleteBurst,
        ScenarioKind::CredentialStuffing,
        ScenarioKind::Scanner,
    ];

    /// The scenarios only the AWS WAF shape's verdicts reveal.
    pub const VERDICTS: [ScenarioKind; 5] = [
        ScenarioKind::SqlInjection,
        ScenarioKind::BotSurge,
        ScenarioKind::RateFlood,
        ScenarioKind::AtpStuffing,
        ScenarioKind::NewFingerprint,
    ];

    /// Every scenario, in the order `log-simulator scenarios` lists them: [`Self::SEED`], then
    /// [`Self::VERDICTS`].
    pub const ALL: [ScenarioKind; 12] = {
        let mut all = [ScenarioKind::BlockStorm; 12];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < Self::SEED.len() { Self::SEED[i] } else { Self::VERDICTS[i - Self::SEED.len()] };
            i += 1;
        }
        all
    };

    /// The name used on the command line and in labels.
    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::BlockStorm => "block-storm",
            ScenarioKind::UnknownSource => "unknown-source",
            ScenarioKind::ErrorBurst => "error-burst",
            ScenarioKind::GeoAnomaly => "geo-anomaly",
            ScenarioKind::DeleteBurst => "delete-burst",
            ScenarioKind::CredentialStuffing => "credential-stuffing",
            ScenarioKind::Scanner => "scanner",
            ScenarioKind::SqlInjection => "sql-injection",
            ScenarioKind::BotSurge => "bot-surge",
            ScenarioKind::RateFlood => "rate-flood",
            ScenarioKind::AtpStuffing => "atp-stuffing",
            ScenarioKind::NewFingerprint => "new-fingerprint",
        }
    }

    /// One line for `log-simulator scenarios`.
    pub fn description(self) -> &'static str {
        match self {
            ScenarioKind::BlockStorm => {
                "a surge of blocked requests from ~50 attacker IPs (+60% of the rate, x intensity)"
            }
            ScenarioKind::UnknownSource => "25% x intensity of requests arrive with httpSourceName \"-\"",
            ScenarioKind::ErrorBurst => "the origin fails: 30% x intensity of responses become 5xx (some 4xx)",
            ScenarioKind::GeoAnomaly => "extra traffic (+30% x intensity) from countries outside the known set",
            ScenarioKind::DeleteBurst => {
                "a burst of DELETE requests on the API (+5% of the rate x intensity, at least 1/s)"
            }
            ScenarioKind::CredentialStuffing => "failed logins (POST /login, 401) from 4 IPs (+20% x intensity)",
            ScenarioKind::Scanner => "one IP sweeping hundreds of URIs, answered 404 (+15% x intensity)",
            ScenarioKind::SqlInjection => {
                "sqlmap from 20 IPs on /api/search; the SQL database group blocks 75%, counts the rest (+10% x intensity)"
            }
            ScenarioKind::BotSurge => {
                "a scraping framework from 150 IPs, labelled bot:category:scraping_framework (+25% x intensity)"
            }
            ScenarioKind::RateFlood => "8 IPs over the rate-based rule's limit, blocked with 429 (+40% x intensity)",
            ScenarioKind::AtpStuffing => {
                "logins from 120 proxy IPs with browser agents, labelled by ATP, 40% blocked (+10% x intensity)"
            }
            ScenarioKind::NewFingerprint => {
                "an unseen JA3/JA4 from 300 IPs claiming Chrome, all allowed (+15% x intensity)"
            }
        }
    }

    /// The indicator columns this scenario should move: the default configuration's for the seed's
    /// seven, `presets/aws-waf.toml`'s verdict columns for the others.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            ScenarioKind::BlockStorm => &["B_action", "B_httpstatus"],
            ScenarioKind::UnknownSource => &["UNK_source"],
            ScenarioKind::ErrorBurst => &["B_httpstatus"],
            ScenarioKind::GeoAnomaly => &["UNK_country"],
            ScenarioKind::DeleteBurst => &["uncommon_method"],
            ScenarioKind::CredentialStuffing => &["B_httpstatus"],
            ScenarioKind::Scanner => &["B_httpstatus"],
            ScenarioKind::SqlInjection => &["L_injection"],
            ScenarioKind::BotSurge => &["L_bot_scraping", "L_bot_category"],
            ScenarioKind::RateFlood => &["R_rate_limited", "B_action"],
            ScenarioKind::AtpStuffing => &["L_atp"],
            ScenarioKind::NewFingerprint => &["UNK_ja4"],
        }
    }

    /// Whether the scenario changes existing requests (true) or adds requests of its own (false).
    pub fn overlays(self) -> bool {
        matches!(self, ScenarioKind::UnknownSource | ScenarioKind::ErrorBurst)
    }
}

impl fmt::Display for ScenarioKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Default offset of a scenario from the start of the run.
pub const DEFAULT_OFFSET: Duration = Duration::from_secs(10 * 60);
/// Default duration of a scenario.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10 * 60);
/// Default intensity.
pub const DEFAULT_INTENSITY: f64 = 1.0;

/// Why a scenario specification was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// Not one of the names.
    #[error("unknown scenario `{0}`; the scenarios are: {list}", list = ScenarioKind::ALL.map(|k| k.name()).join(", "))]
    Unknown(String),
    /// An offset or duration that does not parse.
    #[error("`{text}` in `{spec}` is not a duration (write it like 90m, 1h30m or 45s)")]
    Duration {
        /// The whole specification.
        spec: String,
        /// The part that failed.
        text: String,
    },
    /// An intensity that is not a positive number.
    #[error("intensity `{text}` in `{spec}` is not a positive number (write x2 or x0.5)")]
    Intensity {
        /// The whole specification.
        spec: String,
        /// The part that failed.
        text: String,
    },
    /// A zero duration.
    #[error("`{0}` has a zero duration")]
    Empty(String),
}

/// A scenario placed in a run: `NAME[@OFFSET][+DURATION][xINTENSITY]`.
///
/// ```
/// use wafwatch_log_simulator::scenario::{ScenarioKind, ScenarioSpec};
/// let s: ScenarioSpec = "block-storm@2h+30m x3".replace(' ', "").parse().unwrap();
/// assert_eq!(s.kind, ScenarioKind::BlockStorm);
/// assert_eq!(s.offset.as_secs(), 7200);
/// assert_eq!(s.duration.as_secs(), 1800);
/// assert_eq!(s.intensity, 3.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSpec {
    /// Which scenario.
    pub kind: ScenarioKind,
    /// From the start of the run.
    pub offset: Duration,
    /// How long it lasts.
    pub duration: Duration,
    /// How strong it is (1 is the documented default strength).
    pub intensity: f64,
}

impl FromStr for ScenarioSpec {
    type Err = ScenarioError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let end_of_name = spec.find(['@', '+', 'x']).unwrap_or(spec.len());
        // Names contain no `x`, so the first `x` after a name starts the intensity... except that
        // no name holds `@`, `+` or `x`: check that the name is known before going on.
        let name = &spec[..end_of_name];
        let kind = ScenarioKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| ScenarioError::Unknown(name.to_owned()))?;
        let mut out =
            ScenarioSpec { kind, offset: DEFAULT_OFFSET, duration: DEFAULT_DURATION, intensity: DEFAULT_INTENSITY };
        let mut rest = &spec[end_of_name..];
        let dur = |text: &str| {
            humantime::parse_duration(text)
                .map_err(|_| ScenarioError::Duration { spec: spec.to_owned(), text: text.to_owned() })
        };
        while let Some(c) = rest.chars().next() {
            let body = &rest[1..];
            let end = body.find(['@', '+', 'x']).unwrap_or(body.len());
            let part = &body[..end];
            match c {
                '@' => out.offset = dur(part)?,
                '+' => out.duration = dur(part)?,
                _ => {
                    out.intensity = part
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite() && *v > 0.0)
                        .ok_or_else(|| ScenarioError::Intensity { spec: spec.to_owned(), text: part.to_owned() })?
                }
            }
            rest = &body[end..];
        }
        if out.duration.is_zero() {
            return Err(ScenarioError::Empty(spec.to_owned()));
        }
        Ok(out)
    }
}

impl fmt::Display for ScenarioSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{}+{}x{}",
            self.kind,
            humantime::format_duration(self.offset),
            humantime::format_duration(self.duration),
            self.intensity
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_part_and_defaults() {
        let s: ScenarioSpec = "scanner".parse().unwrap();
        assert_eq!((s.offset, s.duration, s.intensity), (DEFAULT_OFFSET, DEFAULT_DURATION, 1.0));
        let s: ScenarioSpec = "error-burst+1h30mx0.5".parse().unwrap();
        assert_eq!((s.offset, s.duration.as_secs(), s.intensity), (DEFAULT_OFFSET, 5400, 0.5));
        let s: ScenarioSpec = "geo-anomaly@45s".parse().unwrap();
        assert_eq!(s.offset.as_secs(), 45);
        let back: ScenarioSpec = s.to_string().parse().unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn errors_say_what_is_valid() {
        let e = "blockstorm@1h".parse::<ScenarioSpec>().unwrap_err().to_string();
        assert!(e.starts_with("unknown scenario `blockstorm`; the scenarios are: block-storm, unknown-source"), "{e}");
        let e = "scanner@soon".parse::<ScenarioSpec>().unwrap_err().to_string();
        assert_eq!(e, "`soon` in `scanner@soon` is not a duration (write it like 90m, 1h30m or 45s)");
        let e = "scanner+10mx-2".parse::<ScenarioSpec>().unwrap_err().to_string();
        assert!(e.starts_with("intensity `-2`"), "{e}");
        assert!("scanner+0s".parse::<ScenarioSpec>().is_err());
    }
}
