//! A small U-Net for 28×28 images (Ronneberger et al. 2015, in the form Ho et al. 2020 use for
//! diffusion): residual blocks of group norm → activation (SiLU, or the soft SiLU:
//! [`Activation`]) → 3×3 convolution, the time embedding added
//! inside every block, a strided convolution down per level, a transposed convolution up, and
//! skip connections concatenated on the way up. Sized to train in a browser tab: one or two
//! levels below full resolution, a few channels.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::nn::Activation;

/// Shape of the U-Net.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnetConfig {
    /// Channels at full resolution; each level below doubles them.
    pub channels: usize,
    /// Levels below full resolution: 1 (28 → 14) or 2 (28 → 14 → 7).
    pub levels: usize,
    /// Width of the time-embedding input (sin and cos features).
    pub time_features: usize,
    /// The nonlinearity after every group norm and in the time embedding's MLP.
    pub activation: Activation,
}

/// Group count for `channels` channels: the most groups (up to 8) that divide the channels
/// into groups of at least 2.
fn groups(channels: usize) -> usize {
    (1..=8)
        .rev()
        .find(|g| channels % g == 0 && channels / g >= 2)
        .unwrap_or(1)
}

fn conv3(channels_in: usize, channels_out: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([channels_in, channels_out], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// `x + conv(act(GN(conv(act(GN(x))) + time))))`, with a 1×1 convolution on the skip path
/// when the channel count changes.
#[derive(Module, Debug)]
pub struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    time: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
    #[module(skip)]
    activation: Activation,
}

impl ResBlock {
    fn new(
        channels_in: usize,
        channels_out: usize,
        embed: usize,
        activation: Activation,
        device: &Device,
    ) -> Self {
        let skip = (channels_in != channels_out)
            .then(|| Conv2dConfig::new([channels_in, channels_out], [1, 1]).init(device));
        ResBlock {
            norm1: GroupNormConfig::new(groups(channels_in), channels_in).init(device),
            conv1: conv3(channels_in, channels_out, 1, device),
            time: LinearConfig::new(embed, channels_out).init(device),
            norm2: GroupNormConfig::new(groups(channels_out), channels_out).init(device),
            conv2: conv3(channels_out, channels_out, 1, device),
            skip,
            activation,
        }
    }

    /// `x: [b, c_in, h, w]`, `embed: [b, e]` → `[b, c_out, h, w]`.
    fn forward(&self, x: Tensor<4>, embed: Tensor<2>) -> Tensor<4> {
        let h = self
            .conv1
            .forward(self.activation.forward(self.norm1.forward(x.clone())));
        let [b, c, _, _] = h.dims();
        let h = h + self.time.forward(embed).reshape([b, c, 1, 1]);
        let h = self
            .conv2
            .forward(self.activation.forward(self.norm2.forward(h)));
        let skip = match &self.skip {
            Some(conv) => conv.forward(x),
            None => x,
        };
        skip + h
    }
}

/// One level: a block at this resolution, then a strided convolution down.
#[derive(Module, Debug)]
struct Down {
    block: ResBlock,
    down: Conv2d,
}

/// One level on the way up: a transposed convolution up, the skip concatenated, a block.
#[derive(Module, Debug)]
struct Up {
    up: ConvTranspose2d,
    block: ResBlock,
}

/// The noise-prediction network `eps_theta(x_t, t)` for `[b, 1, 28, 28]` images.
#[derive(Module, Debug)]
pub struct Unet {
    time1: Linear,
    time2: Linear,
    input: Conv2d,
    downs: Vec<Down>,
    middle: ResBlock,
    ups: Vec<Up>,
    out_norm: GroupNorm,
    output: Conv2d,
    #[module(skip)]
    activation: Activation,
}

impl UnetConfig {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> Unet {
        let c = self.channels;
        let embed = 4 * c;
        let mut downs = Vec::new();
        let mut ups = Vec::new();
        let mut width = c;
        for _ in 0..self.levels {
            downs.push(Down {
                block: ResBlock::new(width, width, embed, self.activation, device),
                down: conv3(width, 2 * width, 2, device),
            });
            width *= 2;
        }
        for _ in 0..self.levels {
            // Up from `width` channels to `width / 2`, concatenated with the skip (`width / 2`).
            ups.push(Up {
                up: ConvTranspose2dConfig::new([width, width / 2], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
                block: ResBlock::new(width, width / 2, embed, self.activation, device),
            });
            width /= 2;
        }
        Unet {
            time1: LinearConfig::new(self.time_features, embed).init(device),
            time2: LinearConfig::new(embed, embed).init(device),
            input: conv3(1, c, 1, device),
            downs,
            middle: ResBlock::new(
                c << self.levels,
                c << self.levels,
                embed,
                self.activation,
                device,
            ),
            ups,
            out_norm: GroupNormConfig::new(groups(c), c).init(device),
            output: conv3(c, 1, 1, device),
            activation: self.activation,
        }
    }

    /// Number of trainable parameters.
    pub fn parameters(&self) -> usize {
        self.init(&Device::flex()).num_params()
    }
}

impl Unet {
    /// The nonlinearity the network was built with.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// `x: [b, 1, 28, 28]`, `time: [b, time_features]` → predicted noise `[b, 1, 28, 28]`.
    pub fn forward(&self, x: Tensor<4>, time: Tensor<2>) -> Tensor<4> {
        let embed = self
            .time2
            .forward(self.activation.forward(self.time1.forward(time)));
        let mut h = self.input.forward(x);
        let mut skips = Vec::with_capacity(self.downs.len());
        for level in &self.downs {
            h = level.block.forward(h, embed.clone());
            skips.push(h.clone());
            h = level.down.forward(h);
        }
        h = self.middle.forward(h, embed.clone());
        for level in &self.ups {
            let skip = skips.pop().expect("one skip per level");
            h = level.up.forward(h);
            h = level
                .block
                .forward(Tensor::cat(vec![h, skip], 1), embed.clone());
        }
        self.output
            .forward(self.activation.forward(self.out_norm.forward(h)))
    }
}
