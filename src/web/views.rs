//! Drawing every plot of the 1D toy from the app's snapshots.

use crate::run::Training;
use rand::rngs::StdRng;
use rand::SeedableRng;
use web_sys::HtmlCanvasElement;

use super::app::{density_histogram, App, FIELD_NT, FIELD_NX};
use super::plot::{colors, density_color_light, diverging_color, raster, Figure, Panel};
use super::util::{element, set_text};
use crate::diffusion::forward;
use crate::diffusion::schedule::T_MIN;
use crate::models::toy1d::mixture::{linspace, Component, Mixture, PairSource};

fn figure(id: &str) -> Option<Figure> {
    element::<HtmlCanvasElement>(id).and_then(|c| Figure::new(&c))
}

/// Redraws every plot and the status line.
pub fn draw_all(app: &mut App) {
    let e = &mut app.exact;
    if e.density_raster.is_none() {
        e.density_raster = raster(&e.density, e.density_nt, e.density_nx, &|v| {
            density_color_light(v.powf(0.7))
        });
    }
    draw_data(app);
    draw_forward(app);
    draw_terminal(app);
    draw_score(app);
    draw_field(app);
    draw_reverse(app);
    draw_samples(app);
    draw_loss(app);
    draw_schedule(app);
    status(app);
}

fn status(app: &App) {
    let steps = app
        .trainer
        .as_ref()
        .map(|t| t.steps())
        .unwrap_or(app.snapshot_steps);
    let metric = match &app.learned {
        Some(l) => format!("SDE {:.3} · ODE {:.3}", l.sde_w1, l.ode_w1),
        None => "–".into(),
    };
    header_stats(
        app,
        steps,
        &app.losses,
        app.pace.steps_per_sec,
        "W₁ to data",
        &metric,
    );
}

/// The header's figures (steps, last loss, speed, the model's quality metric) and the messages:
/// shared by every model's view.
pub fn header_stats(
    app: &App,
    steps: u64,
    losses: &[(u64, f64)],
    steps_per_sec: f64,
    metric_name: &str,
    metric: &str,
) {
    set_text("stat-steps", &steps.to_string());
    set_text(
        "stat-loss",
        &losses
            .last()
            .map(|(_, l)| format!("{l:.4}"))
            .unwrap_or_else(|| "–".into()),
    );
    let rate = match steps_per_sec {
        r if r <= 0.0 => "–".to_string(),
        r if r < 10.0 => format!("{r:.1} steps/s"),
        r => format!("{r:.0} steps/s"),
    };
    set_text("stat-rate", &rate);
    set_text("stat-metric", metric_name);
    set_text("stat-w1", metric);
    messages(app);
}

/// The play button's label and the messages box (errors, then notices): shared by every model.
pub fn messages(app: &App) {
    set_text(
        "play",
        if app.playing {
            "❚❚ Pause"
        } else {
            "▶ Train"
        },
    );
    let msg = app
        .error
        .clone()
        .into_iter()
        .chain(app.notices.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    set_text("messages", &msg);
    if let Some(e) = super::util::document().get_element_by_id("messages") {
        let _ = e.set_attribute(
            "data-kind",
            if app.error.is_some() {
                "error"
            } else {
                "notice"
            },
        );
        let _ = e.set_attribute("style", if msg.is_empty() { "display:none" } else { "" });
    }
}

fn range_pad(lo: f64, hi: f64) -> (f64, f64) {
    let pad = 0.05 * (hi - lo).max(1e-9);
    (lo - pad, hi + pad)
}

/// Mixtures with more components than this are drawn densities: no handles on their bins.
pub const MAX_HANDLES: usize = 8;

/// The components of `mixture` that get a handle on the data plot (to drag and scroll): those
/// of a typed or dragged mixture; none of a drawn density, which is edited by drawing over it.
pub fn handles(mixture: &Mixture) -> &[Component] {
    let all = mixture.components();
    if all.len() <= MAX_HANDLES {
        all
    } else {
        &[]
    }
}

fn draw_data(app: &mut App) {
    let Some(fig) = figure("c-data") else { return };
    let s = &app.settings;
    let xr = app.exact.x_range;
    let xs = linspace(xr.0, xr.1, 400);
    let dens: Vec<f64> = xs
        .iter()
        .map(|&x| app.mixture.density(&s.schedule, 0.0, x))
        .collect();
    let (edges, hist) = density_histogram(&app.exact.data_x0, xr);
    // Headroom above the peaks for the legend (it would hide the mode handles).
    let top = dens.iter().chain(&hist).cloned().fold(0.0, f64::max) * 1.4;
    let p = fig.panel((0.0, 0.0, 1.0, 1.0), xr, (0.0, top.max(1e-3)));
    p.axes("Data p₀(x) — drag a mode, or draw", "x", "density");
    p.bars(&edges, &hist, "rgba(43,138,62,0.28)");
    p.line(&xs, &dens, colors::EXACT, 2.5, false);
    for c in handles(&app.mixture) {
        let (x, y) = (
            p.sx(c.mean),
            p.sy(app.mixture.density(&s.schedule, 0.0, c.mean)),
        );
        fig.ctx.set_fill_style_str(colors::LEARNED);
        fig.ctx.begin_path();
        let _ = fig.ctx.arc(x, y, 6.0, 0.0, std::f64::consts::TAU);
        fig.ctx.fill();
    }
    p.legend(&[
        ("exact density", colors::EXACT, false),
        ("training x₀ (histogram)", "rgba(43,138,62,0.6)", false),
    ]);
    app.data_panel = Some(p.area());
}

/// The exact p(x, t) behind the forward and reverse paths (rasterised once per data change, in
/// `draw_all`).
fn heat_background(p: &Panel, app: &App) {
    if let Some(image) = &app.exact.density_raster {
        p.image(image);
    }
}

fn draw_forward(app: &App) {
    let Some(fig) = figure("c-forward") else {
        return;
    };
    let e = &app.exact;
    let t_max = app.settings.schedule.t_max();
    let p = fig.panel((0.0, 0.0, 1.0, 1.0), (0.0, t_max), e.x_range);
    heat_background(&p, app);
    p.paths(
        &e.forward_times,
        &e.forward_paths,
        "rgba(20,20,30,0.55)",
        1.0,
    );
    p.axes(
        &format!(
            "{} forward paths over the exact p(x, t) (each t scaled to its peak) — {}",
            e.forward_paths.len(),
            app.settings.schedule.label()
        ),
        "time t",
        "x",
    );
}

fn draw_terminal(app: &App) {
    let Some(fig) = figure("c-terminal") else {
        return;
    };
    let s = &app.settings.schedule;
    let xr = app.exact.x_range;
    let xs = linspace(xr.0, xr.1, 300);
    let t = s.t_max();
    let pt: Vec<f64> = xs.iter().map(|&x| app.mixture.density(s, t, x)).collect();
    let pv = s.prior_var();
    let prior: Vec<f64> = xs
        .iter()
        .map(|&x| (-0.5 * x * x / pv).exp() / (std::f64::consts::TAU * pv).sqrt())
        .collect();
    let top = pt.iter().chain(&prior).cloned().fold(0.0, f64::max) * 1.2;
    let p = fig.panel((0.0, 0.0, 1.0, 1.0), xr, (0.0, top));
    p.axes(&format!("Terminal marginal p_T at T = {t}"), "x", "density");
    let ends: Vec<f32> = app
        .exact
        .forward_paths
        .iter()
        .filter_map(|p| p.last().copied())
        .collect();
    let (edges, hist) = density_histogram(&ends, xr);
    p.bars(&edges, &hist, "rgba(29,35,48,0.15)");
    p.line(&xs, &pt, colors::EXACT, 2.5, false);
    p.line(&xs, &prior, colors::PRIOR, 2.5, true);
    let tv = total_variation(&pt, &prior, (xr.1 - xr.0) / 299.0);
    p.badge(&format!("TV(p_T, prior) = {tv:.4}"));
    p.legend(&[
        ("exact p_T", colors::EXACT, false),
        (&format!("prior N(0, {pv})"), colors::PRIOR, true),
    ]);
}

fn total_variation(a: &[f64], b: &[f64], dx: f64) -> f64 {
    0.5 * a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() * dx
}

fn draw_score(app: &App) {
    let Some(fig) = figure("c-score") else { return };
    let s = &app.settings.schedule;
    let xr = app.exact.x_range;
    let t = app.settings.t_view.clamp(T_MIN, s.t_max());
    let xs = linspace(xr.0, xr.1, 240);
    let exact: Vec<f64> = xs.iter().map(|&x| app.mixture.score(s, t, x)).collect();
    // Training pairs (x_t, target) at about this time, as in the tutorial's Figure 3.
    let (mut px, mut py) = (Vec::new(), Vec::new());
    match app.source.as_ref() {
        PairSource::Fixed { pairs } => {
            let tol = 0.5 * s.t_max() / 100.0 + 1e-9;
            for i in 0..pairs.t.len() {
                if (pairs.t[i] as f64 - t).abs() <= tol {
                    px.push(pairs.xt[i]);
                    py.push((-(pairs.eps[i] as f64) / s.sigma(pairs.t[i] as f64)) as f32);
                }
            }
        }
        PairSource::Fresh => {
            let mut rng = StdRng::seed_from_u64(app.settings.seed ^ 0x77);
            for _ in 0..400 {
                let x0 = app.mixture.sample(&mut rng);
                let (xt, eps) = forward::noise(s, x0, t, &mut rng);
                px.push(xt as f32);
                py.push((-eps / s.sigma(t)) as f32);
            }
        }
    }
    let ext = exact.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let yr = range_pad(-ext * 1.3 - 0.5, ext * 1.3 + 0.5);
    let p = fig.panel((0.0, 0.0, 1.0, 1.0), xr, yr);
    p.axes(
        &format!(
            "Score F(x, t) at t = {t:.3}: learned vs exact, over training pairs (x_t, target)"
        ),
        "x",
        "F(x, t)",
    );
    p.points(&px, &py, "rgba(43,138,62,0.35)", 3.0);
    p.line(&xs, &exact, colors::EXACT, 2.5, true);
    if let Some(l) = &app.learned {
        let learned: Vec<f64> = l.score_at_t.iter().map(|&v| v as f64).collect();
        p.line(&l.xs, &learned, colors::LEARNED, 2.5, false);
        p.badge(&format!(
            "network after {} steps (t = {:.3})",
            l.steps, l.t_view
        ));
    }
    p.legend(&[
        ("learned", colors::LEARNED, false),
        ("exact", colors::EXACT, true),
        ("training pairs", "rgba(43,138,62,0.7)", false),
    ]);
}

fn draw_field(app: &App) {
    let Some(fig) = figure("c-field") else { return };
    let s = &app.settings.schedule;
    let xr = app.exact.x_range;
    let tr = (T_MIN, s.t_max());
    let exact = &app.exact.score_field;
    // Colour scale: scores grow like 1/sigma^2 near t = 0; clip at a robust maximum.
    let mut mags: Vec<f32> = exact
        .iter()
        .map(|v| v.abs())
        .filter(|v| v.is_finite())
        .collect();
    mags.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let scale = mags
        .get(mags.len() * 9 / 10)
        .copied()
        .unwrap_or(1.0)
        .max(1e-3);
    let panels: [(&str, (f64, f64, f64, f64)); 3] = [
        ("learned score", (0.0, 0.0, 0.34, 1.0)),
        ("exact score", (0.33, 0.0, 0.67, 1.0)),
        ("learned − exact", (0.66, 0.0, 1.0, 1.0)),
    ];
    let learned = app.learned.as_ref().map(|l| &l.score_field);
    for (k, (title, frac)) in panels.iter().enumerate() {
        let p = fig.panel(*frac, tr, xr);
        let field: Option<Vec<f32>> = match k {
            0 => learned.cloned(),
            1 => Some(exact.clone()),
            _ => learned.map(|l| l.iter().zip(exact).map(|(a, b)| a - b).collect()),
        };
        match &field {
            Some(f) => p.heatmap(f, FIELD_NT, FIELD_NX, &|v| {
                diverging_color(v / scale as f32)
            }),
            None => {}
        }
        // Arrows: the probability-flow ODE's direction in the (t, x) plane, running backwards in
        // time: dt = -1, dx = -(f x - g^2 F / 2) — the paths of the reverse ODE follow them.
        if k < 2 {
            if let Some(f) = &field {
                let (ax, at) = (12usize, 12usize);
                let px_per_t = (p.px.1 - p.px.0) / (tr.1 - tr.0);
                let px_per_x = (p.py.1 - p.py.0) / (xr.1 - xr.0);
                for i in 0..ax {
                    for j in 0..at {
                        let xi = ((i as f64 + 0.5) / ax as f64 * (FIELD_NX - 1) as f64) as usize;
                        let tj = ((j as f64 + 0.5) / at as f64 * (FIELD_NT - 1) as f64) as usize;
                        let x = xr.0 + (xr.1 - xr.0) * xi as f64 / (FIELD_NX - 1) as f64;
                        let t = tr.0 + (tr.1 - tr.0) * tj as f64 / (FIELD_NT - 1) as f64;
                        let score = f[xi * FIELD_NT + tj] as f64;
                        let v = s.drift(t) * x - 0.5 * s.diffusion2(t) * score;
                        let (dx_px, dy_px) = (-px_per_t, v * px_per_x); // screen y grows downwards
                        let len = (dx_px * dx_px + dy_px * dy_px).sqrt().max(1e-9);
                        let l = 14.0;
                        if len.is_finite() {
                            p.arrow(t, x, dx_px / len * l, dy_px / len * l, "rgba(20,20,30,0.6)");
                        }
                    }
                }
            }
        }
        p.axes(title, "time t", "x");
        if field.is_none() {
            p.badge("training…");
        }
    }
}

fn draw_reverse(app: &App) {
    let Some(fig) = figure("c-reverse") else {
        return;
    };
    let s = &app.settings.schedule;
    let xr = app.exact.x_range;
    let tr = (0.0, s.t_max());
    let Some(l) = &app.learned else {
        fig.note("reverse paths appear after the first training steps");
        return;
    };
    let src = if l.exact_score {
        "exact score"
    } else {
        "learned score"
    };
    for (k, (label, paths, color)) in [
        (&l.sde_label, &l.sde_paths, "rgba(28,126,214,0.55)"),
        (&l.ode_label, &l.ode_paths, "rgba(232,89,12,0.6)"),
    ]
    .iter()
    .enumerate()
    {
        let frac = if k == 0 {
            (0.0, 0.0, 0.5, 1.0)
        } else {
            (0.5, 0.0, 1.0, 1.0)
        };
        let p = fig.panel(frac, tr, xr);
        heat_background(&p, app);
        p.paths(&l.reverse_times, paths, color, 1.0);
        p.axes(
            &format!("{label}, {src}"),
            "time t (integrated from T down to 0)",
            "x",
        );
    }
}

fn draw_samples(app: &App) {
    let Some(fig) = figure("c-samples") else {
        return;
    };
    let s = &app.settings.schedule;
    let xr = app.exact.x_range;
    let Some(l) = &app.learned else {
        fig.note("sample histograms appear after the first training steps");
        return;
    };
    let xs = linspace(xr.0, xr.1, 400);
    let dens: Vec<f64> = xs.iter().map(|&x| app.mixture.density(s, 0.0, x)).collect();
    for (k, (label, samples, w1, color)) in [
        (
            &l.sde_label,
            &l.sde_samples,
            l.sde_w1,
            "rgba(28,126,214,0.45)",
        ),
        (
            &l.ode_label,
            &l.ode_samples,
            l.ode_w1,
            "rgba(232,89,12,0.45)",
        ),
    ]
    .iter()
    .enumerate()
    {
        let (edges, hist) = density_histogram(samples, xr);
        // Headroom above the peaks for the W1 label.
        let top = dens.iter().chain(&hist).cloned().fold(0.0, f64::max) * 1.25;
        let frac = if k == 0 {
            (0.0, 0.0, 0.5, 1.0)
        } else {
            (0.5, 0.0, 1.0, 1.0)
        };
        let p = fig.panel(frac, xr, (0.0, top.max(1e-3)));
        p.axes(
            &format!("{} samples: {label}", samples.len()),
            "x",
            "density",
        );
        p.bars(&edges, &hist, color);
        p.line(&xs, &dens, colors::EXACT, 2.5, false);
        p.badge(&format!("W₁ to the true density = {w1:.4}"));
    }
}

fn draw_loss(app: &App) {
    let Some(fig) = figure("c-loss") else { return };
    if app.losses.len() < 2 {
        fig.note("the loss curve appears while training");
        return;
    }
    let xs: Vec<f64> = app.losses.iter().map(|(s, _)| *s as f64).collect();
    let ys: Vec<f64> = app.losses.iter().map(|(_, l)| *l).collect();
    // Exponential moving average for a readable trend.
    let mut ema = Vec::with_capacity(ys.len());
    let mut m = ys[0];
    for &y in &ys {
        m = 0.9 * m + 0.1 * y;
        ema.push(m);
    }
    let lo = ys
        .iter()
        .cloned()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min)
        .max(1e-8);
    let hi = ys.iter().cloned().fold(0.0, f64::max).max(lo * 10.0);
    let mut p = fig.panel(
        (0.0, 0.0, 1.0, 1.0),
        (0.0, xs[xs.len() - 1].max(1.0)),
        (
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil()),
        ),
    );
    p.log_y = true;
    p.axes("Training loss (denoising score matching)", "step", "loss");
    p.line(&xs, &ys, "rgba(214,51,108,0.3)", 1.0, false);
    p.line(&xs, &ema, colors::LEARNED, 2.5, false);
}

fn draw_schedule(app: &App) {
    let Some(fig) = figure("c-schedule") else {
        return;
    };
    let s = &app.settings.schedule;
    let ts = linspace(0.0, s.t_max(), 200);
    let a: Vec<f64> = ts.iter().map(|&t| s.alpha(t)).collect();
    let sg: Vec<f64> = ts.iter().map(|&t| s.sigma(t)).collect();
    let top = sg.iter().chain(&a).cloned().fold(1.0, f64::max) * 1.1;
    let p = fig.panel((0.0, 0.0, 1.0, 1.0), (0.0, s.t_max()), (0.0, top));
    p.axes(
        &format!("Schedule: x_t = α_t x₀ + σ_t ε ({})", s.name()),
        "time t",
        "coefficient",
    );
    p.line(&ts, &a, colors::DATA, 2.5, false);
    p.line(&ts, &sg, colors::PRIOR, 2.5, false);
    // Every schedule ends with σ_t near the top and α_t near the bottom: the legend goes between.
    p.legend_at(
        &[("α_t", colors::DATA, false), ("σ_t", colors::PRIOR, false)],
        0.5,
    );
}
