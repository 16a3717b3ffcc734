//! The 8×8 Ising model (seed 000, section 2): spin configurations at inverse temperature β,
//! diffused by independent spin flips; a network learns the reverse kernel per spin.
//! `lattice` holds the lattice, the Gibbs sampler, the flip process and the statistics, `exact`
//! the transfer-matrix distributions, `train` the network, its sampler and training.

pub mod exact;
pub mod lab;
pub mod lattice;
pub mod net;
pub mod train;
