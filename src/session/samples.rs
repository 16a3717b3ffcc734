//! Samples as the lab hands them out for export (CSV, NPY: `crate::export`): the last set
//! `lab.sample` returned, and the set the model on show's sample figure shows.

use super::Session;
use crate::models::ising::lattice::SITES;
use crate::models::mnist::data::PIXELS;
use crate::models::Model;

/// Row-major samples with their shape and, where the columns have names, the names.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    pub model: Model,
    pub data: Vec<f32>,
    pub shape: Vec<usize>,
    pub names: Option<Vec<&'static str>>,
    /// The training step of the network that drew them.
    pub steps: u64,
}

impl Samples {
    /// A file name for them: `<model>-samples-step<k>.<ext>`.
    pub fn file_name(&self, ext: &str) -> String {
        format!("{}-samples-step{}.{ext}", self.model.name(), self.steps)
    }

    /// The samples as `format` (`csv` or `npy`).
    pub fn encode(&self, format: &str) -> Result<Vec<u8>, String> {
        match format {
            "csv" => crate::export::csv(&self.data, &self.shape, self.names.as_deref())
                .map(String::into_bytes),
            "npy" => crate::export::npy(&self.data, &self.shape),
            other => Err(format!("samples export as csv or npy, not '{other}'")),
        }
    }
}

/// What the model on show's sample figure shows: the toy's reverse-SDE and ODE samples side by
/// side (n × 2), the generated Ising configurations (n × 64, spins ±1) or MNIST digits (n × 784,
/// pixels in [0, 1]); `None` before the first views.
pub fn shown(s: &mut Session) -> Option<Samples> {
    match s.settings.model {
        Model::Toy1d => {
            let l = s.toy.live.learned.as_ref()?;
            let n = l.sde_samples.len().min(l.ode_samples.len());
            let data = (0..n)
                .flat_map(|i| [l.sde_samples[i], l.ode_samples[i]])
                .collect();
            Some(Samples {
                model: Model::Toy1d,
                data,
                shape: vec![n, 2],
                names: Some(vec!["sde", "ode"]),
                steps: l.steps,
            })
        }
        Model::Ising => {
            let l = s.ising().live.learned.as_ref()?;
            Some(Samples {
                model: Model::Ising,
                data: l.samples.iter().map(|&v| v as f32).collect(),
                shape: vec![l.samples.len() / SITES, SITES],
                names: None,
                steps: l.steps,
            })
        }
        Model::Mnist => {
            let l = s.mnist().live.learned.as_ref()?;
            Some(Samples {
                model: Model::Mnist,
                data: l.samples.clone(),
                shape: vec![l.samples.len() / PIXELS, PIXELS],
                names: None,
                steps: l.steps,
            })
        }
    }
}
