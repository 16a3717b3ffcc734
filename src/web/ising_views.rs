//! Drawing the Ising view: configuration grids, forward and reverse runs as spins × time
//! images, |M| and energy histograms against the exact ones, the loss.

use web_sys::HtmlCanvasElement;

use super::plot::{colors, raster, tiles, Figure, Panel};
use super::ui::Ui;
use super::util::element;
use crate::models::ising::lab::IsingLab;
use crate::models::ising::lattice::{L, SITES};
use crate::session::Session;

const UP: [u8; 3] = [29, 35, 48];
const DOWN: [u8; 3] = [233, 236, 239];
const GAP: [u8; 3] = [255, 255, 255];
const TRAIN_BARS: &str = "rgba(43,138,62,0.35)";
const GEN_BARS: &str = "rgba(214,51,108,0.55)";

fn figure(id: &str) -> Option<Figure> {
    element::<HtmlCanvasElement>(id).and_then(|c| Figure::new(&c))
}

fn spin_color(v: f32) -> [u8; 3] {
    if v > 0.5 {
        UP
    } else if v < -0.5 {
        DOWN
    } else {
        GAP
    }
}

/// Draws every Ising plot and the status line.
pub fn draw_all(app: &Session, _ui: &mut Ui) {
    let Some(s) = app.ising.as_ref() else { return };
    draw_configs(s);
    draw_runs(s);
    draw_histograms(s);
    draw_loss(s);
    status(app);
}

fn status(app: &Session) {
    let Some(s) = app.ising.as_ref() else { return };
    let metric = match &s.live.learned {
        Some(l) => format!("|M| {:.3} · E {:.3}", l.tv.0, l.tv.1),
        None => "–".into(),
    };
    super::views::header_stats(
        app,
        s.steps(),
        &s.live.losses,
        s.live.pace.steps_per_sec,
        "TV to exact",
        &metric,
    );
}

/// `count` configurations tiled `cols` per row with one-cell gaps, as a raster.
fn grid_raster(configs: &[i8], count: usize, cols: usize) -> Option<(HtmlCanvasElement, f64)> {
    let values: Vec<f32> = configs.iter().map(|&v| v as f32).collect();
    let (v, w, h) = tiles(&values, L, L, count, cols);
    raster(&v, w, h, &spin_color).map(|c| (c, w as f64 / h as f64))
}

fn draw_configs(s: &IsingLab) {
    let Some(fig) = figure("c-ising-configs") else {
        return;
    };
    let (count, cols) = (24, 6);
    if let Some((img, aspect)) = grid_raster(&s.data, count, cols) {
        let p = fig.aspect_panel((0.0, 0.0, 0.5, 1.0), aspect);
        p.title(&format!(
            "Training data: Gibbs samples at β = {} (Figure 6)",
            s.config.beta
        ));
        p.image_sharp(&img);
    }
    match &s.live.learned {
        Some(l) => {
            if let Some((img, aspect)) = grid_raster(&l.samples, count, cols) {
                let p = fig.aspect_panel((0.5, 0.0, 1.0, 1.0), aspect);
                p.title(&format!("Generated after {} steps (Figure 8)", l.steps));
                p.image_sharp(&img);
            }
        }
        None => {
            let p = fig.panel((0.5, 0.0, 1.0, 1.0), (0.0, 1.0), (0.0, 1.0));
            p.title("Generated configurations appear after the first training steps");
        }
    }
}

/// A run as a spins × time image: x = step, y = spin index.
fn run_panel(fig: &Figure, frac: (f64, f64, f64, f64), states: &[Vec<i8>], title: &str, xl: &str) {
    if states.is_empty() {
        return;
    }
    let cols = states.len();
    let mut v = vec![0.0f32; cols * SITES];
    for (k, st) in states.iter().enumerate() {
        for (i, &sp) in st.iter().enumerate() {
            // Row 0 of the raster is the bottom, as on the axis.
            v[i * cols + k] = sp as f32;
        }
    }
    let p = fig.panel(frac, (-0.5, cols as f64 - 0.5), (-0.5, SITES as f64 - 0.5));
    if let Some(img) = raster(&v, cols, SITES, &spin_color) {
        p.image_sharp(&img);
    }
    p.axes(title, xl, "spin (row-major 8×8)");
}

fn draw_runs(s: &IsingLab) {
    let Some(fig) = figure("c-ising-runs") else {
        return;
    };
    run_panel(
        &fig,
        (0.0, 0.0, 0.5, 1.0),
        &s.forward_run,
        &format!(
            "Forward: each step flips each spin with prob. r = {}",
            s.config.r
        ),
        "step t",
    );
    match &s.live.learned {
        Some(l) => {
            let states: Vec<Vec<i8>> = l.reverse_run.iter().map(|(_, x)| x.clone()).collect();
            run_panel(
                &fig,
                (0.5, 0.0, 1.0, 1.0),
                &states,
                "Reverse: learned kernel from uniform spins (Fig. 7)",
                "reverse step",
            );
        }
        None => {
            let p = fig.panel((0.5, 0.0, 1.0, 1.0), (0.0, 1.0), (0.0, 1.0));
            p.title("The reverse run appears after the first training steps");
        }
    }
}

/// Bars of `p` over `values` (bin centres, equally spaced).
fn bars_at(p: &Panel, values: &[f64], probs: &[f64], fill: &str) {
    if values.len() < 2 {
        return;
    }
    let w = values[1] - values[0];
    let edges: Vec<f64> = values
        .iter()
        .map(|v| v - w / 2.0)
        .chain(std::iter::once(values[values.len() - 1] + w / 2.0))
        .collect();
    p.bars(&edges, probs, fill);
}

fn draw_histograms(s: &IsingLab) {
    let Some(fig) = figure("c-ising-hist") else {
        return;
    };
    // |M| = k / 32.
    let half = SITES / 2;
    let m_values: Vec<f64> = (0..=half).map(|k| k as f64 / half as f64).collect();
    let exact_m = s.exact.p_abs_m();
    // E / spins = (4k − 2·SITES) / SITES for level k = u/2.
    let e_values: Vec<f64> = (0..=SITES)
        .map(|k| (4.0 * k as f64 - 2.0 * SITES as f64) / SITES as f64)
        .collect();
    let exact_e = s.exact.p_energy_levels();
    let learned = s.live.learned.as_ref();
    for (k, (values, exact, train, gen, title, xl, tv)) in [
        (
            &m_values,
            &exact_m,
            &s.data_stats.abs_m,
            learned.map(|l| &l.stats.abs_m),
            "Magnetisation |M| (Figure 9)",
            "|M| = |Σ sᵢ| / 64",
            learned.map(|l| l.tv.0),
        ),
        (
            &e_values,
            &exact_e,
            &s.data_stats.energy,
            learned.map(|l| &l.stats.energy),
            "Energy per spin",
            "E / 64 = −Σ⟨ij⟩ sᵢsⱼ / 64",
            learned.map(|l| l.tv.1),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        // Show the range where any of the three has mass.
        let mass = |i: usize| exact[i] > 2e-4 || train[i] > 0.0 || gen.is_some_and(|g| g[i] > 0.0);
        let lo = (0..values.len()).find(|&i| mass(i)).unwrap_or(0);
        let hi = (0..values.len())
            .rev()
            .find(|&i| mass(i))
            .unwrap_or(values.len() - 1);
        let w = values[1] - values[0];
        let top = exact
            .iter()
            .chain(train.iter())
            .chain(gen.into_iter().flatten())
            .cloned()
            .fold(0.0, f64::max)
            * 1.2;
        let frac = if k == 0 {
            (0.0, 0.0, 0.5, 1.0)
        } else {
            (0.5, 0.0, 1.0, 1.0)
        };
        let p = fig.panel(frac, (values[lo] - w, values[hi] + w), (0.0, top.max(1e-3)));
        p.axes(title, xl, "probability");
        bars_at(&p, values, train, TRAIN_BARS);
        if let Some(g) = gen {
            bars_at(&p, values, g, GEN_BARS);
        }
        // The exact distribution as a line through its points.
        let (xs, ys): (Vec<f64>, Vec<f64>) = values
            .iter()
            .zip(exact.iter())
            .skip(lo)
            .take(hi + 1 - lo)
            .map(|(a, b)| (*a, *b))
            .unzip();
        p.line(&xs, &ys, colors::EXACT, 2.0, false);
        let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let ys32: Vec<f32> = ys.iter().map(|&v| v as f32).collect();
        p.points(&xs32, &ys32, colors::EXACT, 4.0);
        let n_gen = learned.map(|l| l.stats.n).unwrap_or(0);
        if k == 0 {
            // Below the readouts in the top-left corner (a narrow panel puts them side by
            // side), above the exact curve's tail.
            p.legend_at(
                &[
                    ("exact (transfer matrix)", colors::EXACT, false),
                    ("training set", "rgba(43,138,62,0.6)", false),
                    (&format!("generated ({n_gen})"), colors::LEARNED, false),
                ],
                0.3,
            );
        }
        if let Some(tv) = tv {
            p.badge(&format!("TV to exact = {tv:.3}"));
        }
        if k == 1 {
            let corr = |v: f64| format!("{v:.3}");
            let gen = learned
                .map(|l| format!("generated {} · ", corr(l.stats.nn_correlation)))
                .unwrap_or_default();
            p.badge_at(
                1,
                &format!(
                    "⟨sᵢsⱼ⟩: {gen}exact {} · data {}",
                    corr(s.exact.nn_correlation()),
                    corr(s.data_stats.nn_correlation)
                ),
            );
        }
    }
}

fn draw_loss(s: &IsingLab) {
    if let Some(fig) = figure("c-ising-loss") {
        fig.loss_curve(
            &s.live.losses,
            "Training loss: cross-entropy per spin (nats)",
        );
    }
}
