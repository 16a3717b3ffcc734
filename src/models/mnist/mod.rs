//! Small MNIST (seed 000, section 3; seed 001): 2,000 real digits, a noise-prediction network,
//! generated digits. `data` holds the digits asset, the exact empirical score and the quality
//! measures, `eval` the classifier that measures them natively, `train` the networks, sampling (with classifier guidance) and training, `classifier` the digit
//! classifiers (guidance and measuring).

pub mod classifier;
pub mod data;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
pub mod lab;
pub mod train;
