//! Firehose events of realistic records for the benchmark and the event example: ~650-byte flat
//! WAF-style records, varied by their index, base64-encoded as Firehose sends them.
#![allow(dead_code)] // each user takes what it needs

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use wafwatch_transformer::firehose::{FirehoseEvent, FirehoseRecord};

/// A ~650-byte flat WAF-style record, varied by `i`.
pub fn flat_record(i: usize) -> String {
    let actions = ["ALLOW", "ALLOW", "ALLOW", "BLOCK", "ALLOW", "CAPTCHA"];
    let countries = ["US", "IN", "UK", "US", "DE", "BR", "US"];
    let statuses = [200, 200, 304, 404, 200, 500, 401, 200];
    let methods = ["GET", "GET", "POST", "GET", "HEAD", "DELETE"];
    let sources = ["ALB", "CF", "APIGW", "ALB"];
    format!(
        concat!(
            r#"{{"timestamp":{},"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/shop-acl/4f7c2a1e-9b3d-4c55-8e21-0a6d2b9f7e10","#,
            r#""terminatingRuleId":"Default_Action","terminatingRuleType":"REGULAR","action":"{}","httpSourceName":"{}","#,
            r#""httpSourceId":"111122223333-app/shop-alb/7d3f9a2b6c1e4d08","httpStatus":{},"country":"{}","httpMethod":"{}","#,
            r#""clientIp":"198.51.{}.{}","uri":"/api/products/{}","args":"page={}&sort=price","httpVersion":"HTTP/1.1","#,
            r#""requestId":"1-67f2c9ab-3c5e8d7a1b2f4e6d{:08x}","headers":[{{"name":"Host","value":"shop.example.com"}},"#,
            r#"{{"name":"User-Agent","value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}},"#,
            r#"{{"name":"Accept","value":"application/json"}}]}}"#
        ),
        1_795_262_283_412u64 + i as u64 * 7,
        actions[i % actions.len()],
        sources[i % sources.len()],
        statuses[i % statuses.len()],
        countries[i % countries.len()],
        methods[i % methods.len()],
        i % 250,
        i % 200,
        i % 5000,
        i % 40,
        i
    )
}

pub fn event_of(records: impl Iterator<Item = String>, max_bytes: usize) -> (FirehoseEvent, usize) {
    let mut event = FirehoseEvent {
        delivery_stream_arn: Some("arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-shop".into()),
        ..FirehoseEvent::default()
    };
    let mut size = 0;
    for (i, r) in records.enumerate() {
        let data = STANDARD.encode(r.as_bytes());
        size += data.len() + 110;
        event.records.push(FirehoseRecord {
            record_id: Some(format!("49656781234567890123456789012345678901234567890123456789{i:06}")),
            approximate_arrival_timestamp: Some(1_795_262_290_000),
            data: Some(data),
        });
        if size >= max_bytes {
            break;
        }
    }
    let bytes = serde_json::to_vec(&event).map(|v| v.len()).unwrap_or(size);
    (event, bytes)
}
