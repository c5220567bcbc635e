//! The simulated web ACL and the clients' TLS stacks: what the AWS WAF shape's verdict members say.
//!
//! The web ACL runs five AWS managed rule groups (Core Rule Set, SQL database, Known Bad Inputs,
//! Bot Control in COUNT mode, Account Takeover Prevention on `/login`), an IP reputation rule, and
//! two rate-based rules. Labels and rule ids follow AWS's published names
//! (<https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html>); the
//! JA3/JA4 fingerprints are synthetic but well formed (32 hex characters; JA4's
//! `t13d..h2_<12 hex>_<12 hex>`, 36 characters), one per TLS stack, so every client keeps its
//! stack's fingerprint and a botnet's tools share one.

/// A client TLS stack: its JA3 and JA4 fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsStack {
    /// Which stack, for people.
    pub name: &'static str,
    /// JA3: 32 lower-case hex characters.
    pub ja3: &'static str,
    /// JA4: 36 characters.
    pub ja4: &'static str,
}

/// Chrome and every Chromium browser (Edge, Android Chrome).
pub const CHROMIUM: TlsStack =
    TlsStack { name: "chromium", ja3: "e7d705a3286e19ea42f587b344ee6865", ja4: "t13d1516h2_8daaf6152771_02713d6af862" };
/// Safari, iOS, and apps on Apple's CFNetwork.
pub const APPLE: TlsStack =
    TlsStack { name: "apple", ja3: "773906b0efdefa24a7f2b8eb6985bf37", ja4: "t13d2014h2_a09f3c656075_14788d8d241b" };
/// Firefox.
pub const FIREFOX: TlsStack =
    TlsStack { name: "firefox", ja3: "579ccef312d18482fc42e2b822ca2430", ja4: "t13d1715h2_5b57614c22b0_3d5424432f57" };
/// okhttp (the shop's Android app).
pub const OKHTTP: TlsStack =
    TlsStack { name: "okhttp", ja3: "f79b6bad2ad0641e1921aef10262856b", ja4: "t13d1613h2_46e7e9700bed_45f260be83e2" };
/// Python's ssl module (requests, sqlmap, Scrapy).
pub const PYTHON: TlsStack =
    TlsStack { name: "python", ja3: "473cd7cb9faa642487833865d516e578", ja4: "t13d191000_9dc949149365_e7c285222651" };
/// curl with OpenSSL.
pub const CURL: TlsStack =
    TlsStack { name: "curl", ja3: "456523fc94726331a4d5a2e1d40b2cd7", ja4: "t13d3112h2_e8f1e7e78f70_6bebaf5329ac" };
/// Go's crypto/tls (Go-http-client, Nuclei).
pub const GO: TlsStack =
    TlsStack { name: "go", ja3: "c65fcec1b7e7b115c8a2e036cf8d8f78", ja4: "t13d1312h2_f57a46bbacb6_b0e9b5f9e3ea" };
/// The new-fingerprint scenario's client: a headless browser kit with its own TLS stack, claiming
/// to be Chrome.
pub const NEW_STACK: TlsStack = TlsStack {
    name: "new-stack",
    ja3: "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    ja4: "t13d1812h2_d5e3f4a7c6b2_5c1d9e0f3a77",
};

/// Every stack, for tests and documentation.
pub const STACKS: [TlsStack; 8] = [CHROMIUM, APPLE, FIREFOX, OKHTTP, PYTHON, CURL, GO, NEW_STACK];

/// The TLS stack behind a user agent of the model.
pub fn stack_of(agent: &str) -> TlsStack {
    if agent.starts_with("okhttp") {
        OKHTTP
    } else if agent.starts_with("python") || agent.starts_with("sqlmap") || agent.starts_with("Scrapy") {
        PYTHON
    } else if agent.starts_with("curl") {
        CURL
    } else if agent.starts_with("Go-") || agent.starts_with("Nuclei") {
        GO
    } else if agent.contains("Firefox/") {
        FIREFOX
    } else if agent.contains("Chrome/") {
        CHROMIUM
    } else {
        APPLE
    }
}

/// Whether Bot Control labels a user agent `bot:category:http_library`.
pub fn is_http_library(agent: &str) -> bool {
    ["python-requests", "curl", "Go-http-client", "okhttp"].iter().any(|p| agent.starts_with(p))
}

/// The scraping framework of the bot-surge scenario.
pub const SCRAPER_AGENT: &str = "Scrapy/2.11.2 (+https://scrapy.org)";

/// Query strings of the SQL injection campaign (URL-encoded, as WAF logs `args`), and the
/// `matchedData` tokens WAF reports for each.
pub const SQLI_ARGS: &[(&str, &str)] = &[
    ("q=1%27%20OR%20%271%27%3D%271", r#"["1'","OR","'1'='1"]"#),
    ("q=shoes%27%20UNION%20SELECT%20username,password%20FROM%20users--", r#"["'","UNION","SELECT"]"#),
    ("q=1%3B%20DROP%20TABLE%20orders--", r#"[";","DROP","TABLE"]"#),
    ("q=1%27%20AND%20SLEEP(5)--", r#"["'","AND","SLEEP"]"#),
];

/// Labels, by what attached them.
pub mod labels {
    /// Core Rule Set: a query string over the size limit (the normal traffic's CRS blocks).
    pub const CRS_SIZE: &str = "awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString";
    /// SQL database: SQL injection in the query arguments.
    pub const SQLI_QUERY: &str = "awswaf:managed:aws:sql-database:SQLi_QueryArguments";
    /// Known Bad Inputs: Log4j in a header.
    pub const BAD_INPUT_LOG4J: &str = "awswaf:managed:aws:known-bad-inputs:Log4JRCE_Header";
    /// Bot Control: an HTTP library.
    pub const BOT_HTTP_LIBRARY: &str = "awswaf:managed:aws:bot-control:bot:category:http_library";
    /// Bot Control: a scraping framework.
    pub const BOT_SCRAPING: &str = "awswaf:managed:aws:bot-control:bot:category:scraping_framework";
    /// Bot Control: the bot's name.
    pub const BOT_NAME_SCRAPY: &str = "awswaf:managed:aws:bot-control:bot:name:scrapy";
    /// ATP: the credentials were seen in a leak.
    pub const ATP_COMPROMISED: &str = "awswaf:managed:aws:atp:signal:credential_compromised";
    /// ATP: many login attempts from this IP.
    pub const ATP_VOLUMETRIC_IP: &str = "awswaf:managed:aws:atp:aggregate:volumetric:ip:high";
    /// A CAPTCHA or Challenge found no token.
    pub const TOKEN_ABSENT: &str = "awswaf:managed:token:absent";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ATTACK_AGENTS, USER_AGENTS};

    #[test]
    fn fingerprints_are_well_formed_and_distinct() {
        let hex = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        for s in STACKS {
            assert!(s.ja3.len() == 32 && hex(s.ja3), "{}", s.name);
            let parts: Vec<&str> = s.ja4.split('_').collect();
            assert_eq!(s.ja4.len(), 36, "{}", s.name);
            assert!(parts.len() == 3 && parts[0].len() == 10 && parts[0].starts_with("t13d"), "{}", s.name);
            assert!(parts[1..].iter().all(|p| p.len() == 12 && hex(p)), "{}", s.name);
        }
        for (i, a) in STACKS.iter().enumerate() {
            assert!(STACKS[i + 1..].iter().all(|b| a.ja3 != b.ja3 && a.ja4 != b.ja4), "{}", a.name);
        }
    }

    #[test]
    fn every_agent_has_its_stack() {
        let stacks: Vec<&str> = USER_AGENTS.iter().map(|a| stack_of(a).name).collect();
        assert_eq!(stacks, ["chromium", "apple", "firefox", "apple", "chromium", "chromium", "okhttp", "apple"]);
        let tools: Vec<&str> = ATTACK_AGENTS.iter().chain([&SCRAPER_AGENT]).map(|a| stack_of(a).name).collect();
        assert_eq!(tools, ["python", "curl", "python", "go", "go", "python"]);
    }
}
