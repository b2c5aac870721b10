//! Origin allowlists, as the WebSocket handshake and the chat API both check them: an exact
//! `scheme://host[:port]` match, case-insensitive, no wildcards but a lone `*`, so
//! `https://example.com.evil.test` is not `https://example.com`.

/// Whether `origin` is in `allowed` (an empty list allows any).
pub fn origin_matches(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    allowed.is_empty()
        || allowed
            .iter()
            .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_only() {
        let allowed = vec!["https://example.com".to_string()];
        assert!(origin_matches(&allowed, "https://example.com"));
        assert!(origin_matches(&allowed, "https://EXAMPLE.com/"));
        assert!(!origin_matches(&allowed, "https://example.com.evil.test"));
        assert!(!origin_matches(&allowed, "http://example.com"));
        assert!(!origin_matches(&allowed, "https://example.com:8443"));
        assert!(origin_matches(&[], "https://anything.test"));
        assert!(origin_matches(&["*".to_string()], "https://anything.test"));
    }
}
