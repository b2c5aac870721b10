//! The knowledge-base bot, Parley's default: answers with the best-matching entry of the
//! widget's knowledge when confident enough, otherwise says it is unsure, and the widget offers
//! the visitor a person under that answer (the visitor decides; the bot never hands off on its
//! own for not knowing). Needs no external service.

use std::path::Path;

use async_trait::async_trait;

use crate::knowledge::{Entry, LiveKnowledge, Sources};
use crate::{visitor_handoff, Bot, BotError, BotSettings, Reply, Turn};

const DEFAULT_GREETING: &str =
    "Hi! I'm the assistant. Ask me a question, or type \"human\" to talk to a person.";

#[derive(Debug)]
pub struct KnowledgeBot {
    settings: BotSettings,
    knowledge: LiveKnowledge,
}

impl KnowledgeBot {
    /// Loads the widget's knowledge (falling back to the built-in demo knowledge).
    pub fn new(
        settings: &BotSettings,
        knowledge_dir: &Path,
        widget_id: i64,
    ) -> Result<Self, BotError> {
        if !(0.0..=1.0).contains(&settings.threshold) {
            return Err(BotError::Config(format!(
                "threshold must be between 0 and 1, not {}",
                settings.threshold
            )));
        }
        let sources = Sources::new(knowledge_dir, widget_id, settings.knowledge.clone(), true);
        let knowledge = LiveKnowledge::load(sources, settings.reload_interval())?;
        Ok(KnowledgeBot {
            settings: settings.clone(),
            knowledge,
        })
    }

    /// The entry that best answers `text` and the confidence (0..1) in it, whatever the
    /// threshold: for an editor's "try a question" view, and for tuning the threshold.
    pub fn best_answer(&self, text: &str) -> Result<Option<(Entry, f32)>, BotError> {
        let retriever = self.knowledge.current();
        let found = retriever.best_match(text)?;
        Ok(found.map(|(entry, confidence)| (entry.clone(), confidence)))
    }
}

#[async_trait]
impl Bot for KnowledgeBot {
    async fn reply(&self, turn: &Turn) -> Result<Reply, BotError> {
        if let Some(handoff) = visitor_handoff(&self.settings, turn) {
            return Ok(handoff);
        }
        match self.best_answer(&turn.message)? {
            Some((entry, confidence)) if confidence >= self.settings.threshold => {
                tracing::debug!(confidence, "knowledge answer");
                Ok(Reply::Answer { text: entry.answer })
            }
            found => {
                tracing::debug!(
                    confidence = found.map(|(_, c)| c),
                    unsure_count = turn.unsure_count,
                    "knowledge bot unsure"
                );
                Ok(Reply::Unsure {
                    text: self.settings.fallback_text(turn.locale.as_deref()),
                })
            }
        }
    }

    fn greeting(&self) -> Option<String> {
        self.settings.greeting_or(DEFAULT_GREETING)
    }
}
