//! Experiments: each ties together data, the exact references, the loss and the metrics.

pub mod ising;
pub mod ising_exact;
pub mod mnist;
pub mod toy1d;
