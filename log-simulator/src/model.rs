//! The traffic model: who sends what, how often. All numbers are documented here and nowhere else.

/// Countries of the normal client population, with weights. US, UK and IN are the default
/// configuration's known set; the few others are the steady background of `UNK_country`.
pub const COUNTRIES: &[(&str, u32)] = &[("US", 55), ("IN", 20), ("UK", 18), ("DE", 3), ("CA", 2), ("FR", 2)];

/// Countries of the geo-anomaly scenario: outside the known set and the normal background.
pub const ANOMALOUS_COUNTRIES: &[&str] = &["CN", "RU", "KP", "IR", "NG", "VN", "BY"];

/// User agents; each client keeps one.
pub const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "okhttp/4.12.0",
    "shop-ios/5.2.1 CFNetwork/1496.0.7 Darwin/23.5.0",
];

/// Attack tools' user agents.
pub const ATTACK_AGENTS: &[&str] = &[
    "python-requests/2.32.3",
    "curl/8.5.0",
    "sqlmap/1.8.4#stable (https://sqlmap.org)",
    "Go-http-client/1.1",
    "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
];

/// A request path of the site, how often it is asked for, and how.
pub struct Page {
    /// The path.
    pub path: &'static str,
    /// Relative weight among [`PAGES`].
    pub weight: u32,
    /// An example query string (may be empty).
    pub args: &'static str,
    /// Whether POST makes sense on it (45% of its requests then are).
    pub post: bool,
}

/// Request paths with weights, methods that make sense on them, and example query strings.
pub const PAGES: &[Page] = &[
    Page { path: "/", weight: 120, args: "", post: false },
    Page { path: "/index.html", weight: 30, args: "", post: false },
    Page { path: "/static/app.js", weight: 80, args: "v=4f2a", post: false },
    Page { path: "/static/app.css", weight: 60, args: "v=4f2a", post: false },
    Page { path: "/images/logo.png", weight: 50, args: "", post: false },
    Page { path: "/api/products", weight: 110, args: "category=shoes&page=2", post: false },
    Page { path: "/api/products/1042", weight: 90, args: "", post: false },
    Page { path: "/api/products/2210/reviews", weight: 25, args: "sort=recent", post: true },
    Page { path: "/api/search", weight: 60, args: "q=running+shoes", post: false },
    Page { path: "/api/cart", weight: 45, args: "", post: true },
    Page { path: "/api/cart/items", weight: 30, args: "", post: true },
    Page { path: "/api/checkout", weight: 12, args: "", post: true },
    Page { path: "/api/orders", weight: 15, args: "status=open", post: false },
    Page { path: "/api/user/profile", weight: 20, args: "", post: true },
    Page { path: "/login", weight: 18, args: "", post: true },
    Page { path: "/logout", weight: 6, args: "", post: true },
    Page { path: "/health", weight: 10, args: "", post: false },
];

/// Paths a vulnerability scanner asks for.
pub const SCANNER_PATHS: &[&str] = &[
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/wp-admin/",
    "/phpmyadmin/",
    "/admin",
    "/admin/login",
    "/config.php",
    "/backup.zip",
    "/server-status",
    "/.aws/credentials",
    "/cgi-bin/test.cgi",
    "/actuator/env",
    "/debug/pprof",
    "/api/v1/../../etc/passwd",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/console",
    "/.DS_Store",
];

/// API paths for the delete burst.
pub const DELETE_PATHS: &[&str] =
    &["/api/cart/items/17", "/api/user/profile", "/api/orders/5512", "/api/products/1042/reviews/8", "/api/cart"];

/// `httpSourceName` values and weights; all in the default configuration's known set.
pub const SOURCES: &[(&str, u32)] = &[("ALB", 60), ("CF", 30), ("APIGW", 8), ("APPSYNC", 2)];

/// Terminating rules for blocked requests, with their rule types.
pub const BLOCK_RULES: &[(&str, &str)] = &[
    ("AWS-AWSManagedRulesCommonRuleSet", "MANAGED_RULE_GROUP"),
    ("AWS-AWSManagedRulesSQLiRuleSet", "MANAGED_RULE_GROUP"),
    ("AWS-AWSManagedRulesKnownBadInputsRuleSet", "MANAGED_RULE_GROUP"),
    ("ip-reputation-block", "REGULAR"),
    ("login-rate-limit", "RATE_BASED"),
];

/// Share of the normal population's requests by WAF action (per mille): ALLOW 985, BLOCK 10,
/// CAPTCHA 3, Challenge 2. This is BLOCK's.
pub const BLOCK_PER_MILLE: u32 = 10;
/// CAPTCHA's share, per mille (see [`BLOCK_PER_MILLE`]).
pub const CAPTCHA_PER_MILLE: u32 = 3;
/// Challenge's share, per mille (see [`BLOCK_PER_MILLE`]).
pub const CHALLENGE_PER_MILLE: u32 = 2;

/// Share of requests answered 404 (unknown product ids and the like), per mille.
pub const NOT_FOUND_PER_MILLE: u32 = 12;
/// Share of logins refused with 401, per mille of login requests.
pub const LOGIN_FAIL_PER_MILLE: u32 = 60;
/// Share of requests answered 5xx in normal operation, per mille.
pub const SERVER_ERROR_PER_MILLE: u32 = 2;

/// Number of distinct normal clients.
pub const CLIENTS: usize = 5_000;

/// Diurnal shape: relative load at a UTC time of day, peaking at 15:00 and lowest at 03:00 (3:1).
pub fn diurnal(ms_of_day: i64) -> f64 {
    let hours = ms_of_day as f64 / 3_600_000.0;
    1.0 + 0.5 * ((hours - 9.0) / 24.0 * std::f64::consts::TAU).sin()
}
