//! What a widget may be configured with, checked the same way for the admin pages and the CLI:
//! its name, the origins allowed to embed it, its settings (the bot part parsed now, not at the
//! first visitor message; the retention in days; the business hours), and the snippet a site
//! owner pastes.

use parley_bot::BotSettings;
use serde_json::Value;

use crate::{error::ApiError, text};

/// Longest widget name.
const MAX_NAME_CHARS: usize = 100;
/// Most allowed origins per widget.
const MAX_ORIGINS: usize = 50;

/// A widget's name, trimmed: 1-100 characters of text.
pub fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::Validation(format!(
            "name must be 1-{MAX_NAME_CHARS} characters"
        )));
    }
    text::check("name", name)?;
    Ok(name.to_string())
}

/// Allowed origins as stored: each `http(s)://host[:port]` with no path, query or fragment, no
/// trailing slash; `*.` may start the host to allow its subdomains. Empty allows any origin.
pub fn check_origins(origins: &[String]) -> Result<Vec<String>, ApiError> {
    if origins.len() > MAX_ORIGINS {
        return Err(ApiError::Validation(format!(
            "at most {MAX_ORIGINS} allowed origins"
        )));
    }
    origins
        .iter()
        .map(|origin| {
            let origin = origin.trim().trim_end_matches('/');
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = host.is_some_and(|host| {
                !host.is_empty()
                    && !host.contains(['/', '?', '#', '@'])
                    && !host.chars().any(|c| c.is_whitespace() || text::refused(c))
            });
            if valid {
                Ok(origin.to_string())
            } else {
                Err(ApiError::Validation(format!(
                    "allowed origin {origin:?} must look like https://example.com[:port]"
                )))
            }
        })
        .collect()
}

/// Checks a widget's settings: a JSON object whose `bot` part (if any) is a valid bot.
pub fn check_settings(settings: &Value) -> Result<(), ApiError> {
    if !settings.is_object() {
        return Err(ApiError::Validation(
            "settings must be a JSON object".into(),
        ));
    }
    let bot = BotSettings::from_widget_settings(settings)
        .map_err(|error| ApiError::Validation(error.to_string()))?;
    // Caught here rather than when the first visitor's turn builds the bot.
    if !(0.0..=1.0).contains(&bot.threshold) {
        return Err(ApiError::Validation(
            "settings.bot.threshold must be between 0 and 1".into(),
        ));
    }
    crate::privacy::retention_days(settings)?;
    crate::hours::Hours::from_settings(settings).map_err(ApiError::Validation)?;
    crate::prechat::PreChatForm::from_settings(settings)?;
    if settings
        .get("identity_required")
        .is_some_and(|v| !v.is_boolean())
    {
        return Err(ApiError::Validation(
            "settings.identity_required must be true or false".into(),
        ));
    }
    Ok(())
}

/// The HTML a site owner pastes into their pages, with the widget's token and Parley's address.
pub fn snippet(base_url: &str, token: &str) -> String {
    let base = base_url.trim_end_matches('/');
    format!(
        "<script>\n  window.ChatbotConfig = {{ apiToken: '{token}', widgetUrl: '{base}' }};\n</script>\n\
         <script src=\"{base}/chatbot-widget.js\" async></script>"
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn origins_are_normalised_or_refused() {
        assert_eq!(
            check_origins(&[
                "https://shop.example/".into(),
                "http://*.shop.example:8080".into()
            ])
            .unwrap(),
            ["https://shop.example", "http://*.shop.example:8080"]
        );
        for bad in [
            "shop.example",
            "https://",
            "https://shop.example/path",
            "https://shop.example?x",
            "ftp://shop.example",
            "https://a b",
            "https://user@shop.example",
        ] {
            assert!(check_origins(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_need_a_valid_bot() {
        assert!(check_settings(&json!({"greeting": "Hi"})).is_ok());
        assert!(check_settings(&json!({"bot": {"kind": "knowledge", "threshold": 0.4}})).is_ok());
        assert!(check_settings(&json!({"bot": {"kind": "knowledge", "treshold": 0.4}})).is_err());
        assert!(check_settings(&json!([1])).is_err());
        assert!(check_settings(&json!({"bot": {"threshold": 1.5}})).is_err());
        assert!(check_settings(&json!({"retention_days": 30})).is_ok());
        assert!(check_settings(&json!({"retention_days": 0})).is_err());
        let hours =
            json!({"hours": {"time_zone": "Europe/Paris", "weekly": {"mon": ["09:00-17:00"]}}});
        assert!(check_settings(&hours).is_ok());
        let bad = json!({"hours": {"time_zone": "Paris", "weekly": {}}});
        assert!(check_settings(&bad).is_err());
    }

    #[test]
    fn names_are_trimmed_text() {
        assert_eq!(check_name("  Shop ").unwrap(), "Shop");
        assert!(check_name("  ").is_err());
        assert!(check_name("a\u{0}b").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn the_snippet_names_the_token_and_the_script() {
        let html = snippet("https://chat.example/", "cbw_abc");
        assert!(html.contains("apiToken: 'cbw_abc'"));
        assert!(html.contains("widgetUrl: 'https://chat.example'"));
        assert!(html.contains("src=\"https://chat.example/chatbot-widget.js\""));
    }
}
