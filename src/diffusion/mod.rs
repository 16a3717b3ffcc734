//! The mathematics of diffusion that every model shares: schedules, the forward process,
//! conversions between score / noise / clean-data targets, and the reverse-time samplers with
//! their table.

pub mod forward;
pub mod sampler;
pub mod schedule;
pub mod target;

pub use sampler::{Sampler, SamplerKind, SAMPLERS};
pub use schedule::Schedule;
pub use target::Marginal;
