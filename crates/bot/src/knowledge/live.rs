//! Knowledge that follows its files: the current search index, rebuilt when the files change.
//!
//! Checking costs a few `stat` calls, so it happens on a turn at most every `interval` (not on a
//! timer: an idle widget costs nothing). The rebuild runs on the turn that notices the change;
//! knowledge files are small (a rebuild of a few hundred entries takes milliseconds), which is
//! why it is not moved to a blocking thread.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Fingerprint, KnowledgeError, Sources};
use crate::retrieval::Retriever;

#[derive(Debug)]
pub(crate) struct LiveKnowledge {
    sources: Sources,
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    checked_at: Instant,
    fingerprint: Fingerprint,
    retriever: Arc<Retriever>,
}

impl LiveKnowledge {
    /// Loads the knowledge now, so a broken file fails the bot's construction loudly.
    pub(crate) fn load(sources: Sources, interval: Duration) -> Result<Self, KnowledgeError> {
        let (entries, fingerprint) = sources.load()?;
        let retriever = Arc::new(Retriever::build(entries)?);
        Ok(LiveKnowledge {
            sources,
            interval,
            state: Mutex::new(State {
                checked_at: Instant::now(),
                fingerprint,
                retriever,
            }),
        })
    }

    /// The index to search for this turn, rebuilt first if the files changed since last time.
    /// A rebuild that fails keeps the previous index: a half-saved or mistyped edit must not
    /// take a working bot down (the error is logged for whoever is editing).
    pub(crate) fn current(&self) -> Arc<Retriever> {
        // A poisoned lock only means another turn panicked mid-check; the state is still whole.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.checked_at.elapsed() < self.interval {
            return state.retriever.clone();
        }
        state.checked_at = Instant::now();
        if self.sources.fingerprint() == state.fingerprint {
            return state.retriever.clone();
        }
        match self
            .sources
            .load()
            .and_then(|(entries, fp)| Ok((Retriever::build(entries)?, fp)))
        {
            Ok((retriever, fingerprint)) => {
                tracing::info!(
                    widget_id = self.sources.widget_id(),
                    entries = retriever.len(),
                    "knowledge reloaded"
                );
                state.retriever = Arc::new(retriever);
                state.fingerprint = fingerprint;
            }
            Err(error) => {
                tracing::warn!(
                    widget_id = self.sources.widget_id(),
                    %error,
                    "knowledge not reloaded; keeping the previous version"
                );
                // Remember the broken version so it is not re-parsed (and re-logged) every turn.
                state.fingerprint = self.sources.fingerprint();
            }
        }
        state.retriever.clone()
    }
}
