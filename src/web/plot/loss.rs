//! The loss figure every model shows: the raw loss and its moving average over the steps; a
//! network that arrived trained starts it with one point, its loss measured on one batch.

use super::{colors, describe, Figure};

impl Figure {
    /// The loss curve (raw and smoothed) over training steps under `title`, or a note while
    /// there is none, and its text alternative; `log` puts it on a log scale (decades from the
    /// smallest positive loss). One point (a loaded network's measured loss) is drawn as a
    /// point, with a note that training continues the curve from it.
    pub fn loss_curve(&self, losses: &[(u64, f64)], title: &str, log: bool) {
        if losses.is_empty() {
            self.note("the loss curve appears while training");
            let text = format!("{title}: none yet (the curve appears while training)");
            describe(&self.id, &text, None);
            return;
        }
        let xs: Vec<f64> = losses.iter().map(|(k, _)| *k as f64).collect();
        let ys: Vec<f64> = losses.iter().map(|(_, l)| *l).collect();
        let one = ys.len() == 1;
        // An exponential moving average for a readable trend.
        let mut ema = Vec::with_capacity(ys.len());
        let mut m = ys[0];
        for &y in &ys {
            m = 0.9 * m + 0.1 * y;
            ema.push(m);
        }
        let hi = ys.iter().cloned().fold(0.0, f64::max);
        let y = if log {
            let lo = ys
                .iter()
                .cloned()
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min)
                .max(1e-8);
            let hi = hi.max(lo * 10.0);
            (
                10f64.powf(lo.log10().floor()),
                10f64.powf(hi.log10().ceil()),
            )
        } else if one {
            (0.0, 1.25 * hi.max(1e-8))
        } else {
            let lo = ys.iter().cloned().fold(f64::INFINITY, f64::min);
            let pad = 0.05 * (hi - lo).max(1e-3);
            (lo - pad, hi + pad)
        };
        // From step 0, or from the first recorded step when the curve starts late (after
        // loading weights trained for 1500 steps, not squeezed against the right edge); one
        // point sits right of the middle, where the curve will go on.
        let last = xs[xs.len() - 1];
        let x = if one {
            (0.0, (1.1 * last).max(1.0))
        } else {
            let first = if xs[0] > 0.1 * last { xs[0] } else { 0.0 };
            (first, last.max(first + 1.0))
        };
        let mut p = self.panel((0.0, 0.0, 1.0, 1.0), x, y);
        p.log_y = log;
        p.whole_x = true;
        p.axes(title, "step", "loss");
        let text = if one {
            p.points(&[last as f32], &[ys[0] as f32], colors::LEARNED, 7.0);
            self.note("the loaded network's loss on one batch; training continues the curve");
            format!(
                "{title}: the loaded network's loss at step {last}, {:.4} (one batch); the \
                 curve goes on from there while training",
                ys[0]
            )
        } else {
            p.line(&xs, &ys, "rgba(214,51,108,0.3)", 1.0, false);
            p.line(&xs, &ema, colors::LEARNED, 2.5, false);
            format!(
                "{title}, up to step {last}: last {:.4}, moving average {:.4}",
                ys[ys.len() - 1],
                ema[ema.len() - 1]
            )
        };
        describe(&self.id, &text, None);
    }
}
