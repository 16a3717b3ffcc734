//! Experiments: each ties together data, the exact references, the loss and the metrics.

pub mod toy1d;
