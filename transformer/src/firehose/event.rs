//! The Firehose data-transformation event, read by our own type: each record's `data` stays base64
//! text until that record is processed, so one record with bad base64 fails alone instead of failing
//! the whole invocation (as a type that decodes base64 during deserialisation would).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A Firehose data-transformation event.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    /// The invocation id.
    #[serde(default)]
    pub invocation_id: Option<String>,
    /// `arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME`; re-ingest goes to NAME.
    #[serde(default)]
    pub delivery_stream_arn: Option<String>,
    /// Present when the stream reads from a Kinesis data stream.
    #[serde(default)]
    pub source_kinesis_stream_arn: Option<String>,
    /// The region.
    #[serde(default)]
    pub region: Option<String>,
    /// The records.
    pub records: Vec<FirehoseRecord>,
}

/// One record of a [`FirehoseEvent`].
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    /// Echoed back byte for byte.
    #[serde(default)]
    pub record_id: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "lenient_millis")]
    pub approximate_arrival_timestamp: Option<i64>,
    /// Base64 of the producer's bytes, kept as text until the record is processed.
    #[serde(default)]
    pub data: Option<String>,
}

/// Accepts epoch milliseconds as a number, a fractional number, or a numeric string.
fn lenient_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("epoch milliseconds")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(i64::try_from(v).ok())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(v.is_finite().then_some(v as i64))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f as i64))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}
