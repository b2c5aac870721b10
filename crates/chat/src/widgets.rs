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
    check_display_name(settings)?;
    crate::hours::Hours::from_settings(settings).map_err(ApiError::Validation)?;
    crate::prechat::PreChatForm::from_settings(settings)?;
    crate::assignment::AssignmentSettings::from_settings(settings)?;
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

/// `settings.display_name`, when present: 1-100 characters of text.
fn check_display_name(settings: &Value) -> Result<(), ApiError> {
    let Some(value) = settings.get("display_name") else {
        return Ok(());
    };
    let valid = value.as_str().map(str::trim).is_some_and(|name| {
        !name.is_empty()
            && name.chars().count() <= MAX_NAME_CHARS
            && !name.chars().any(char::is_control)
    });
    if valid {
        Ok(())
    } else {
        Err(ApiError::Validation(format!(
            "settings.display_name must be 1-{MAX_NAME_CHARS} characters of text"
        )))
    }
}

/// What visitors call the widget (its title, the sender of its greeting, its emails): the
/// widget's `settings.display_name`, else the site's name (`PARLEY_APP_NAME`), else none (the
/// widget then says "Chat"). The widget's own name is the team's, never shown to visitors.
pub fn display_name(settings: &Value, app_name: Option<&str>) -> Option<String> {
    settings
        .get("display_name")
        .and_then(Value::as_str)
        .or(app_name)
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
}

/// WCAG AA's contrast for normal text.
const AA_CONTRAST: f64 = 4.5;

/// `#rgb` or `#rrggbb` as [r, g, b]; other CSS forms are not judged here (the widget reads them).
fn hex_rgb(colour: &str) -> Option<[f64; 3]> {
    let hex = colour.trim().strip_prefix('#')?;
    let full: String = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex.to_string(),
        _ => return None,
    };
    let channel = |i: usize| u8::from_str_radix(full.get(i..i + 2)?, 16).ok();
    Some([
        f64::from(channel(0)?),
        f64::from(channel(2)?),
        f64::from(channel(4)?),
    ])
}

/// WCAG 2's contrast ratio of two hex colours (1 to 21).
pub fn contrast(a: &str, b: &str) -> Option<f64> {
    let luminance = |[r, g, b]: [f64; 3]| {
        let channel = |c: f64| {
            let s = c / 255.0;
            if s <= 0.03928 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    };
    let (x, y) = (luminance(hex_rgb(a)?), luminance(hex_rgb(b)?));
    let (hi, lo) = if x > y { (x, y) } else { (y, x) };
    Some((hi + 0.05) / (lo + 0.05))
}

/// Colour pairs in a widget's settings whose text would be hard to read (below WCAG AA): the
/// text on the brand colour, when the site chose it (otherwise the widget picks black or white),
/// and the text on the background. Saved all the same; the admin page and the command line say so.
pub fn colour_warnings(settings: &Value) -> Vec<String> {
    let colors = settings.get("colors");
    let colour = |key: &str| colors.and_then(|c| c.get(key)).and_then(Value::as_str);
    let primary = colour("primary")
        .or_else(|| settings.get("color").and_then(Value::as_str))
        .or_else(|| settings.get("primary_color").and_then(Value::as_str));
    let mut warnings = Vec::new();
    let mut judge = |text: Option<&str>, on: Option<&str>, what: &str| {
        if let (Some(text), Some(on)) = (text, on) {
            if let Some(ratio) = contrast(text, on).filter(|r| *r < AA_CONTRAST) {
                warnings.push(format!(
                    "{what}: {text} on {on} has a contrast of {ratio:.1}:1, below WCAG AA (4.5:1); \
                     some visitors will not be able to read it"
                ));
            }
        }
    };
    judge(colour("text_on_primary"), primary, "colors.text_on_primary");
    judge(colour("text"), colour("background"), "colors.text");
    warnings
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
    fn the_display_name_is_the_settings_else_the_sites() {
        assert!(check_settings(&json!({"display_name": "Acme Shop"})).is_ok());
        assert!(check_settings(&json!({"display_name": "  "})).is_err());
        assert!(check_settings(&json!({"display_name": 7})).is_err());
        assert!(check_settings(&json!({"display_name": "x".repeat(101)})).is_err());
        let own = json!({"display_name": " Acme Shop "});
        assert_eq!(
            display_name(&own, Some("Site")).as_deref(),
            Some("Acme Shop")
        );
        assert_eq!(
            display_name(&json!({}), Some("Site")).as_deref(),
            Some("Site")
        );
        assert_eq!(display_name(&json!({}), None), None);
    }

    #[test]
    fn colour_pairs_below_aa_are_named() {
        assert!((contrast("#000", "#ffffff").unwrap() - 21.0).abs() < 0.01);
        assert!((contrast("#ffeb3b", "#fff").unwrap() - 1.2).abs() < 0.1);
        assert_eq!(
            contrast("red", "#fff"),
            None,
            "names are left to the widget"
        );
        let yellow = json!({"colors": {"primary": "#ffeb3b", "text_on_primary": "#ffffff"}});
        let warnings = colour_warnings(&yellow);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("below WCAG AA"), "{warnings:?}");
        // Without a chosen text colour the widget picks black or white: nothing to warn.
        assert!(colour_warnings(&json!({"colors": {"primary": "#ffeb3b"}})).is_empty());
        assert!(colour_warnings(
            &json!({"colors": {"primary": "#1d4ed8", "text_on_primary": "#fff"}})
        )
        .is_empty());
        assert_eq!(
            colour_warnings(&json!({"colors": {"text": "#777", "background": "#888"}})).len(),
            1
        );
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
