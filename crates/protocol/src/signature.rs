//! Every HMAC in the protocol: channel auth, user sign-in, the HTTP API's request signature,
//! webhook signatures, and the shared secret of encrypted channels.
//!
//! Verification always goes through [`Hmac::verify_slice`], which compares in constant time: a
//! `==` on hex strings would leak, byte by byte, how much of a forged signature was right.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far an HTTP API request's `auth_timestamp` may be from now, either way (Pusher's rule).
pub const API_TIMESTAMP_WINDOW_SECS: u64 = 600;

fn mac(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length")
}

/// `hex(HMAC_SHA256(secret, message))`.
pub fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `signature_hex` against `HMAC_SHA256(secret, message)` in constant time.
pub fn verify_hmac_hex(secret: &str, message: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(message);
    mac.verify_slice(&signature).is_ok()
}

/// Compares two secrets (a bearer token with the configured one) in a time that depends only on
/// their lengths, not on how many leading bytes match.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // `subtle` keeps the comparison free of data-dependent branches, which a hand-written fold
    // leaves to the optimiser.
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

fn channel_message(socket_id: &str, channel: &str, channel_data: Option<&str>) -> String {
    match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    }
}

/// The `auth` value a client sends to subscribe to a private or presence channel:
/// `key:hex(HMAC_SHA256(secret, "socket_id:channel[:channel_data]"))`.
pub fn channel_auth(
    key: &str,
    secret: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    let message = channel_message(socket_id, channel, channel_data);
    format!("{key}:{}", hmac_hex(secret, message.as_bytes()))
}

/// Verifies a channel `auth` value. A wrong key, a missing signature or a wrong one all fail.
pub fn verify_channel_auth(
    key: &str,
    secret: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
    auth: &str,
) -> bool {
    let Some((auth_key, signature)) = auth.split_once(':') else {
        return false;
    };
    let message = channel_message(socket_id, channel, channel_data);
    auth_key == key && verify_hmac_hex(secret, message.as_bytes(), signature)
}

/// The `auth` value for `pusher:signin`: over `"socket_id::user::user_data"`.
pub fn user_auth(key: &str, secret: &str, socket_id: &str, user_data: &str) -> String {
    let message = format!("{socket_id}::user::{user_data}");
    format!("{key}:{}", hmac_hex(secret, message.as_bytes()))
}

/// Verifies a `pusher:signin` auth value.
pub fn verify_user_auth(
    key: &str,
    secret: &str,
    socket_id: &str,
    user_data: &str,
    auth: &str,
) -> bool {
    let Some((auth_key, signature)) = auth.split_once(':') else {
        return false;
    };
    let message = format!("{socket_id}::user::{user_data}");
    auth_key == key && verify_hmac_hex(secret, message.as_bytes(), signature)
}

/// The per-channel key for `private-encrypted-` channels, returned by the auth endpoint as
/// `shared_secret`: `base64(SHA256(channel_name ‖ encryption_master_key))`.
pub fn encrypted_channel_shared_secret(channel: &str, master_key: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(channel.as_bytes());
    hasher.update(master_key);
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

/// `hex(md5(body))`, the HTTP API's `body_md5` parameter.
pub fn body_md5(body: &[u8]) -> String {
    hex::encode(Md5::digest(body))
}

/// The HTTP API's string to sign: `METHOD\nPATH\nk1=v1&k2=v2…` with the parameters sorted by key
/// and `auth_signature` left out. Values are the decoded ones, not URL-encoded.
pub fn api_string_to_sign(method: &str, path: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "auth_signature")
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        query.join("&")
    )
}

/// Why an HTTP API request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiAuthError {
    /// A required parameter (`auth_key`, `auth_timestamp`, `auth_signature`, …) is absent.
    #[error("missing {0} parameter")]
    Missing(&'static str),
    /// `auth_key` is not this app's key.
    #[error("auth_key does not match the app")]
    WrongKey,
    /// Only `auth_version=1.0` exists.
    #[error("unsupported auth_version")]
    BadVersion,
    /// `auth_timestamp` is not a number or is more than 600 s away from now.
    #[error("auth_timestamp is more than 600 seconds from the server's time")]
    StaleTimestamp,
    /// `body_md5` does not match the body.
    #[error("body_md5 does not match the request body")]
    BodyMd5Mismatch,
    /// The signature is wrong.
    #[error("invalid signature")]
    BadSignature,
}

/// An HTTP API request as the verifier needs it.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`…
    pub method: &'a str,
    /// The candidate paths the client may have signed: the path as received and, behind a
    /// configured prefix, the path without it (the PHP SDK signs without the prefix).
    pub paths: &'a [&'a str],
    /// Decoded query parameters, `auth_signature` included.
    pub params: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
}

/// Verifies an HTTP API request for an app with `key` and `secret` at time `now_secs`.
///
/// The signature covers whatever parameters were sent (so the Python SDK's `body_md5` on a GET
/// is fine, as long as it is the md5 of what was sent); a non-empty body needs `body_md5`.
pub fn verify_api_request(
    key: &str,
    secret: &str,
    request: &ApiRequest<'_>,
    now_secs: u64,
) -> Result<(), ApiAuthError> {
    let param = |name: &str| {
        request
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let auth_key = param("auth_key").ok_or(ApiAuthError::Missing("auth_key"))?;
    let timestamp = param("auth_timestamp").ok_or(ApiAuthError::Missing("auth_timestamp"))?;
    let signature = param("auth_signature").ok_or(ApiAuthError::Missing("auth_signature"))?;
    if auth_key != key {
        return Err(ApiAuthError::WrongKey);
    }
    if param("auth_version").is_some_and(|v| v != "1.0") {
        return Err(ApiAuthError::BadVersion);
    }
    let timestamp: u64 = timestamp
        .parse()
        .map_err(|_| ApiAuthError::StaleTimestamp)?;
    if timestamp.abs_diff(now_secs) > API_TIMESTAMP_WINDOW_SECS {
        return Err(ApiAuthError::StaleTimestamp);
    }
    match param("body_md5") {
        Some(md5) if !md5.eq_ignore_ascii_case(&body_md5(request.body)) => {
            return Err(ApiAuthError::BodyMd5Mismatch)
        }
        None if !request.body.is_empty() => return Err(ApiAuthError::Missing("body_md5")),
        _ => {}
    }
    let signed = request.paths.iter().any(|path| {
        let message = api_string_to_sign(request.method, path, request.params);
        verify_hmac_hex(secret, message.as_bytes(), signature)
    });
    if signed {
        Ok(())
    } else {
        Err(ApiAuthError::BadSignature)
    }
}

/// Signs an HTTP API request the way the SDKs do, returning the full parameter list (the given
/// ones plus `auth_key`, `auth_timestamp`, `auth_version`, `body_md5` when there is a body, and
/// `auth_signature`). Used by Parley's own publisher and by tests.
pub fn sign_api_request(
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    extra_params: &[(String, String)],
    body: &[u8],
    now_secs: u64,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = extra_params.to_vec();
    params.push(("auth_key".into(), key.into()));
    params.push(("auth_timestamp".into(), now_secs.to_string()));
    params.push(("auth_version".into(), "1.0".into()));
    if !body.is_empty() {
        params.push(("body_md5".into(), body_md5(body)));
    }
    let signature = hmac_hex(secret, api_string_to_sign(method, path, &params).as_bytes());
    params.push(("auth_signature".into(), signature));
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from Pusher's "Authorizing users" and "HTTP API reference" documentation.
    const KEY: &str = "278d425bdf160c739803";
    const SECRET: &str = "7ad3773142a6692b25b8";

    #[test]
    fn private_channel_vector() {
        let auth = channel_auth(KEY, SECRET, "1234.1234", "private-foobar", None);
        assert_eq!(
            auth,
            "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        );
        assert!(verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            &auth
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1235",
            "private-foobar",
            None,
            &auth
        ));
        assert!(!verify_channel_auth(
            "other",
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            &auth
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            ""
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            KEY
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            "k:zz"
        ));
    }

    #[test]
    fn presence_channel_vector() {
        let data = r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#;
        let auth = channel_auth(KEY, SECRET, "1234.1234", "presence-foobar", Some(data));
        assert_eq!(
            auth,
            "278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"
        );
        // The channel data is inside the signature: changing the user is a forgery.
        let forged = data.replace("10", "11");
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "presence-foobar",
            Some(&forged),
            &auth
        ));
    }

    #[test]
    fn http_api_vector() {
        let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
        assert_eq!(body_md5(body), "ec365a775a4cd0599faeb73354201b6f");
        let params = sign_api_request(KEY, SECRET, "POST", "/apps/3/events", &[], body, 1353088179);
        let signature = &params
            .iter()
            .find(|(k, _)| k == "auth_signature")
            .unwrap()
            .1;
        assert_eq!(
            signature,
            "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
        );
        let request = ApiRequest {
            method: "POST",
            paths: &["/apps/3/events"],
            params: &params,
            body,
        };
        assert_eq!(
            verify_api_request(KEY, SECRET, &request, 1353088179 + 599),
            Ok(())
        );
        assert_eq!(
            verify_api_request(KEY, SECRET, &request, 1353088179 + 601),
            Err(ApiAuthError::StaleTimestamp)
        );
        let tampered = ApiRequest {
            body: b"{}",
            ..request
        };
        assert_eq!(
            verify_api_request(KEY, SECRET, &tampered, 1353088179),
            Err(ApiAuthError::BodyMd5Mismatch)
        );
        let other_path = ApiRequest {
            paths: &["/apps/4/events"],
            ..request
        };
        assert_eq!(
            verify_api_request(KEY, SECRET, &other_path, 1353088179),
            Err(ApiAuthError::BadSignature)
        );
        assert_eq!(
            verify_api_request("k2", SECRET, &request, 1353088179),
            Err(ApiAuthError::WrongKey)
        );
    }

    #[test]
    fn get_with_body_md5_of_empty_body_is_accepted() {
        // The Python SDK signs body_md5 on GET requests too.
        let extra = [
            ("body_md5".to_string(), body_md5(b"")),
            ("info".to_string(), "user_count".to_string()),
        ];
        let params = sign_api_request(KEY, SECRET, "GET", "/apps/3/channels", &extra, b"", 1000);
        let request = ApiRequest {
            method: "GET",
            paths: &["/apps/3/channels"],
            params: &params,
            body: b"",
        };
        assert_eq!(verify_api_request(KEY, SECRET, &request, 1000), Ok(()));
    }

    #[test]
    fn signin_and_shared_secret() {
        let data = r#"{"id":"7"}"#;
        let auth = user_auth(KEY, SECRET, "1.2", data);
        assert!(verify_user_auth(KEY, SECRET, "1.2", data, &auth));
        assert!(!verify_user_auth(KEY, SECRET, "1.3", data, &auth));
        let a = encrypted_channel_shared_secret("private-encrypted-a", &[7; 32]);
        let b = encrypted_channel_shared_secret("private-encrypted-b", &[7; 32]);
        assert_ne!(a, b);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&a)
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn constant_time_eq_needs_equal_bytes_and_lengths() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokeN"));
        assert!(!constant_time_eq(b"token", b"token2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
