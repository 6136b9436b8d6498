//! Every integration test module.

mod anthropic_codec;
mod assets;
mod browser;
mod cache;
mod chat_codec;
mod cli;
mod codex;
mod dashboard;
mod deploy;
mod gateway;
mod gemini_codec;
mod hostile;
mod mcp;
mod observability;
mod postgres;
mod props;
mod providers;
mod reliability;
mod remote;
mod sdk;
mod secrets;
mod team_keys;
mod translation;
