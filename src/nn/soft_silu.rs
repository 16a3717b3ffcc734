//! The soft SiLU `½(x + x²/(1 + |x|))` as one operation with its own derivative.
//!
//! Written as tensor arithmetic it is six operations (`x·x`, `|x|`, `+1`, `÷`, `+`, `·½`). In
//! training each is a node of burn-autodiff's graph, and every node takes burn-autodiff's
//! process-wide graph lock: on two threads the halves of a step wait for each other there
//! (ARCHITECTURE.md, "Threads"). Here it is one node whose backward is written out,
//! `grad · ½(1 + x(2 + |x|)/(1 + |x|)²)`, and on the CPU backend (`Flex`) the forward and the
//! backward are each one pass over the data instead of six and eight.
//!
//! A burn backend extension (`#[backend_extension]`): the trait's default bodies compose burn's
//! own operations, which the GPU backend (`Cube`: WebGPU, native wgpu) uses as they are; `Flex`
//! overrides them with the single pass; `Autodiff` records the one node.

use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{unary, Backward, Ops, OpsKind},
    Autodiff,
};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex};
use burn::tensor::{DType, Shape, Tensor, TensorData};

/// The soft SiLU and its derivative as backend operations.
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "webgpu", not(target_arch = "wasm32"))),
    Autodiff
)]
pub trait SoftSiluBackend: Backend {
    /// `½(x + x²/(1 + |x|))`, element-wise.
    fn soft_silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        soft_silu_composed::<Self>(x)
    }

    /// `grad · ½(1 + x(2 + |x|)/(1 + |x|)²)`: the gradient through [`soft_silu`] at `x`.
    ///
    /// [`soft_silu`]: SoftSiluBackend::soft_silu
    fn soft_silu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        soft_silu_backward_composed::<Self>(x, grad)
    }
}

/// The soft SiLU of one value (the CPU backend's pass, and the tests' reference).
#[inline]
fn soft_silu_scalar(x: f32) -> f32 {
    0.5 * (x + x * x / (1.0 + x.abs()))
}

/// Its derivative at one value.
#[inline]
fn soft_silu_slope(x: f32) -> f32 {
    let denominator = 1.0 + x.abs();
    0.5 * (1.0 + x * (2.0 + x.abs()) / (denominator * denominator))
}

/// The f32 values of a CPU tensor in row-major order, copying only a strided one.
fn contiguous_f32(tensor: &FlexTensor) -> Option<FlexTensor> {
    if tensor.dtype() != DType::F32 {
        return None;
    }
    Some(if tensor.as_slice::<f32>().is_some() {
        tensor.clone()
    } else {
        tensor.to_contiguous()
    })
}

impl SoftSiluBackend for Flex {
    fn soft_silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let Some(x) = contiguous_f32(&x) else {
            return soft_silu_composed::<Self>(x);
        };
        let shape: Shape = x.layout().shape().clone();
        let values = x.as_slice::<f32>().expect("contiguous f32");
        let out: Vec<f32> = values.iter().map(|&v| soft_silu_scalar(v)).collect();
        FlexTensor::from_data(TensorData::new(out, shape))
    }

    fn soft_silu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let (Some(x), Some(grad)) = (contiguous_f32(&x), contiguous_f32(&grad)) else {
            return soft_silu_backward_composed::<Self>(x, grad);
        };
        assert_eq!(
            x.layout().shape(),
            grad.layout().shape(),
            "soft SiLU gradient shape"
        );
        let shape: Shape = x.layout().shape().clone();
        let values = x.as_slice::<f32>().expect("contiguous f32");
        let grads = grad.as_slice::<f32>().expect("contiguous f32");
        let out: Vec<f32> = values
            .iter()
            .zip(grads)
            .map(|(&v, &g)| g * soft_silu_slope(v))
            .collect();
        FlexTensor::from_data(TensorData::new(out, shape))
    }
}

/// The forward from burn's own operations (the trait's default; `Flex` falls back to it for
/// dtypes other than f32).
fn soft_silu_composed<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let denominator = B::float_add_scalar(B::float_abs(x.clone()), 1.0.into());
    let square = B::float_mul(x.clone(), x.clone());
    let sum = B::float_add(x, B::float_div(square, denominator));
    B::float_mul_scalar(sum, 0.5.into())
}

/// The backward from burn's own operations, likewise.
fn soft_silu_backward_composed<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let magnitude = B::float_abs(x.clone());
    let denominator = B::float_add_scalar(magnitude.clone(), 1.0.into());
    let numerator = B::float_mul(x, B::float_add_scalar(magnitude, 2.0.into()));
    let ratio = B::float_div(numerator, B::float_mul(denominator.clone(), denominator));
    let slope = B::float_mul_scalar(B::float_add_scalar(ratio, 1.0.into()), 0.5.into());
    B::float_mul(grad, slope)
}

#[cfg(any(feature = "webgpu", not(target_arch = "wasm32")))]
impl SoftSiluBackend for burn::backend::Cube {}

impl<B: SoftSiluBackend, C: CheckpointStrategy> SoftSiluBackend for Autodiff<B, C> {
    fn soft_silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SoftSiluNode;

        impl<B: SoftSiluBackend> Backward<B, 1> for SoftSiluNode {
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let input = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::soft_silu_backward(input, grad)
                });
            }
        }

        match SoftSiluNode
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                prep.finish(input.clone(), B::soft_silu(input))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::soft_silu(x.into_primitive())),
        }
    }
}

/// The soft SiLU of a tensor on any device, recorded as one operation when gradients are.
pub fn soft_silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as SoftSiluBackend>::soft_silu(x.into_dispatch()))
}

/// `grad` through the soft SiLU at `x` (what its recorded node does in the backward pass), for
/// a backward pass written out ([`crate::models::ising::net::IsingNet::loss_and_grads`]).
pub fn soft_silu_backward<const D: usize>(x: Tensor<D>, grad: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as SoftSiluBackend>::soft_silu_backward(
        x.into_dispatch(),
        grad.into_dispatch(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    /// Points on both sides of 0, large and small, as a `[rows, cols]` tensor.
    fn points(device: &Device) -> Tensor<2> {
        let values: Vec<f32> = (0..24).map(|k| (k as f32 - 11.5) * 0.37).collect();
        Tensor::<1>::from_floats(values.as_slice(), device).reshape([4, 6])
    }

    fn close(a: Tensor<2>, b: Tensor<2>, tolerance: f32) {
        let (a, b) = (
            a.into_data().try_to_vec::<f32>().unwrap(),
            b.into_data().try_to_vec::<f32>().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!((x - y).abs() <= tolerance, "element {k}: {x} vs {y}");
        }
    }

    /// The one-node operation against the same function written as burn's own tensor
    /// arithmetic (which burn-autodiff differentiates itself): values and gradients, for a
    /// contiguous and a transposed (strided) input, on the CPU backend.
    #[test]
    fn matches_the_composed_arithmetic_and_its_gradient() {
        let device = Device::flex().autodiff();
        for transposed in [false, true] {
            let prepare = |x: Tensor<2>| if transposed { x.transpose() } else { x };
            let x = points(&device).require_grad();
            let custom = soft_silu(prepare(x.clone()));
            let y = points(&device).require_grad();
            let yp = prepare(y.clone());
            let composed = (yp.clone() + yp.clone() * yp.clone() / (yp.abs() + 1.0)) * 0.5;
            close(custom.clone().inner(), composed.clone().inner(), 1e-6);
            // A weighting that differs per element, so that a transposed gradient would show.
            let weights = Tensor::<1>::from_floats(
                (0..24)
                    .map(|k| 1.0 + k as f32 / 10.0)
                    .collect::<Vec<_>>()
                    .as_slice(),
                &device,
            )
            .reshape(custom.dims());
            let gx = (custom * weights.clone()).sum().backward();
            let gy = (composed * weights).sum().backward();
            close(x.grad(&gx).unwrap(), y.grad(&gy).unwrap(), 1e-5);
        }
    }

    /// The derivative is the function's slope: central differences in f64.
    #[test]
    fn the_slope_is_the_derivative() {
        let f = |x: f64| 0.5 * (x + x * x / (1.0 + x.abs()));
        for k in -400..=400 {
            let x = k as f64 * 0.025 + 0.0125;
            let h = 1e-5;
            let numeric = (f(x + h) - f(x - h)) / (2.0 * h);
            let slope = soft_silu_slope(x as f32) as f64;
            assert!(
                (numeric - slope).abs() < 1e-5,
                "x = {x}: {numeric} vs {slope}"
            );
            assert!((f(x) - soft_silu_scalar(x as f32) as f64).abs() < 1e-5);
        }
        // Its shape: SiLU-like, a small dip below zero, ≈ x far right, ≈ 0 far left.
        assert!(soft_silu_scalar(-0.5) < 0.0 && soft_silu_scalar(-0.5) > -0.2);
        assert!((soft_silu_scalar(1000.0) - 1000.0).abs() < 0.51);
        assert!(soft_silu_scalar(-1000.0).abs() < 0.51);
    }

    /// Without gradients (sampling) the operation records nothing and still computes.
    #[test]
    fn works_on_plain_tensors() {
        let device = Device::flex();
        let x = points(&device);
        let expected: Vec<f32> = x
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(soft_silu_scalar)
            .collect();
        let got = soft_silu(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(got, expected);
    }
}
