//! Sinusoidal time embeddings (Vaswani et al. 2017, as used for diffusion by Ho et al. 2020).

/// Writes `[sin(w_k tau), cos(w_k tau)]` for `k < freqs` into `out` (length `2 freqs`),
/// with `tau` the time normalised to `[0, 1]` and frequencies spaced geometrically from 1 to
/// `max_freq` (in radians per unit of normalised time). A small MLP sees low frequencies for the
/// slow global change of the score with time and high ones for its fast change near t = 0.
pub fn sinusoidal(tau: f32, freqs: usize, max_freq: f32, out: &mut [f32]) {
    debug_assert_eq!(out.len(), 2 * freqs);
    for k in 0..freqs {
        let w = if freqs > 1 {
            max_freq.powf(k as f32 / (freqs - 1) as f32)
        } else {
            1.0
        };
        out[k] = (w * tau).sin();
        out[freqs + k] = (w * tau).cos();
    }
}
