//! The lab's models, one folder each: data, exact references, network glue, training and
//! sampling, as plain Rust that runs natively and in the page.

pub mod ising;
pub mod live;
pub mod mnist;
pub mod toy1d;

use serde::{Deserialize, Serialize};

/// Which model the lab shows, trains and samples. Every layer dispatches on this value, never on
/// a model's name: a new model is one folder here and one variant below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Model {
    /// The 1D two-mode toy.
    #[default]
    Toy1d,
    /// The 8×8 Ising model.
    Ising,
    /// Small MNIST.
    Mnist,
}

impl Model {
    /// Every model, in the page's order.
    pub const ALL: [Model; 3] = [Model::Toy1d, Model::Ising, Model::Mnist];

    /// The name used in URLs, weights files, `window.lab` and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Model::Toy1d => "toy1d",
            Model::Ising => "ising",
            Model::Mnist => "mnist",
        }
    }

    /// The model with this name.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Every model's name, comma-separated (for messages).
    pub fn names() -> String {
        Model::ALL.map(Model::name).join(", ")
    }
}
