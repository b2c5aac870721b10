//! A widget's knowledge: question/answer entries, where they come from, and their formats.
//!
//! # Where
//! For widget `N`, in the knowledge directory:
//! 1. `N.md`, `N.yaml` and `N.yml` (all that exist), plus the inline `settings.bot.knowledge`;
//! 2. if that gives nothing: `default.md`, `default.yaml`, `default.yml`;
//! 3. if that gives nothing too: the built-in demo knowledge (knowledge bot only; an LLM bot
//!    without knowledge answers from its system prompt alone): the shop of the test page
//!    (shipping, returns, sizes, opening hours, payment…) and how to embed the widget.
//!
//! Files are re-read when their modification time, size or existence changes (checked at most
//! every `reload_secs`), so editing a file changes the answers without a restart. An edit that
//! breaks a file is logged and the previous knowledge kept.
//!
//! # Markdown
//! Each `## ` heading is a question; the text up to the next `#`/`##` heading is its answer
//! (Markdown kept as written, `###` sub-headings included). Consecutive `##` headings with no
//! text between them are alternative phrasings of one question. A `# ` title and anything before
//! the first `##` are ignored; headings inside fenced code blocks do not count.
//!
//! ```markdown
//! # Acme help
//! ## What are your opening hours?
//! ## When are you open?
//! Monday to Friday, 9:00 to 17:00.
//! ```
//!
//! # YAML
//! A list of entries, each with `q` (or `question`, a string or a list of phrasings) and `a` (or
//! `answer`). The same shape, in JSON, is what `settings.bot.knowledge` takes.
//!
//! ```yaml
//! - q: What are your opening hours?
//!   a: Monday to Friday, 9:00 to 17:00.
//! - question: [Do you ship abroad?, International shipping?]
//!   answer: Yes, worldwide.
//! ```

mod live;
mod markdown;
mod yaml;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub(crate) use live::LiveKnowledge;
pub use markdown::parse_markdown;
pub use yaml::parse_yaml;

/// The built-in demo knowledge, for the zero-configuration demo: it answers as the shop on the
/// test page (`/chatbot-test.html`), and says how to embed the widget.
pub const DEMO_MARKDOWN: &str = include_str!("demo.md");

/// One question (in one or more phrasings) and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEntry")]
pub struct Entry {
    pub questions: Vec<String>,
    pub answer: String,
}

impl Entry {
    pub fn new(question: impl Into<String>, answer: impl Into<String>) -> Self {
        Entry {
            questions: vec![question.into()],
            answer: answer.into(),
        }
    }
}

/// The accepted spellings of an entry, checked into an [`Entry`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(alias = "q", alias = "questions")]
    question: OneOrMany,
    #[serde(alias = "a")]
    answer: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl TryFrom<RawEntry> for Entry {
    type Error = String;

    fn try_from(raw: RawEntry) -> Result<Self, String> {
        let questions: Vec<String> = match raw.question {
            OneOrMany::One(q) => vec![q],
            OneOrMany::Many(qs) => qs,
        }
        .into_iter()
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
        .collect();
        let answer = raw.answer.trim().to_owned();
        if questions.is_empty() {
            return Err("an entry has an empty question".into());
        }
        if answer.is_empty() {
            return Err(format!("the entry {:?} has an empty answer", questions[0]));
        }
        Ok(Entry { questions, answer })
    }
}

/// Why knowledge could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `origin` names the file (or "inline"); `line` is 1-based when known.
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Malformed {
        origin: String,
        line: Option<usize>,
        message: String,
    },
    #[error("building the search index: {0}")]
    Index(String),
}

impl From<KnowledgeError> for crate::BotError {
    fn from(e: KnowledgeError) -> Self {
        crate::BotError::Config(e.to_string())
    }
}

/// Where one widget's knowledge comes from.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    dir: PathBuf,
    widget_id: i64,
    inline: Vec<Entry>,
    demo_fallback: bool,
}

/// What the files looked like when last read: per candidate path, its mtime and size if present.
pub(crate) type Fingerprint = Vec<Option<(SystemTime, u64)>>;

const EXTENSIONS: [&str; 3] = ["md", "yaml", "yml"];

impl Sources {
    pub(crate) fn new(dir: &Path, widget_id: i64, inline: Vec<Entry>, demo_fallback: bool) -> Self {
        Sources {
            dir: dir.to_path_buf(),
            widget_id,
            inline,
            demo_fallback,
        }
    }

    pub(crate) fn widget_id(&self) -> i64 {
        self.widget_id
    }

    fn files(&self, stem: &str) -> impl Iterator<Item = PathBuf> + '_ {
        let stem = stem.to_owned();
        EXTENSIONS
            .iter()
            .map(move |ext| self.dir.join(format!("{stem}.{ext}")))
    }

    fn candidates(&self) -> Vec<PathBuf> {
        let widget = self.files(&self.widget_id.to_string()).collect::<Vec<_>>();
        widget.into_iter().chain(self.files("default")).collect()
    }

    /// Cheap: one `stat` per candidate path, so it can run every few seconds.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        self.candidates()
            .iter()
            .map(|path| {
                let meta = std::fs::metadata(path).ok()?;
                Some((meta.modified().ok()?, meta.len()))
            })
            .collect()
    }

    /// Reads every source; the fingerprint is taken first, so an edit made while reading is seen
    /// by the next check rather than lost.
    pub(crate) fn load(&self) -> Result<(Vec<Entry>, Fingerprint), KnowledgeError> {
        let fingerprint = self.fingerprint();
        let mut entries = Vec::new();
        for path in self.files(&self.widget_id.to_string()) {
            entries.extend(read_file(&path)?);
        }
        entries.extend(self.inline.iter().cloned());
        if entries.is_empty() {
            for path in self.files("default") {
                entries.extend(read_file(&path)?);
            }
        }
        if entries.is_empty() && self.demo_fallback {
            entries = parse_markdown("built-in demo knowledge", DEMO_MARKDOWN)?;
        }
        Ok((entries, fingerprint))
    }
}

/// The entries of one file; a missing file has none.
fn read_file(path: &Path) -> Result<Vec<Entry>, KnowledgeError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(KnowledgeError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let origin = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()) {
        Some("md") => parse_markdown(&origin, &text),
        _ => parse_yaml(&origin, &text),
    }
}
