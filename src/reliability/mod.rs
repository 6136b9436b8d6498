//! Staying up when providers do not: which key to use (weights, health, stickiness), when and
//! how long to wait before retrying, and how many requests a provider gets at once.

pub mod keys;
pub mod limits;
pub mod retry;

pub use keys::{Choice, Health};
pub use limits::{Limits, QueueFull};
