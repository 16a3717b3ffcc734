//! difflab: an interactive diffusion-model lab. The mathematics (schedules, samplers, exact
//! references) and the networks build and test natively; `web` is the browser shell.

pub mod arena;
pub mod diffusion;
pub mod export;
pub mod figure;
pub mod fuzz;
pub mod lecture;
pub mod models;
pub mod nn;
pub mod pacing;
pub mod partner;
pub mod run;
pub mod session;
pub mod settings;

#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;
