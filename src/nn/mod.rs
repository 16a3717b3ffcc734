//! Neural networks (burn modules) that more than one model uses; a network made for one model
//! lives in its folder (the Ising kernel net: `models::ising::net`). Model code has no backend
//! type parameter: tensors carry their backend in their `Device`, so the same network trains on
//! WebGPU, on the CPU and natively.

pub mod ema;
pub mod mlp;
pub mod soft_silu;
pub mod time_embedding;
pub mod written;

pub use mlp::{Activation, MlpConfig, ScoreMlp};
pub mod classifier;
pub mod unet;
