//! Exponential moving average of a network's weights (Polyak averaging), as used for sampling by
//! Ho et al. (2020): Adam at a constant learning rate keeps the weights jittering around the
//! optimum, and for this toy that jitter alone moves the balance between the two modes by a few
//! percent; the average sits still.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

struct Collect(Vec<Tensor<1>>);

/// Every float parameter of `net`, flattened, in the order burn visits them.
pub fn parameters<M: Module>(net: &M) -> Vec<Tensor<1>> {
    let mut collect = Collect(Vec::new());
    net.visit(&mut collect);
    collect.0
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().flatten::<1>(0, D - 1));
    }
}

struct Blend {
    current: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let current = self
            .current
            .next()
            .expect("EMA and network have the same parameters");
        let decay = self.decay;
        param.map(|avg| {
            let shape = avg.shape();
            avg.mul_scalar(decay) + current.reshape(shape).mul_scalar(1.0 - decay)
        })
    }
}

/// `average <- decay * average + (1 - decay) * current`, parameter by parameter.
/// Both modules must have the same architecture (and live on the same device).
pub fn update<M: Module>(average: M, current: &M, decay: f64) -> M {
    let mut collect = Collect(Vec::new());
    current.visit(&mut collect);
    average.map(&mut Blend {
        current: collect.0.into_iter(),
        decay,
    })
}

/// One EMA step after optimizer step number `step` (1-based), with TensorFlow's warm-up
/// (`decay` capped by `(1 + step)/(10 + step)`, so early on the average follows the weights).
/// `None` starts the average at `current`.
pub fn step<M: Module>(average: Option<M>, current: M, decay: f64, step: u64) -> M {
    let decay = decay.min((1.0 + step as f64) / (10.0 + step as f64));
    match average {
        Some(avg) => update(avg, &current, decay),
        None => current,
    }
}

/// One training step of any of the lab's networks: gradients of `loss` (computed from `net` on an
/// autodiff device), an optimizer step at `learning_rate`, then, when `decay > 0`, the weight
/// average updated with the new weights (optimizer step number `step`, 1-based). Returns the
/// new weights.
pub fn descend<M: Module>(
    optimizer: &mut ModuleOptimizer,
    learning_rate: f64,
    net: M,
    loss: &Tensor<1>,
    average: &mut Option<M>,
    decay: f64,
    step: u64,
) -> M {
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    descend_with(optimizer, learning_rate, net, grads, average, decay, step)
}

/// [`descend`] from gradients already computed (the data-parallel step sums two halves').
pub fn descend_with<M: Module>(
    optimizer: &mut ModuleOptimizer,
    learning_rate: f64,
    net: M,
    grads: GradientsParams,
    average: &mut Option<M>,
    decay: f64,
    step: u64,
) -> M {
    let net = optimizer.step(learning_rate, net, grads);
    if decay > 0.0 {
        *average = Some(self::step(average.take(), net.valid(), decay, step));
    }
    net
}
