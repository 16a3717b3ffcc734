//! Small MNIST (seed 000, section 3; seed 001): 2,000 real digits, a noise-prediction network,
//! generated digits. `data` holds the digits asset, the exact empirical score and the quality
//! measures, `train` the networks, sampling (with classifier guidance) and training.

pub mod data;
pub mod lab;
pub mod train;
