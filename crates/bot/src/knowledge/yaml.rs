//! The YAML knowledge format: a list of `{q|question, a|answer}` entries (see the parent module).

use super::{Entry, KnowledgeError};

/// Parses YAML knowledge. `origin` names the source in error messages, which carry the line
/// serde_yaml_ng reports.
pub fn parse_yaml(origin: &str, text: &str) -> Result<Vec<Entry>, KnowledgeError> {
    let malformed = |line: Option<usize>, message: String| KnowledgeError::Malformed {
        origin: origin.to_owned(),
        line,
        message,
    };
    if text.trim().is_empty() {
        return Err(malformed(
            None,
            "the file is empty; expected a list of entries".into(),
        ));
    }
    let entries: Vec<Entry> = serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        malformed(
            line,
            format!("{e} (expected a list of `- q: … / a: …` entries)"),
        )
    })?;
    if entries.is_empty() {
        return Err(malformed(None, "the list of entries is empty".into()));
    }
    Ok(entries)
}
