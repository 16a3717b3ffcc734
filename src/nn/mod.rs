//! Neural networks (burn modules). Model code has no backend type parameter: tensors carry their
//! backend in their `Device`, so the same network trains on WebGPU, on the CPU and natively.

pub mod ema;
pub mod mlp;
pub mod time_embedding;

pub use mlp::{Activation, MlpConfig, ScoreMlp};
pub mod classifier;
pub mod ising_net;
pub mod unet;
