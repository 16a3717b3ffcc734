//! Drawing the MNIST view: training and generated digits, each generated digit beside its
//! nearest training digit, the progressive denoising strip, the loss.

use super::outbox::set_text;
use super::plot::{describe, figure, raster, tiles, Figure};
use super::ui::Ui;
use crate::models::mnist::data::{PIXELS, SIDE};
use crate::models::mnist::lab::{MnistLab, CLASSIFIER_STEPS};
use crate::session::Session;

/// Pixel intensity in `[0, 1]` → white ink on a dark slate; gaps in the page colour.
fn ink(v: f32) -> [u8; 3] {
    if !v.is_finite() {
        return [255, 255, 255];
    }
    let v = v.clamp(0.0, 1.0);
    let lerp = |a: f32, b: f32| (a + (b - a) * v).round() as u8;
    [lerp(22.0, 255.0), lerp(27.0, 255.0), lerp(38.0, 255.0)]
}

/// Draws `count` images (`[0, 1]` pixels) tiled `cols` per row into a fraction of `fig`, under
/// `title`, with `caption` beneath; `step`: the network's, kept beneath if the title drops it.
fn digits_panel(
    fig: &Figure,
    frac: (f64, f64, f64, f64),
    images: &[f32],
    count: usize,
    cols: usize,
    title: &str,
    caption: Option<&str>,
    step: Option<u64>,
) {
    let (v, w, h) = tiles(images, SIDE, SIDE, count, cols);
    if let Some(img) = raster(&v, w, h, &ink) {
        let p = fig.image_panel(frac, w as f64 / h as f64);
        // The network's step goes under the digits where the title had to drop it (a 720p
        // slide), the sampler after it as its detail (the slide's controls show the sampler).
        let step = step.map(|n| (n.to_string(), format!("step {n}")));
        p.title_keeping(
            title,
            step.as_ref().map(|(n, kept)| (n.as_str(), kept.as_str())),
            caption,
        );
        p.image_sharp(&img);
    }
}

/// Draws every MNIST plot and the status line.
pub fn draw_all(app: &Session, _ui: &mut Ui) {
    let Some(s) = app.mnist.as_ref() else {
        super::views::messages(app);
        return;
    };
    draw_digits(app, s);
    draw_nearest(s);
    draw_strip(s);
    if let Some(fig) = figure("c-mnist-loss") {
        fig.loss_curve(
            &s.live.losses,
            "Training loss: mean |ε̂ − ε|² per pixel",
            false,
        );
    }
    status(app, s);
}

fn status(app: &Session, s: &MnistLab) {
    let metric = s
        .live
        .learned
        .as_ref()
        .and_then(|l| l.mean_nearest())
        .map(|d| format!("{d:.2}"))
        .unwrap_or_else(|| "–".into());
    let clf = if app.settings.digit.is_some() {
        let k = s.classifier_steps();
        if k < CLASSIFIER_STEPS {
            format!("training the guidance classifier: {k} / {CLASSIFIER_STEPS} steps")
        } else {
            format!(
                "guidance classifier trained ({CLASSIFIER_STEPS} steps, loss {:.3})",
                s.classifier_loss
            )
        }
    } else {
        "no guidance (choose a digit to guide toward it)".into()
    };
    set_text("mnist-classifier", &clf);
    super::views::header_stats(
        app,
        s.steps(),
        &s.live.losses,
        s.live.pace.steps_per_sec,
        "distance to nearest training digit",
        &metric,
    );
}

/// What a learned view that has nothing to show yet waits for: the pretrained network on its
/// way in, the first samples of a network that has arrived (or trained), else the first
/// training steps (`appears`: "they appear").
fn waiting(s: &MnistLab, appears: &str) -> String {
    if s.fetching_pretrained {
        "loading the pretrained network…".into()
    } else if s.live.snapshot.is_some() {
        format!(
            "sampling from the network of step {}…",
            s.live.snapshot_steps
        )
    } else {
        format!("{appears} after the first training steps")
    }
}

fn draw_digits(app: &Session, s: &MnistLab) {
    let Some(fig) = figure("c-mnist-digits") else {
        return;
    };
    let Some(data) = s.data.as_ref() else {
        fig.note(
            s.load_error
                .as_deref()
                .unwrap_or("loading the 2,000 training digits…"),
        );
        return;
    };
    // Each grid in whichever rows draw its digits largest in its half of the figure (the
    // training digits' last row filled).
    let (cols, shown) = fig.grid((0.0, 0.0, 0.5, 1.0), 36, (SIDE, SIDE), true);
    digits_panel(
        &fig,
        (0.0, 0.0, 0.5, 1.0),
        &data.pixels,
        shown,
        cols,
        &format!("Training digits ({shown} of {})", data.len()),
        None,
        None,
    );
    match &s.live.learned {
        Some(l) => {
            let what = match l.digit {
                Some(d) => format!(" — guided to {d} (scale {})", app.settings.guidance),
                None => String::new(),
            };
            digits_panel(
                &fig,
                (0.5, 0.0, 1.0, 1.0),
                &l.samples,
                16,
                fig.grid((0.5, 0.0, 1.0, 1.0), 16, (SIDE, SIDE), false).0,
                &format!("Generated — after {} steps{what}", l.steps),
                // The sampler under the digits: in the title it shrank the title to a third
                // of its neighbour's size, and cut it in presenter mode.
                Some(&format!(
                    "{} ({} steps)",
                    l.sampler.label(),
                    l.sampler_steps
                )),
                Some(l.steps),
            );
        }
        None => {
            let p = fig.panel((0.5, 0.0, 1.0, 1.0), (0.0, 1.0), (0.0, 1.0));
            p.title(&format!("Generated digits — {}", waiting(s, "they appear")));
        }
    }
    let learned = s.live.learned.as_ref();
    describe(
        "c-mnist-digits",
        &format!(
            "{shown} of the {} training digits{}",
            data.len(),
            learned
                .map(|l| format!(
                    ", beside 16 digits generated after {} steps with {} in {} steps{}",
                    l.steps,
                    l.sampler.label(),
                    l.sampler_steps,
                    l.digit
                        .map(|d| format!(", guided toward {d}"))
                        .unwrap_or_default()
                ))
                .unwrap_or_else(|| format!("; generated digits: {}", waiting(s, "they appear")))
        ),
        learned.map(|l| l.steps),
    );
}

/// Generated digit | nearest training digit pairs, with their distance.
fn draw_nearest(s: &MnistLab) {
    let Some(fig) = figure("c-mnist-nearest") else {
        return;
    };
    let (Some(l), Some(data)) = (s.live.learned.as_ref(), s.data.as_ref()) else {
        fig.note("each generated digit will appear beside its nearest training digit");
        describe(
            "c-mnist-nearest",
            "Generated digits beside their nearest training digits: none yet",
            None,
        );
        return;
    };
    // Eight pairs in one row on the page's wide figure, or all 16 in two to four rows on a
    // taller one (a slide): whichever draws the digits largest.
    let pair_aspect = (2 * SIDE + 1) as f64 / SIDE as f64;
    // Each row is a panel in its band of the figure: 30 units above it (the title), 44 below
    // (the distances), 70 beside it.
    let h = fig.height * 0.98;
    let all = l.nearest.len().min(16);
    let scale = |(rows, n): (usize, usize)| {
        let per_row = n.div_ceil(rows);
        let band = h / rows as f64 - 74.0;
        band.min((fig.width - 70.0) / (per_row as f64 * pair_aspect))
    };
    let (rows, n) = [(1, all.min(8)), (2, all), (3, all), (4, all)]
        .into_iter()
        .filter(|&(r, n)| r <= n)
        .max_by(|&a, &b| scale(a).total_cmp(&scale(b)))
        .unwrap_or((1, all));
    let per_row = n.div_ceil(rows).max(1);
    let ctx = &fig.ctx;
    for r in 0..rows {
        let first = r * per_row;
        let count = per_row.min(n.saturating_sub(first));
        if count == 0 {
            break;
        }
        let mut images = Vec::with_capacity(2 * count * PIXELS);
        for k in first..first + count {
            images.extend_from_slice(&l.samples[k * PIXELS..(k + 1) * PIXELS]);
            images.extend_from_slice(data.image(l.nearest[k].0));
        }
        // Every row as wide per pair as the first (a short last row is not stretched).
        let (v, w, th) = tiles(&images, SIDE, SIDE, 2 * count, 2 * per_row);
        let Some(img) = raster(&v, w, th, &ink) else {
            return;
        };
        let top = h * r as f64 / rows as f64 / fig.height;
        let bottom = h * (r + 1) as f64 / rows as f64 / fig.height;
        let p = fig.aspect_panel((0.0, top, 1.0, bottom), w as f64 / th as f64);
        if r == 0 {
            p.title(&format!(
                "Memorisation check — after {} steps — generated | nearest of the 2,000 training digits (pixel distance)",
                l.steps
            ));
        }
        p.image_sharp(&img);
        // Distances under each pair.
        ctx.set_fill_style_str(super::plot::colors::INK);
        ctx.set_font("600 13px system-ui, sans-serif");
        ctx.set_text_align("center");
        ctx.set_text_baseline("top");
        let pair_w = (p.px.1 - p.px.0) / per_row as f64;
        for k in 0..count {
            let x = p.px.0 + pair_w * (k as f64 + 0.5);
            let _ = ctx.fill_text(&format!("{:.2}", l.nearest[first + k].1), x, p.py.1 + 4.0);
        }
    }
    let shown = &l.nearest[..n];
    describe(
        "c-mnist-nearest",
        &format!(
            "{n} digits generated after {} steps, each beside its nearest training digit: pixel distances {:.2} to {:.2}",
            l.steps,
            shown.iter().map(|n| n.1 as f64).fold(f64::INFINITY, f64::min),
            shown.iter().map(|n| n.1 as f64).fold(0.0, f64::max)
        ),
        Some(l.steps),
    );
}

/// Rows: samples; columns: the reverse run at decreasing t.
fn draw_strip(s: &MnistLab) {
    let Some(fig) = figure("c-mnist-strip") else {
        return;
    };
    let Some(l) = s.live.learned.as_ref().filter(|l| !l.strip.is_empty()) else {
        fig.note(&waiting(s, "the denoising strip appears"));
        return;
    };
    let rows = l.strip[0].1.len() / PIXELS;
    let cols = l.strip.len();
    // Reorder into row-major tiles: sample r at time column c.
    let mut images = Vec::with_capacity(rows * cols * PIXELS);
    for r in 0..rows {
        for (_, x) in &l.strip {
            images.extend_from_slice(&x[r * PIXELS..(r + 1) * PIXELS]);
        }
    }
    let (v, w, h) = tiles(&images, SIDE, SIDE, rows * cols, cols);
    let Some(img) = raster(&v, w, h, &ink) else {
        return;
    };
    let p = fig.aspect_panel((0.0, 0.04, 1.0, 1.0), w as f64 / h as f64);
    p.title(&format!(
        "Progressive denoising — after {} steps — x_t from noise (left) to digit (right)",
        l.steps
    ));
    describe(
        "c-mnist-strip",
        &format!(
            "The reverse process of {rows} samples of the network after {} steps, from Gaussian noise at t = {:.2} to digits at t = {:.3}",
            l.steps,
            l.strip.first().map_or(1.0, |s| s.0),
            l.strip.last().map_or(0.0, |s| s.0)
        ),
        Some(l.steps),
    );
    p.image_sharp(&img);
    let ctx = &fig.ctx;
    ctx.set_fill_style_str(super::plot::colors::INK);
    ctx.set_font("12px system-ui, sans-serif");
    ctx.set_text_align("center");
    ctx.set_text_baseline("top");
    let col_w = (p.px.1 - p.px.0) / cols as f64;
    let label = |t: f64| {
        if t >= 0.1 {
            format!("{t:.2}")
        } else {
            format!("{t:.3}")
        }
    };
    // Every column's time if the labels fit side by side (small tiles, or zoomed text while
    // presenting: every other one, and so on).
    let widest = l
        .strip
        .iter()
        .map(|(t, _)| {
            ctx.measure_text(&label(*t))
                .map(|m| m.width())
                .unwrap_or(30.0)
        })
        .fold(0.0, f64::max);
    let every = ((widest + 6.0) / col_w).ceil().max(1.0) as usize;
    for (c, (t, _)) in l.strip.iter().enumerate() {
        if c % every != 0 {
            continue;
        }
        let x = p.px.0 + col_w * (c as f64 + 0.5);
        let _ = ctx.fill_text(&label(*t), x, p.py.1 + 4.0);
    }
    let _ = ctx.fill_text("t", p.px.0 - 14.0, p.py.1 + 4.0);
}
