//! The one rule on stored text: no NUL (U+0000). PostgreSQL cannot store it in `TEXT` or
//! `JSONB` and fails the statement; SQLite would keep it. Checking before any statement runs
//! makes both databases refuse it alike ([`StoreError::InvalidText`]), and lookups by such text
//! find nothing, as they would have on either.

use std::borrow::Cow;

use serde_json::Value;

use crate::{Result, StoreError};

/// Refuses `value` if it holds a NUL.
pub(crate) fn check(field: &'static str, value: &str) -> Result<()> {
    if value.contains('\0') {
        Err(StoreError::InvalidText { field })
    } else {
        Ok(())
    }
}

/// [`check`] for a value that may be absent.
pub(crate) fn check_optional(field: &'static str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |value| check(field, value))
}

/// Refuses a JSON value if any of its strings or keys holds a NUL (`\u0000` in JSON text).
pub(crate) fn check_json(field: &'static str, value: &Value) -> Result<()> {
    match value {
        Value::String(text) => check(field, text),
        Value::Array(items) => items.iter().try_for_each(|item| check_json(field, item)),
        Value::Object(entries) => entries.iter().try_for_each(|(key, item)| {
            check(field, key)?;
            check_json(field, item)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Whether a lookup key can match anything stored: text with a NUL never can.
pub(crate) fn storable(value: &str) -> bool {
    !value.contains('\0')
}

/// Diagnostic text (a failed job's error) is kept rather than refused: NUL becomes U+FFFD.
pub(crate) fn lossy(value: &str) -> Cow<'_, str> {
    if storable(value) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.replace('\0', "\u{FFFD}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_anywhere_in_json() {
        assert!(check_json("x", &serde_json::json!({"a": [1, "ok", {"b": null}]})).is_ok());
        assert!(check_json("x", &serde_json::json!({"a": [1, {"b": "\u{0}"}]})).is_err());
        assert!(check_json("x", &serde_json::json!({"\u{0}": 1})).is_err());
        assert_eq!(lossy("a\u{0}b"), "a\u{FFFD}b");
        assert!(matches!(lossy("ab"), Cow::Borrowed("ab")));
    }
}
