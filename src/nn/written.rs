//! Pieces of backward passes written out instead of recorded by burn-autodiff (the Ising
//! kernel net's and the toy's MLP's training steps): a layer's weights without autodiff, its
//! forward product, and its gradients registered by parameter id. Recorded, every operation of
//! a step takes burn-autodiff's one process-wide lock, on which the two halves of a split step
//! queue (ARCHITECTURE.md, "Threads"); written out, a step is plain backend operations.

use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::prelude::*;

/// A linear layer's weight and bias, without autodiff (`[d_in, d_out]`, `[d_out]`).
pub fn weights(linear: &Linear) -> (Tensor<2>, Tensor<1>) {
    let bias = linear.bias.as_ref().expect("the layers have biases");
    (linear.weight.val().inner(), bias.val().inner())
}

/// `x @ w + b` for rows `x` (`[rows, d_in]`).
pub fn affine(x: Tensor<2>, (w, b): &(Tensor<2>, Tensor<1>)) -> Tensor<2> {
    x.matmul(w.clone()) + b.clone().unsqueeze::<2>()
}

/// Registers the gradients of `linear`'s weight and bias, given its input rows `x` and the
/// gradient `d` of the loss with respect to its output rows: `xᵀ d` and `d` summed over rows.
pub fn register(grads: &mut GradientsParams, linear: &Linear, x: Tensor<2>, d: Tensor<2>) {
    let bias = linear.bias.as_ref().expect("the layers have biases");
    let outputs = d.dims()[1];
    grads.register(bias.id, d.clone().sum_dim(0).reshape([outputs]));
    grads.register(linear.weight.id, x.transpose().matmul(d));
}
