//! The pre-chat form: which questions a widget asks before a conversation starts (its
//! `settings.pre_chat`), and checking a visitor's answers on the server exactly as strictly as
//! the widget does, since anyone can call the API without the widget.
//!
//! ```json
//! "pre_chat": {
//!   "enabled": true,
//!   "fields": [
//!     {"key": "name", "required": true},
//!     {"key": "email", "required": true},
//!     {"key": "phone"},
//!     {"key": "order", "label": "Order number", "type": "text", "required": false},
//!     {"key": "topic", "label": "Topic", "type": "select", "options": ["Billing", "Delivery"]}
//!   ],
//!   "consent": {"enabled": true, "text": "I agree to the privacy policy"}
//! }
//! ```
//!
//! `name` and `email` fill the conversation's visitor name and email; every other answer is kept
//! in the conversation's attributes, which agents see and search.

use serde_json::{Map, Value};

use crate::{error::ApiError, text};

/// Questions a form may ask.
const MAX_FIELDS: usize = 20;
/// Choices a select may offer.
const MAX_OPTIONS: usize = 50;

/// What kind of answer a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text (at most 500 characters).
    Text,
    /// Several lines (at most 2,000 characters).
    Textarea,
    /// An email address.
    Email,
    /// A telephone number: digits, spaces, `+ ( ) - .`, at least five digits.
    Phone,
    /// A number.
    Number,
    /// One of the field's options.
    Select,
    /// Ticked or not.
    Checkbox,
}

impl FieldKind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "text" => Self::Text,
            "textarea" => Self::Textarea,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "number" => Self::Number,
            "select" => Self::Select,
            "checkbox" => Self::Checkbox,
            _ => return None,
        })
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// `name`, `email`, `phone`, or the site's own key (`[a-z][a-z0-9_]*`, at most 40).
    pub key: String,
    /// What kind of answer.
    pub kind: FieldKind,
    /// Whether the visitor must answer.
    pub required: bool,
    /// A select's choices.
    pub options: Vec<String>,
}

/// A widget's form, as its settings describe it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreChatForm {
    /// Whether the widget shows the form at all.
    pub enabled: bool,
    /// The questions, in order.
    pub fields: Vec<Field>,
    /// Whether a consent box must be ticked.
    pub consent: bool,
}

/// The answers, checked and ready to store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    /// The `name` field's answer.
    pub name: Option<String>,
    /// The `email` field's answer.
    pub email: Option<String>,
    /// Every other answer, by key.
    pub attributes: Map<String, Value>,
    /// Whether the consent box was ticked.
    pub consented: bool,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::Validation(message.into())
}

impl PreChatForm {
    /// Reads and checks `settings.pre_chat`; absent means no form.
    pub fn from_settings(settings: &Value) -> Result<Self, ApiError> {
        let Some(form) = settings.get("pre_chat") else {
            return Ok(Self::default());
        };
        let form = form
            .as_object()
            .ok_or_else(|| invalid("settings.pre_chat must be an object"))?;
        for key in form.keys() {
            if !matches!(key.as_str(), "enabled" | "fields" | "consent") {
                return Err(invalid(format!("settings.pre_chat.{key} is not a setting")));
            }
        }
        let enabled = flag(form.get("enabled"), "settings.pre_chat.enabled")?;
        let consent = match form.get("consent") {
            None | Some(Value::Null) => false,
            Some(Value::Object(consent)) => {
                if let Some(label) = consent.get("text") {
                    label_text(label, "settings.pre_chat.consent.text", 500)?;
                }
                flag(consent.get("enabled"), "settings.pre_chat.consent.enabled")?
            }
            Some(_) => return Err(invalid("settings.pre_chat.consent must be an object")),
        };
        let fields = match form.get("fields") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(fields)) => fields
                .iter()
                .enumerate()
                .map(|(i, field)| Field::parse(i, field))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(invalid("settings.pre_chat.fields must be a list")),
        };
        if fields.len() > MAX_FIELDS {
            return Err(invalid(format!(
                "settings.pre_chat.fields has more than {MAX_FIELDS} fields"
            )));
        }
        for (i, field) in fields.iter().enumerate() {
            if fields[..i].iter().any(|f| f.key == field.key) {
                return Err(invalid(format!(
                    "settings.pre_chat.fields names {} twice",
                    field.key
                )));
            }
        }
        Ok(Self {
            enabled,
            fields,
            consent,
        })
    }

    /// Checks a visitor's answers. `name` and `email` are what the request gave as
    /// `visitor_name`/`visitor_email`; `attributes` the other answers. A visitor whose identity
    /// the site signed (`verified`) skips the form, so nothing is required of them, but what
    /// they do send is checked all the same.
    pub fn check(
        &self,
        name: Option<String>,
        email: Option<String>,
        attributes: Map<String, Value>,
        consented: bool,
        verified: bool,
    ) -> Result<Answers, ApiError> {
        // `name` and `email` are taken even when the form does not ask them: the seed's host
        // page passes `visitorName`/`visitorEmail` from the site's own sign-in.
        let mut answers = Answers {
            name: one_line(name, "visitor_name", 100)?,
            email: email_address(email, "visitor_email")?,
            attributes: Map::new(),
            consented: self.enabled && self.consent && consented,
        };
        for (key, value) in attributes {
            let field = self
                .fields
                .iter()
                .find(|f| f.key == key && key != "name" && key != "email")
                .filter(|_| self.enabled)
                .ok_or_else(|| {
                    invalid(format!("attributes.{key} is not a question of this form"))
                })?;
            if let Some(value) = field.answer(value)? {
                answers.attributes.insert(key, value);
            }
        }
        if !self.enabled || verified {
            return Ok(answers);
        }
        for field in self.fields.iter().filter(|f| f.required) {
            let answered = match field.key.as_str() {
                "name" => answers.name.is_some(),
                "email" => answers.email.is_some(),
                key => answers
                    .attributes
                    .get(key)
                    .is_some_and(|v| v != &Value::Bool(false)),
            };
            if !answered {
                return Err(invalid(format!("{} is required", field.key)));
            }
        }
        if self.consent && !answers.consented {
            return Err(invalid("consent is required"));
        }
        Ok(answers)
    }
}

impl Field {
    fn parse(index: usize, value: &Value) -> Result<Self, ApiError> {
        let at = format!("settings.pre_chat.fields[{index}]");
        let field = value
            .as_object()
            .ok_or_else(|| invalid(format!("{at} must be an object")))?;
        for key in field.keys() {
            if !matches!(
                key.as_str(),
                "key" | "label" | "type" | "required" | "options" | "placeholder"
            ) {
                return Err(invalid(format!("{at}.{key} is not a setting")));
            }
        }
        let key = field
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("{at}.key is required")))?;
        let well_formed = key.len() <= 40
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(invalid(format!(
                "{at}.key must be lowercase letters, digits and _ (at most 40)"
            )));
        }
        let builtin = match key {
            "name" => Some(FieldKind::Text),
            "email" => Some(FieldKind::Email),
            "phone" => Some(FieldKind::Phone),
            _ => None,
        };
        let kind = match (field.get("type").and_then(Value::as_str), builtin) {
            (None, Some(kind)) => kind,
            (Some(name), Some(kind)) if FieldKind::parse(name) == Some(kind) => kind,
            (Some(_), Some(_)) => {
                return Err(invalid(format!("{at}.type cannot be changed for {key}")))
            }
            (None, None) => FieldKind::Text,
            (Some(name), None) => FieldKind::parse(name).ok_or_else(|| {
                invalid(format!(
                    "{at}.type must be text, textarea, email, phone, number, select or checkbox"
                ))
            })?,
        };
        match field.get("label") {
            Some(label) => label_text(label, &format!("{at}.label"), 100)?,
            None if builtin.is_none() => return Err(invalid(format!("{at}.label is required"))),
            None => {}
        }
        if let Some(placeholder) = field.get("placeholder") {
            label_text(placeholder, &format!("{at}.placeholder"), 100)?;
        }
        let options = match (field.get("options"), kind) {
            (Some(Value::Array(options)), FieldKind::Select) => options
                .iter()
                .map(|o| {
                    label_text(o, &format!("{at}.options"), 100)
                        .map(|()| o.as_str().unwrap_or_default().trim().to_string())
                })
                .collect::<Result<Vec<_>, _>>()?,
            (None, FieldKind::Select) | (Some(_), FieldKind::Select) => {
                return Err(invalid(format!("{at}.options must list the choices")))
            }
            (Some(_), _) => return Err(invalid(format!("{at}.options is only for a select"))),
            (None, _) => Vec::new(),
        };
        if kind == FieldKind::Select && (options.is_empty() || options.len() > MAX_OPTIONS) {
            return Err(invalid(format!(
                "{at}.options must list 1 to {MAX_OPTIONS} choices"
            )));
        }
        Ok(Self {
            key: key.to_string(),
            kind,
            required: flag(field.get("required"), &format!("{at}.required"))?,
            options,
        })
    }

    /// Checks one answer; `None` for an empty one.
    fn answer(&self, value: Value) -> Result<Option<Value>, ApiError> {
        let at = format!("attributes.{}", self.key);
        if value.is_null() {
            return Ok(None);
        }
        if self.kind == FieldKind::Checkbox {
            return match value {
                Value::Bool(ticked) => Ok(Some(Value::Bool(ticked))),
                _ => Err(invalid(format!("{at} must be true or false"))),
            };
        }
        if self.kind == FieldKind::Number {
            let number = match &value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) if s.trim().is_empty() => return Ok(None),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            return match number.filter(|n| n.is_finite()) {
                Some(n) => Ok(serde_json::Number::from_f64(n).map(Value::Number)),
                None => Err(invalid(format!("{at} must be a number"))),
            };
        }
        let Value::String(text) = value else {
            return Err(invalid(format!("{at} must be text")));
        };
        let answer = match self.kind {
            FieldKind::Textarea => multi_line(text, &at, 2000)?,
            FieldKind::Email => email_address(Some(text), &at)?,
            FieldKind::Phone => phone(text, &at)?,
            FieldKind::Select => {
                let choice = text.trim();
                if choice.is_empty() {
                    None
                } else if self.options.iter().any(|o| o == choice) {
                    Some(choice.to_string())
                } else {
                    return Err(invalid(format!("{at} must be one of the choices")));
                }
            }
            _ => one_line(Some(text), &at, 500)?,
        };
        Ok(answer.map(Value::String))
    }
}

fn flag(value: Option<&Value>, at: &str) -> Result<bool, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!("{at} must be true or false"))),
    }
}

fn label_text(value: &Value, at: &str, max: usize) -> Result<(), ApiError> {
    let text = value
        .as_str()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| invalid(format!("{at} must be text")))?;
    text::check(at, text)?;
    if text.chars().count() > max {
        return Err(invalid(format!("{at} is longer than {max} characters")));
    }
    Ok(())
}

fn one_line(value: Option<String>, at: &str, max: usize) -> Result<Option<String>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    text::check(at, &value)?;
    if value.contains(['\n', '\r']) {
        return Err(invalid(format!("{at} must be one line")));
    }
    multi_line(value, at, max)
}

fn multi_line(value: String, at: &str, max: usize) -> Result<Option<String>, ApiError> {
    text::check(at, &value)?;
    let value = value.trim().to_string();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(invalid(format!("{at} is longer than {max} characters")));
    }
    Ok(Some(value))
}

/// An email address as far as a form can tell: one `@` with text on both sides, no spaces.
pub fn email_address(value: Option<String>, at: &str) -> Result<Option<String>, ApiError> {
    let Some(email) = one_line(value, at, 254)? else {
        return Ok(None);
    };
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !email.contains(char::is_whitespace);
    if !valid {
        return Err(invalid(format!("{at} is not an email address")));
    }
    Ok(Some(email))
}

fn phone(value: String, at: &str) -> Result<Option<String>, ApiError> {
    let Some(number) = one_line(Some(value), at, 30)? else {
        return Ok(None);
    };
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let allowed = number
        .chars()
        .all(|c| c.is_ascii_digit() || " +()-.".contains(c));
    if !allowed || digits < 5 {
        return Err(invalid(format!("{at} is not a telephone number")));
    }
    Ok(Some(number))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form() -> PreChatForm {
        PreChatForm::from_settings(&json!({"pre_chat": {
            "enabled": true,
            "fields": [
                {"key": "name", "required": true},
                {"key": "email", "required": true},
                {"key": "phone"},
                {"key": "order", "label": "Order number"},
                {"key": "size", "label": "Size", "type": "number"},
                {"key": "topic", "label": "Topic", "type": "select", "options": ["Billing", "Delivery"], "required": true},
                {"key": "news", "label": "Newsletter", "type": "checkbox"}
            ],
            "consent": {"enabled": true, "text": "I agree"}
        }}))
        .unwrap()
    }

    fn attrs(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn good_answers_are_kept_trimmed() {
        let answers = form()
            .check(
                Some(" Ada ".into()),
                Some("ada@example.com".into()),
                attrs(
                    json!({"phone": "+44 (20) 7946-0958", "order": " A-12 ", "size": "42",
                              "topic": "Delivery", "news": true}),
                ),
                true,
                false,
            )
            .unwrap();
        assert_eq!(answers.name.as_deref(), Some("Ada"));
        assert!(answers.consented);
        assert_eq!(
            Value::Object(answers.attributes),
            json!({"phone": "+44 (20) 7946-0958", "order": "A-12", "size": 42.0,
                   "topic": "Delivery", "news": true})
        );
    }

    #[test]
    fn bad_or_missing_answers_are_refused() {
        let ok = || attrs(json!({"topic": "Billing"}));
        let name = || Some("Ada".to_string());
        let email = || Some("a@b.c".to_string());
        let f = form();
        assert!(
            f.check(None, email(), ok(), true, false).is_err(),
            "name required"
        );
        assert!(
            f.check(name(), None, ok(), true, false).is_err(),
            "email required"
        );
        assert!(
            f.check(name(), email(), attrs(json!({})), true, false)
                .is_err(),
            "topic required"
        );
        assert!(
            f.check(name(), email(), ok(), false, false).is_err(),
            "consent required"
        );
        assert!(f
            .check(name(), Some("nope".into()), ok(), true, false)
            .is_err());
        for bad in [
            json!({"topic": "Other"}),
            json!({"topic": "Billing", "phone": "call me"}),
            json!({"topic": "Billing", "phone": "12"}),
            json!({"topic": "Billing", "size": "big"}),
            json!({"topic": "Billing", "news": "yes"}),
            json!({"topic": "Billing", "order": "a\nb"}),
            json!({"topic": "Billing", "order": "x".repeat(501)}),
            json!({"topic": "Billing", "unknown": "x"}),
            json!({"topic": "Billing", "name": "Ada"}),
            json!({"topic": ["Billing"]}),
        ] {
            assert!(
                f.check(name(), email(), attrs(bad.clone()), true, false)
                    .is_err(),
                "{bad}"
            );
        }
        // A verified user skips the form, but what they send is still checked.
        assert!(f.check(None, None, attrs(json!({})), false, true).is_ok());
        assert!(f
            .check(None, None, attrs(json!({"topic": "Other"})), false, true)
            .is_err());
    }

    #[test]
    fn without_a_form_only_name_and_email_are_taken() {
        let none = PreChatForm::from_settings(&json!({})).unwrap();
        assert!(none
            .check(Some("Ada".into()), None, Map::new(), false, false)
            .is_ok());
        assert!(none
            .check(None, None, attrs(json!({"phone": "12345"})), false, false)
            .is_err());
        let answers = none.check(None, None, Map::new(), true, false).unwrap();
        assert!(!answers.consented, "no consent box, no consent recorded");
    }

    #[test]
    fn settings_are_checked() {
        for bad in [
            json!({"pre_chat": []}),
            json!({"pre_chat": {"enabled": "yes"}}),
            json!({"pre_chat": {"fields": [{"key": "Order", "label": "x"}]}}),
            json!({"pre_chat": {"fields": [{"key": "order"}]}}),
            json!({"pre_chat": {"fields": [{"key": "order", "label": "x", "type": "date"}]}}),
            json!({"pre_chat": {"fields": [{"key": "email", "type": "text"}]}}),
            json!({"pre_chat": {"fields": [{"key": "t", "label": "x", "type": "select"}]}}),
            json!({"pre_chat": {"fields": [{"key": "t", "label": "x", "options": ["a"]}]}}),
            json!({"pre_chat": {"fields": [{"key": "name"}, {"key": "name"}]}}),
            json!({"pre_chat": {"fields": [{"key": "name", "colour": "red"}]}}),
            json!({"pre_chat": {"consent": {"enabled": true, "text": ""}}}),
            json!({"pre_chat": {"colour": 1}}),
        ] {
            assert!(PreChatForm::from_settings(&bad).is_err(), "{bad}");
        }
    }
}
