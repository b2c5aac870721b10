//! parley-bot integration tests: the knowledge bot on real files, the LLM bot against a local
//! fake OpenAI-compatible server speaking real SSE, the webhook bot against a local receiver that
//! checks signatures. Everything binds 127.0.0.1:0; nothing sleeps.

mod support;

mod knowledge;
mod llm;
mod settings;
mod webhook;
