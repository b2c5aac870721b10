//! Webhook signatures: HMAC-SHA256 over `"{timestamp}.{body}"`, hex-encoded.
//!
//! The timestamp is inside the signed text so a captured request cannot be replayed later with a
//! fresh timestamp, and [`verify_webhook`] rejects timestamps more than five minutes from now so
//! it cannot be replayed as it is either. The same scheme as Stripe's and Slack's, so receivers
//! can reuse what they know.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the Unix timestamp (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Parley-Timestamp";
/// Header carrying `sha256=<hex signature>`.
pub const SIGNATURE_HEADER: &str = "X-Parley-Signature";
/// How far (seconds) a timestamp may be from the receiver's clock.
pub const SIGNATURE_TOLERANCE_SECS: u64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret` (send it as
/// `X-Parley-Signature: sha256=<this>`).
pub fn sign_webhook(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Whether `signature` (hex, with or without the `sha256=` prefix) signs `body` at `timestamp`
/// under `secret`, and `timestamp` is within 300 s of `now`. The comparison is constant-time.
pub fn verify_webhook(
    secret: &str,
    timestamp: i64,
    body: &[u8],
    signature: &str,
    now: i64,
) -> bool {
    if now.abs_diff(timestamp) > SIGNATURE_TOLERANCE_SECS {
        return false;
    }
    let hex_part = signature.trim();
    let hex_part = hex_part.strip_prefix("sha256=").unwrap_or(hex_part);
    let Ok(expected) = hex::decode(hex_part) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let sig = sign_webhook("s3cret", 1_700_000_000, b"{\"a\":1}");
        assert_eq!(sig.len(), 64);
        assert!(verify_webhook(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_100
        ));
        let prefixed = format!("sha256={sig}");
        assert!(verify_webhook(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            &prefixed,
            1_700_000_000
        ));
        // Wrong secret, body, timestamp, stale clock, garbage.
        assert!(!verify_webhook(
            "other",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_000
        ));
        assert!(!verify_webhook(
            "s3cret",
            1_700_000_000,
            b"{\"a\":2}",
            &sig,
            1_700_000_000
        ));
        assert!(!verify_webhook(
            "s3cret",
            1_700_000_001,
            b"{\"a\":1}",
            &sig,
            1_700_000_001
        ));
        assert!(!verify_webhook(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_301
        ));
        assert!(!verify_webhook(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_699_999_699
        ));
        assert!(!verify_webhook(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            "zz",
            1_700_000_000
        ));
        assert!(!verify_webhook(
            "s3cret",
            1_700_000_000,
            b"{\"a\":1}",
            "",
            1_700_000_000
        ));
    }

    #[test]
    fn known_vector() {
        // Independent: printf '1.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign_webhook("key", 1, b"{}"),
            "1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }
}
