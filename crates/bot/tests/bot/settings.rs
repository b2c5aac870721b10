//! `settings.bot`: defaults, per-kind requirements, and loud errors for mistakes.

use std::path::Path;

use parley_bot::{build, BotError, BotKind, BotSettings};
use serde_json::json;

#[test]
fn a_missing_bot_object_is_the_default_knowledge_bot() {
    let settings = BotSettings::from_widget_settings(&json!({"name": "Shop"})).expect("default");
    assert_eq!(settings, BotSettings::default());
    assert_eq!(settings.kind, BotKind::Knowledge);
    let null = BotSettings::from_widget_settings(&json!({"bot": null})).expect("default");
    assert_eq!(null.kind, BotKind::Knowledge);
}

#[test]
fn fields_per_kind_with_defaults() {
    let llm = BotSettings::from_widget_settings(&json!({"bot": {
        "kind": "llm", "base_url": "http://127.0.0.1:11434/v1", "model": "llama3.2",
        "timeout_secs": 2.5,
    }}))
    .expect("llm settings");
    assert_eq!(llm.kind, BotKind::Llm);
    assert_eq!(llm.max_turns, 20);
    assert_eq!(llm.timeout_secs, Some(2.5));
    assert!(build(&llm, Path::new("/nonexistent"), 1).is_ok());
}

#[test]
fn mistakes_are_errors_not_defaults() {
    let typo = BotSettings::from_widget_settings(&json!({"bot": {"treshold": 0.2}}));
    assert!(matches!(typo, Err(BotError::Config(m)) if m.contains("treshold")));
    let kind = BotSettings::from_widget_settings(&json!({"bot": {"kind": "gpt"}}));
    assert!(matches!(kind, Err(BotError::Config(_))));

    let dir = Path::new("/nonexistent");
    let cases = [
        (json!({"kind": "llm", "model": "m"}), "base_url"),
        (json!({"kind": "llm", "base_url": "http://x"}), "model"),
        (
            json!({"kind": "llm", "base_url": "ftp://x", "model": "m"}),
            "base_url",
        ),
        (
            json!({"kind": "llm", "base_url": "http://x", "model": "m",
                   "api_key_env": "PARLEY_BOT_TEST_SURELY_UNSET"}),
            "PARLEY_BOT_TEST_SURELY_UNSET",
        ),
        (
            json!({"kind": "llm", "base_url": "http://x", "model": "m", "timeout_secs": 0}),
            "timeout",
        ),
        (json!({"kind": "webhook", "secret": "s"}), "url"),
        (json!({"kind": "webhook", "url": "http://x"}), "secret"),
        (json!({"threshold": 1.5}), "threshold"),
    ];
    for (value, needle) in cases {
        let settings = BotSettings::from_widget_settings(&json!({ "bot": value }))
            .expect("well-formed settings");
        match build(&settings, dir, 1) {
            Err(BotError::Config(message)) => {
                assert!(message.contains(needle), "{value}: {message}")
            }
            other => panic!("{value}: expected a config error, got {other:?}"),
        }
    }
}

#[test]
fn debug_output_redacts_secrets() {
    let settings = BotSettings::from_widget_settings(&json!({"bot": {
        "kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "hunter2",
        "api_key": "sk-live-123",
    }}))
    .expect("settings");
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("sk-live-123"),
        "{shown}"
    );
    let bot = build(&settings, Path::new("/nonexistent"), 1).expect("webhook bot");
    assert!(!format!("{bot:?}").contains("hunter2"));
}
