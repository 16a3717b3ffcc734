//! The tutorial's first model (seed 000, section 1): a two-mode Gaussian mixture diffused by an
//! Ornstein–Uhlenbeck process (or any [`crate::diffusion::Schedule`]); a network learns the
//! score `F(x, t)`. `mixture` holds the exact references (density, score, posterior mean, W1),
//! `train` the network and its training.

pub mod lab;
pub mod mixture;
pub mod train;
pub mod views;
