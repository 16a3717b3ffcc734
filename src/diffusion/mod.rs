//! The mathematics of diffusion that every experiment shares: schedules, the forward process,
//! conversions between score / noise / clean-data targets, and the reverse-time samplers.

pub mod forward;
pub mod sampler;
pub mod schedule;

pub use sampler::{Sampler, SamplerKind};
pub use schedule::Schedule;
