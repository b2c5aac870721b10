//! Reading an OpenAI-style chat-completions stream: Server-Sent Events framing, then each
//! event's `data` as a completion chunk.
//!
//! The framing follows the SSE spec where servers differ: `data:` with or without the space,
//! several `data` lines joined by newlines, `:` comment lines (keep-alives, e.g. OpenRouter's),
//! `event:`/`id:`/`retry:` ignored, CRLF or LF line ends. Chunks arrive split anywhere, even
//! inside a UTF-8 character, so bytes are buffered until a whole line is there.

use serde::Deserialize;

use crate::BotError;

/// Incremental SSE parser: feed it bytes, get back the `data` of each completed event.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    pending: Vec<u8>,
    data: Option<String>,
}

impl SseParser {
    /// Adds received bytes; returns the data of the events they completed.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, BotError> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.pending.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line)
                .map_err(|_| BotError::Upstream("the stream is not valid UTF-8".into()))?;
            self.line(&line, &mut events);
        }
        Ok(events)
    }

    /// The stream ended: an event not followed by its blank line still counts.
    pub(crate) fn finish(&mut self) -> Result<Vec<String>, BotError> {
        let mut events = self.push(b"\n")?;
        events.extend(self.data.take());
        Ok(events)
    }

    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            events.extend(self.data.take());
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
    }
}

/// What one event of the stream said.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// A piece of the answer (possibly empty, e.g. the first chunk with only the role), and
    /// whether the model said it was finished (`finish_reason`).
    Delta { text: String, finished: bool },
    /// `[DONE]`: the end of the stream.
    Done,
}

#[derive(Deserialize)]
struct ChunkBody {
    #[serde(default)]
    choices: Vec<Choice>,
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// An OpenAI-style error object, as sent in an error response or mid-stream.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
}

/// Interprets one event's data.
pub(crate) fn parse_chunk(data: &str) -> Result<Chunk, BotError> {
    if data.trim() == "[DONE]" {
        return Ok(Chunk::Done);
    }
    let body: ChunkBody = serde_json::from_str(data).map_err(|e| {
        let shown: String = data.chars().take(200).collect();
        BotError::Upstream(format!("malformed stream chunk ({e}): {shown}"))
    })?;
    if let Some(error) = body.error {
        let message = error.message.unwrap_or_else(|| "unknown error".into());
        return Err(BotError::Upstream(format!("the model reported: {message}")));
    }
    let Some(choice) = body.choices.into_iter().next() else {
        // Usage-only chunks (`stream_options.include_usage`) carry no choices.
        return Ok(Chunk::Delta {
            text: String::new(),
            finished: false,
        });
    };
    Ok(Chunk::Delta {
        text: choice.delta.and_then(|d| d.content).unwrap_or_default(),
        finished: choice.finish_reason.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_split_anywhere() {
        let wire = "data: {\"a\":1}\r\n\r\n: keep-alive\n\ndata:{\"b\":2}\nevent: x\n\ndata: one\ndata: two\n\n";
        let mut parser = SseParser::default();
        let mut events = Vec::new();
        for byte in wire.as_bytes() {
            events.extend(parser.push(std::slice::from_ref(byte)).expect("utf-8"));
        }
        events.extend(parser.finish().expect("utf-8"));
        assert_eq!(events, ["{\"a\":1}", "{\"b\":2}", "one\ntwo"]);
    }

    #[test]
    fn unterminated_last_event_counts() {
        let mut parser = SseParser::default();
        assert!(parser.push(b"data: [DONE]").expect("utf-8").is_empty());
        assert_eq!(parser.finish().expect("utf-8"), ["[DONE]"]);
    }

    #[test]
    fn chunks() {
        assert_eq!(parse_chunk("[DONE]"), Ok(Chunk::Done));
        let delta = r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#;
        assert_eq!(
            parse_chunk(delta),
            Ok(Chunk::Delta {
                text: "Hi".into(),
                finished: false
            })
        );
        let end = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        assert_eq!(
            parse_chunk(end),
            Ok(Chunk::Delta {
                text: String::new(),
                finished: true
            })
        );
        assert!(matches!(parse_chunk("{oops"), Err(BotError::Upstream(_))));
        let error = r#"{"error":{"message":"overloaded"}}"#;
        assert!(
            matches!(parse_chunk(error), Err(BotError::Upstream(m)) if m.contains("overloaded"))
        );
    }
}
