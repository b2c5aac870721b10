//! What people may send as text, checked once for every way text enters (visitor details,
//! messages, agents' replies, saved replies, the inbox search, external bots' replies): no
//! control characters other than newline, carriage return and tab. NUL is the one PostgreSQL
//! cannot store (the store refuses it too); the others are refused alike so that both databases
//! and every client see the same text. A reaction must be exactly one emoji ([`one_emoji`]).

mod emoji;

use std::borrow::Cow;

pub use emoji::one_emoji;

use crate::error::ApiError;

/// Whether `c` is refused in text: a control character (Unicode category Cc: C0, DEL, C1) other
/// than the line breaks browsers send (`\n`, and `\r` in the CRLF of multipart forms) and tab.
pub fn refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// The first refused character in `value`, if any.
pub fn first_refused(value: &str) -> Option<char> {
    value.chars().find(|c| refused(*c))
}

/// Refuses `value` with 422 `invalid_text` if it holds a refused character; `field` names it in
/// the message.
pub fn check(field: &str, value: &str) -> Result<(), ApiError> {
    match first_refused(value) {
        None => Ok(()),
        Some(c) => Err(ApiError::InvalidText(format!(
            "{field} contains the control character U+{:04X}; only newline, carriage return and \
             tab are allowed",
            u32::from(c)
        ))),
    }
}

/// Text Parley produces from others' output (a language model's reply): refused characters are
/// dropped rather than failing the turn.
pub fn without_refused(value: &str) -> Cow<'_, str> {
    if first_refused(value).is_none() {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.chars().filter(|c| !refused(*c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_but_line_breaks_and_tabs_are_refused() {
        assert!(check("message", "one\r\ntwo\n\tthree ünïcode 👍").is_ok());
        for bad in ["\0", "a\u{1}", "\u{1b}[31m", "\u{7f}", "\u{85}", "\u{9f}"] {
            let error = check("message", bad).unwrap_err();
            assert!(matches!(error, ApiError::InvalidText(_)), "{bad:?}");
        }
        assert!(check("q", "a\0")
            .unwrap_err()
            .to_string()
            .starts_with("q contains the control character U+0000"));
        assert_eq!(without_refused("a\0b\u{7}\nc"), "ab\nc");
        assert!(matches!(without_refused("fine"), Cow::Borrowed("fine")));
    }
}
