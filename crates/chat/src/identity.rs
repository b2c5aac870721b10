//! Verified identity: who a site says its signed-in visitor is, checked against the widget's
//! identity secret.
//!
//! Two forms. The preferred one is a user token, an HS256 JWT the site's backend makes per page
//! view: `sub` and `exp` are required and `exp` may be at most a day ahead, so a token copied
//! out of a page stops working soon (a static HMAC, which some products use alone, is valid
//! forever once leaked). The other is Intercom's static form, `user_id` plus `user_hash` = hex
//! HMAC-SHA256(secret, user_id), for sites that already compute it; it proves the id only, so
//! a name or email sent beside it stays "claimed".
//!
//! Every failure is the same 401 `identity_invalid` to the caller (the reason is logged), so a
//! probe learns nothing about which check failed.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use parley_store::{VerifiedUser, Widget};
use serde::Deserialize;
use sha2::Sha256;

use crate::text;

/// The furthest ahead a user token's `exp` may be.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 24 * 60 * 60;

/// Clock difference tolerated between the site's server and Parley.
const CLOCK_SKEW_SECS: i64 = 60;

/// Longest accepted token, so a huge header is refused before any work.
const MAX_TOKEN_BYTES: usize = 4096;

/// Longest user id (`sub`).
pub const MAX_USER_ID_CHARS: usize = 255;

/// Why a credential was refused (logged, never told to the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The widget has no identity secret yet.
    #[error("the widget has no identity secret")]
    NoSecret,
    /// Not three base64url parts of JSON, or too long.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names another algorithm than HS256 (including `none`).
    #[error("algorithm {0:?} is not HS256")]
    Algorithm(String),
    /// The signature does not match the widget's secret.
    #[error("bad signature")]
    Signature,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `exp` is further ahead than a day, or `nbf` has not come yet.
    #[error("outside its allowed time window")]
    NotValidNow,
    /// A claim is missing or not acceptable.
    #[error("claim {0}")]
    Claim(&'static str),
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<serde_json::Value>,
    exp: Option<serde_json::Value>,
    nbf: Option<serde_json::Value>,
    name: Option<String>,
    email: Option<String>,
}

/// Checks a user token for `widget` at `now` (Unix seconds).
pub fn verify_token(widget: &Widget, token: &str, now: i64) -> Result<VerifiedUser, IdentityError> {
    let secret = widget
        .identity_secret
        .as_deref()
        .ok_or(IdentityError::NoSecret)?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(IdentityError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::Malformed("not three parts"));
    };
    let header: Header = decode_json(header)?;
    // Fixed, never taken from the token: the classic JWT flaws are trusting `alg`.
    if header.alg != "HS256" {
        return Err(IdentityError::Algorithm(header.alg));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| IdentityError::Malformed("signature is not base64url"))?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| IdentityError::NoSecret)?;
    mac.update(&token.as_bytes()[..header_and_payload_len(token)]);
    mac.verify_slice(&signature)
        .map_err(|_| IdentityError::Signature)?;

    let claims: Claims = decode_json(payload)?;
    let exp = claims
        .exp
        .as_ref()
        .and_then(number)
        .ok_or(IdentityError::Claim("exp is required and must be a number"))?;
    if exp + CLOCK_SKEW_SECS < now {
        return Err(IdentityError::Expired);
    }
    if exp > now + MAX_TOKEN_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(IdentityError::NotValidNow);
    }
    if let Some(nbf) = claims.nbf.as_ref() {
        let nbf = number(nbf).ok_or(IdentityError::Claim("nbf must be a number"))?;
        if nbf > now + CLOCK_SKEW_SECS {
            return Err(IdentityError::NotValidNow);
        }
    }
    // A numeric `sub` (common for database ids) is read as its decimal text.
    let id = match claims.sub {
        Some(serde_json::Value::String(sub)) => sub,
        Some(serde_json::Value::Number(sub)) if sub.is_i64() || sub.is_u64() => sub.to_string(),
        _ => return Err(IdentityError::Claim("sub is required")),
    };
    Ok(VerifiedUser {
        id: check_user_id(&id)?,
        name: signed_text(claims.name, 100, "name")?,
        email: signed_email(claims.email)?,
    })
}

/// Checks Intercom's static form: `user_hash` is hex HMAC-SHA256(secret, `user_id`).
pub fn verify_user_hash(
    widget: &Widget,
    user_id: &str,
    user_hash: &str,
) -> Result<VerifiedUser, IdentityError> {
    let secret = widget
        .identity_secret
        .as_deref()
        .ok_or(IdentityError::NoSecret)?;
    let id = check_user_id(user_id)?;
    if !parley_protocol::signature::verify_hmac_hex(
        secret,
        id.as_bytes(),
        &user_hash.to_ascii_lowercase(),
    ) {
        return Err(IdentityError::Signature);
    }
    Ok(VerifiedUser {
        id,
        name: None,
        email: None,
    })
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, IdentityError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdentityError::Malformed("part is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| IdentityError::Malformed("part is not JSON"))
}

/// A JSON number as whole seconds (fractions, which some libraries write, are cut).
fn number(value: &serde_json::Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

fn check_user_id(id: &str) -> Result<String, IdentityError> {
    let id = id.trim();
    if id.is_empty() || id.chars().count() > MAX_USER_ID_CHARS || text::check("sub", id).is_err() {
        return Err(IdentityError::Claim("sub must be 1-255 characters of text"));
    }
    Ok(id.to_string())
}

fn signed_text(
    value: Option<String>,
    max: usize,
    claim: &'static str,
) -> Result<Option<String>, IdentityError> {
    let Some(value) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if value.chars().count() > max || text::check(claim, &value).is_err() {
        return Err(IdentityError::Claim(
            "name or email is too long or not text",
        ));
    }
    Ok(Some(value))
}

fn signed_email(value: Option<String>) -> Result<Option<String>, IdentityError> {
    let email = signed_text(value, 254, "email")?;
    if email
        .as_deref()
        .is_some_and(|e| !e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err(IdentityError::Claim("email is not an email address"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "cbi_test_secret";

    fn widget(secret: Option<&str>) -> Widget {
        Widget {
            id: 1,
            name: "w".into(),
            token_hash: String::new(),
            allowed_origins: vec![],
            settings: json!({}),
            identity_secret: secret.map(str::to_string),
            created_at: chrono::Utc::now(),
            revoked_at: None,
        }
    }

    /// Signs like any JWT library does, so the tests do not reuse the code they check.
    fn sign(header: serde_json::Value, claims: serde_json::Value, secret: &str) -> String {
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{head}.{body}.{sig}")
    }

    fn hs256(claims: serde_json::Value) -> String {
        sign(json!({"alg": "HS256", "typ": "JWT"}), claims, SECRET)
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_good_token_names_the_user() {
        let token =
            hs256(json!({"sub": "u-42", "exp": NOW + 3600, "name": " Ada ", "email": "a@x.io"}));
        let user = verify_token(&widget(Some(SECRET)), &token, NOW).unwrap();
        assert_eq!(user.id, "u-42");
        assert_eq!(user.name.as_deref(), Some("Ada"));
        assert_eq!(user.email.as_deref(), Some("a@x.io"));
        let numeric = hs256(json!({"sub": 42, "exp": NOW + 60}));
        assert_eq!(
            verify_token(&widget(Some(SECRET)), &numeric, NOW)
                .unwrap()
                .id,
            "42"
        );
    }

    #[test]
    fn refusals() {
        let w = widget(Some(SECRET));
        let check = |token: &str| verify_token(&w, token, NOW).unwrap_err();
        assert_eq!(
            check(&sign(
                json!({"alg": "HS256"}),
                json!({"sub": "u", "exp": NOW + 60}),
                "another secret"
            )),
            IdentityError::Signature
        );
        assert_eq!(
            check(&hs256(json!({"sub": "u", "exp": NOW - 3600}))),
            IdentityError::Expired
        );
        assert_eq!(
            check(&hs256(json!({"sub": "u", "exp": NOW + 2 * 86_400}))),
            IdentityError::NotValidNow
        );
        assert_eq!(
            check(&hs256(
                json!({"sub": "u", "exp": NOW + 60, "nbf": NOW + 600})
            )),
            IdentityError::NotValidNow
        );
        assert!(matches!(
            check(&hs256(json!({"exp": NOW + 60}))),
            IdentityError::Claim(_)
        ));
        assert!(matches!(
            check(&hs256(json!({"sub": "u"}))),
            IdentityError::Claim(_)
        ));
        assert!(matches!(
            check(&hs256(json!({"sub": "", "exp": NOW + 60}))),
            IdentityError::Claim(_)
        ));
        assert!(matches!(
            check(&hs256(
                json!({"sub": "u", "exp": NOW + 60, "email": "nope"})
            )),
            IdentityError::Claim(_)
        ));
        // `alg: none` with an empty signature, and another algorithm, whatever their signature.
        let none = sign(
            json!({"alg": "none"}),
            json!({"sub": "u", "exp": NOW + 60}),
            SECRET,
        );
        let (unsigned, _) = none.rsplit_once('.').unwrap();
        assert!(matches!(
            check(&format!("{unsigned}.")),
            IdentityError::Algorithm(_)
        ));
        assert!(matches!(
            check(&sign(
                json!({"alg": "HS512"}),
                json!({"sub": "u", "exp": NOW + 60}),
                SECRET
            )),
            IdentityError::Algorithm(_)
        ));
        assert!(matches!(check("a.b"), IdentityError::Malformed(_)));
        assert!(matches!(check("a.b.c.d"), IdentityError::Malformed(_)));
        assert!(matches!(
            check(&"x".repeat(5000)),
            IdentityError::Malformed(_)
        ));
        // A payload changed after signing.
        let good = hs256(json!({"sub": "u", "exp": NOW + 60}));
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(json!({"sub": "admin", "exp": NOW + 60}).to_string());
        parts[1] = &forged;
        assert_eq!(check(&parts.join(".")), IdentityError::Signature);
        assert_eq!(
            verify_token(&widget(None), &good, NOW).unwrap_err(),
            IdentityError::NoSecret
        );
    }

    #[test]
    fn the_static_form() {
        let w = widget(Some(SECRET));
        let hash = parley_protocol::signature::hmac_hex(SECRET, b"u-42");
        assert_eq!(verify_user_hash(&w, "u-42", &hash).unwrap().id, "u-42");
        assert_eq!(
            verify_user_hash(&w, "u-42", &hash.to_uppercase())
                .unwrap()
                .id,
            "u-42"
        );
        assert_eq!(
            verify_user_hash(&w, "u-43", &hash).unwrap_err(),
            IdentityError::Signature
        );
        assert_eq!(
            verify_user_hash(&widget(None), "u-42", &hash).unwrap_err(),
            IdentityError::NoSecret
        );
    }
}
