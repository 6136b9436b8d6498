//! Every integration test module.

mod assets;
mod cli;
mod codex;
mod gateway;
