//! OpenAI Responses API codec (inbound): Codex speaks only this.
