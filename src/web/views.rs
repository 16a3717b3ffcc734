//! Drawing every plot of the 1D toy from the session's view data (`models::toy1d::views`).

use web_sys::OffscreenCanvas;

use super::outbox::set_text;
use super::plot::{
    colors, density_color_light, describe, diverging_color, figure, raster, readout, Panel,
};
use super::ui::Ui;
use crate::diffusion::schedule::T_MIN;
use crate::models::toy1d::mixture::linspace;
use crate::models::toy1d::views::{
    density_histogram, flow_arrows, handles, training_pairs, FIELD_NT, FIELD_NX, FLOW_ARROWS,
};
use crate::session::Session;

/// Redraws every plot and the status line.
pub fn draw_all(app: &Session, ui: &mut Ui) {
    let e = &app.toy.exact;
    let generation = app.toy.exact_generation;
    if ui.density_raster.as_ref().map(|(g, _)| *g) != Some(generation) {
        ui.density_raster = raster(&e.density, e.density_nt, e.density_nx, &|v| {
            density_color_light(v.powf(0.7))
        })
        .map(|r| (generation, r));
    }
    let heat = ui.density_raster.as_ref().map(|(_, r)| r);
    ui.data_panel = draw_data(app);
    if let Some(area) = ui.data_panel {
        let xs: Vec<f64> = handles(app.toy.mixture())
            .iter()
            .map(|c| area.to_px(c.mean))
            .collect();
        super::outbox::handles(&xs);
    }
    draw_forward(app, heat);
    draw_terminal(app);
    draw_score(app);
    draw_field(app);
    draw_reverse(app, heat);
    draw_samples(app);
    draw_loss(app);
    draw_schedule(app);
    status(app);
}

fn status(app: &Session) {
    let metric = match &app.toy.live.learned {
        Some(l) => format!("SDE {} · ODE {}", readout(l.sde_w1), readout(l.ode_w1)),
        None => "–".into(),
    };
    header_stats(
        app,
        app.toy.steps(),
        &app.toy.live.losses,
        app.toy.live.pace.steps_per_sec,
        "W₁ to data",
        &metric,
    );
}

/// The header's figures (steps, last loss, speed, the model's quality metric) and the messages:
/// shared by every model's view.
pub fn header_stats(
    app: &Session,
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
/// The button says Pause while anything trains (Step ×100's steps too: Pause stops them).
pub fn messages(app: &Session) {
    let busy = app.busy();
    set_text("play", super::protocol::PLAY_LABEL[usize::from(busy)]);
    let pressed = if busy { "true" } else { "false" };
    super::outbox::set_attr("play", "aria-pressed", Some(pressed));
    // Queued steps (Step ×100, `lab.train`) count down on the Step button: on MNIST a hundred
    // steps take half a minute or more, and nothing else said how far they had got.
    let left: u64 = app.pending.iter().map(|r| r.remaining).sum();
    let step = if left > 0 {
        format!("{} · {left} left", super::protocol::STEP_LABEL)
    } else {
        super::protocol::STEP_LABEL.to_string()
    };
    set_text("step", &step);
    let msg = app
        .error
        .clone()
        .into_iter()
        .chain(app.notices.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    set_text("messages", &msg);
    let kind = if app.error.is_some() {
        "error"
    } else {
        "notice"
    };
    super::outbox::set_attr("messages", "data-kind", Some(kind));
    let style = if msg.is_empty() { "display:none" } else { "" };
    super::outbox::set_attr("messages", "style", Some(style));
}

fn range_pad(lo: f64, hi: f64) -> (f64, f64) {
    let pad = 0.05 * (hi - lo).max(1e-9);
    (lo - pad, hi + pad)
}

/// The data plot; returns its geometry (for dragging and drawing on it).
fn draw_data(app: &Session) -> Option<super::plot::PlotArea> {
    let fig = figure("c-data")?;
    let s = &app.settings;
    let xr = app.toy.exact.x_range;
    let xs = linspace(xr.0, xr.1, 400);
    let dens: Vec<f64> = xs
        .iter()
        .map(|&x| app.toy.mixture().density(&s.schedule, 0.0, x))
        .collect();
    let (edges, hist) = density_histogram(&app.toy.exact.data_x0, xr);
    // The legend above the peaks, never over them: it hid the right mode's handle in
    // presenter mode, where its text is larger than the fixed headroom this panel had.
    let data_max = dens
        .iter()
        .chain(&hist)
        .cloned()
        .fold(0.0, f64::max)
        .max(1e-3);
    let legend = [
        ("exact density", colors::EXACT, false),
        ("training x₀ (histogram)", "rgba(25,113,194,0.6)", false),
    ];
    let (p, overlays) =
        fig.panel((0.0, 0.0, 1.0, 1.0), xr, (0.0, 1.0))
            .make_room(data_max * 1.05, &[], &legend);
    p.axes("Data p₀(x) — drag a mode, or draw", "x", "density");
    p.bars(&edges, &hist, "rgba(25,113,194,0.28)");
    p.line(&xs, &dens, colors::EXACT, 2.5, false);
    for c in handles(app.toy.mixture()) {
        let (x, y) = (
            p.sx(c.mean),
            p.sy(app.toy.mixture().density(&s.schedule, 0.0, c.mean)),
        );
        fig.ctx.set_fill_style_str(colors::LEARNED);
        fig.ctx.begin_path();
        let _ = fig.ctx.arc(x, y, 6.0, 0.0, std::f64::consts::TAU);
        fig.ctx.fill();
    }
    overlays.draw(&p);
    let modes = app.toy.mixture().components().len();
    describe(
        "c-data",
        &format!(
            "The data density p₀(x), a mixture of {modes} Gaussian modes, with a histogram of {} training samples; drag a mode to move it",
            app.toy.exact.data_x0.len()
        ),
        None,
    );
    Some(p.area())
}

/// The exact p(x, t) behind the forward and reverse paths (rasterised once per data change, in
/// `draw_all`).
fn heat_background(p: &Panel, heat: Option<&OffscreenCanvas>) {
    if let Some(image) = heat {
        p.image(image);
    }
}

fn draw_forward(app: &Session, heat: Option<&OffscreenCanvas>) {
    let Some(fig) = figure("c-forward") else {
        return;
    };
    let e = &app.toy.exact;
    let t_max = app.settings.schedule.t_max();
    let p = fig.panel((0.0, 0.0, 1.0, 1.0), (0.0, t_max), e.x_range);
    heat_background(&p, heat);
    p.paths(
        &e.forward_times,
        &e.forward_paths,
        "rgba(20,20,30,0.55)",
        1.0,
    );
    p.axes(
        &format!(
            "{} forward paths over the exact p(x, t) — {}",
            e.forward_paths.len(),
            app.settings.schedule.label()
        ),
        "time t",
        "x",
    );
    describe(
        "c-forward",
        &format!(
            "{} forward paths from the data to the prior over time, {}, drawn over the exact density p(x, t)",
            e.forward_paths.len(),
            app.settings.schedule.label()
        ),
        None,
    );
}

fn draw_terminal(app: &Session) {
    let Some(fig) = figure("c-terminal") else {
        return;
    };
    let s = &app.settings.schedule;
    let xr = app.toy.exact.x_range;
    let term = &app.toy.exact.terminal;
    let t = s.t_max();
    let pv = s.prior_var();
    let ends = &app.toy.exact.terminal_samples;
    let (edges, hist) = density_histogram(ends, xr);
    let data_max = term
        .p_t
        .iter()
        .chain(&term.prior)
        .chain(&hist)
        .cloned()
        .fold(0.0, f64::max);
    let prior_label = format!("prior N(0, {pv})");
    let ends_label = format!("x_T of {} data points", ends.len());
    let legend = [
        ("exact p_T", colors::EXACT, false),
        (prior_label.as_str(), colors::PRIOR, true),
        (ends_label.as_str(), TERMINAL_BARS, false),
    ];
    let readouts = [format!("TV(p_T, prior) = {:.4}", term.tv)];
    let (p, overlays) = fig
        .panel((0.0, 0.0, 1.0, 1.0), xr, (0.0, 1.0))
        .make_room(data_max, &readouts, &legend);
    p.axes(&format!("Terminal marginal p_T at T = {t}"), "x", "density");
    p.bars(&edges, &hist, TERMINAL_BARS);
    p.line(&term.xs, &term.p_t, colors::EXACT, 2.5, false);
    p.line(&term.xs, &term.prior, colors::PRIOR, 2.5, true);
    overlays.draw(&p);
    describe(
        "c-terminal",
        &format!(
            "Where the forward process ends at T = {t} against the prior N(0, {pv}): total variation {:.4}",
            term.tv
        ),
        None,
    );
}

/// The terminal histogram's bars.
const TERMINAL_BARS: &str = "rgba(29,35,48,0.25)";

fn draw_score(app: &Session) {
    let Some(fig) = figure("c-score") else { return };
    let s = &app.settings.schedule;
    let xr = app.toy.exact.x_range;
    let t = app.settings.t_view.clamp(T_MIN, s.t_max());
    let xs = linspace(xr.0, xr.1, 240);
    let exact: Vec<f64> = xs
        .iter()
        .map(|&x| app.toy.mixture().score(s, t, x))
        .collect();
    // Training pairs (x_t, target) at about this time, as in the tutorial's Figure 3.
    let (px, py) = training_pairs(app.toy.mixture(), s, &app.toy.source, t, app.settings.seed);
    let ext = exact.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let yr = range_pad(-ext * 1.3 - 0.5, ext * 1.3 + 0.5);
    let p = fig.panel((0.0, 0.0, 1.0, 1.0), xr, yr);
    p.axes(
        &format!(
            "Score F(x, t) at t = {t:.3} — learned vs exact — over training pairs (x_t, target)"
        ),
        "x",
        "F(x, t)",
    );
    p.points(&px, &py, "rgba(25,113,194,0.4)", 3.0);
    p.line(&xs, &exact, colors::EXACT, 2.5, true);
    if let Some(l) = &app.toy.live.learned {
        let learned: Vec<f64> = l.score_at_t.iter().map(|&v| v as f64).collect();
        p.line(&l.xs, &learned, colors::LEARNED, 2.5, false);
        p.badge(&format!(
            "network after {} steps (t = {:.3})",
            l.steps, l.t_view
        ));
    }
    let learned = app.toy.live.learned.as_ref();
    describe(
        "c-score",
        &match learned {
            Some(l) => format!(
                "Score F(x, t) at t = {t:.3}: the network after {} steps against the exact score, over {} training pairs",
                l.steps,
                px.len()
            ),
            None => format!("Exact score F(x, t) at t = {t:.3} over {} training pairs; the network's appears after the first steps", px.len()),
        },
        learned.map(|l| l.steps),
    );
    p.legend(&[
        ("learned", colors::LEARNED, false),
        ("exact", colors::EXACT, true),
        ("training pairs", "rgba(25,113,194,0.7)", false),
    ]);
}

fn draw_field(app: &Session) {
    let Some(fig) = figure("c-field") else { return };
    let s = &app.settings.schedule;
    let xr = app.toy.exact.x_range;
    // The field is computed from T_MIN (the score is singular at t = 0); the axes start at 0 so
    // that their ticks do (from T_MIN the first tick was 2, and at 4:3 "5" was the only one).
    let tr = (0.0, s.t_max());
    let exact = &app.toy.exact.score_field;
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
    let titles = [
        "learned score",
        "exact score",
        "difference (learned − exact)",
    ];
    let learned = app.toy.live.learned.as_ref().map(|l| &l.score_field);
    for (k, (title, p)) in titles.iter().zip(fig.panels(3, tr, xr)).enumerate() {
        let field: Option<Vec<f32>> = match k {
            0 => learned.cloned(),
            1 => Some(exact.clone()),
            _ => learned.map(|l| l.iter().zip(exact).map(|(a, b)| a - b).collect()),
        };
        if let Some(f) = &field {
            p.heatmap(f, FIELD_NT, FIELD_NX, &|v| diverging_color(v / scale));
        }
        // Arrows: the probability-flow ODE's direction in the (t, x) plane, running backwards in
        // time (`flow_arrows`) — the paths of the reverse ODE follow them.
        if k < 2 {
            if let Some(f) = &field {
                let px_per_t = (p.px.1 - p.px.0) / (tr.1 - tr.0);
                let px_per_x = (p.py.1 - p.py.0) / (xr.1 - xr.0);
                // 14 units long, or shorter where the lattice is denser (a narrow panel), so
                // that neighbours never overlap.
                let spacing = (p.px.1 - p.px.0).min(p.py.1 - p.py.0) / FLOW_ARROWS as f64;
                let l = (0.8 * spacing).min(14.0);
                for a in flow_arrows(s, f, xr) {
                    let (dx_px, dy_px) = (-px_per_t, a.v * px_per_x); // screen y grows downwards
                    let len = (dx_px * dx_px + dy_px * dy_px).sqrt().max(1e-9);
                    if len.is_finite() {
                        p.arrow(
                            a.t,
                            a.x,
                            dx_px / len * l,
                            dy_px / len * l,
                            "rgba(20,20,30,0.6)",
                        );
                    }
                }
            }
        }
        p.axes(title, "time t", "x");
        match (k, app.toy.live.learned.as_ref()) {
            (1, _) => {}
            (_, Some(l)) => p.step_badge(0, l.steps),
            (_, None) => p.badge("training…"),
        }
    }
    let learned = app.toy.live.learned.as_ref();
    describe(
        "c-field",
        &match learned {
            Some(l) => format!("The score over time and x: learned after {} steps, exact, and their difference, with the probability-flow ODE's directions", l.steps),
            None => "The exact score over time and x with the probability-flow ODE's directions; the learned one appears after the first steps".into(),
        },
        learned.map(|l| l.steps),
    );
}

fn draw_reverse(app: &Session, heat: Option<&OffscreenCanvas>) {
    let Some(fig) = figure("c-reverse") else {
        return;
    };
    let s = &app.settings.schedule;
    let xr = app.toy.exact.x_range;
    let tr = (0.0, s.t_max());
    let Some(l) = &app.toy.live.learned else {
        fig.note("reverse paths appear after the first training steps");
        describe(
            "c-reverse",
            "Reverse paths: none yet (they appear after the first training steps)",
            None,
        );
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
        let p = fig.panels(2, tr, xr).swap_remove(k);
        heat_background(&p, heat);
        p.paths(&l.reverse_times, paths, color, 1.0);
        p.axes(
            &format!("{label} — {src}"),
            "time t (integrated from T down to 0)",
            "x",
        );
        p.step_badge(0, l.steps);
    }
    describe(
        "c-reverse",
        &format!(
            "{} reverse paths of the {} and {} with the {src} after {} training steps, over the exact density",
            l.sde_paths.len(),
            l.sde_label,
            l.ode_label,
            l.steps
        ),
        Some(l.steps),
    );
}

fn draw_samples(app: &Session) {
    let Some(fig) = figure("c-samples") else {
        return;
    };
    let s = &app.settings.schedule;
    let xr = app.toy.exact.x_range;
    let Some(l) = &app.toy.live.learned else {
        fig.note("sample histograms appear after the first training steps");
        describe(
            "c-samples",
            "Generated samples: none yet (they appear after the first training steps)",
            None,
        );
        return;
    };
    let xs = linspace(xr.0, xr.1, 400);
    let dens: Vec<f64> = xs
        .iter()
        .map(|&x| app.toy.mixture().density(s, 0.0, x))
        .collect();
    let panels = [
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
    .map(|(label, samples, w1, color)| {
        (
            label,
            w1,
            color,
            density_histogram(samples, xr),
            samples.len(),
        )
    });
    // One density scale for both (side by side, one y axis), raised so that the peaks stay
    // below the readouts.
    let data_max = panels
        .iter()
        .flat_map(|(_, _, _, (_, hist), _)| hist)
        .chain(&dens)
        .cloned()
        .fold(1e-3, f64::max);
    for ((label, w1, color, (edges, hist), n), p) in
        panels.iter().zip(fig.panels(2, xr, (0.0, 1.0)))
    {
        let readouts = [
            format!("W₁ = {w1:.4} (to the true density)"),
            format!("step {}", l.steps),
        ];
        let (p, _) = p.make_room(data_max, &readouts, &[]);
        p.axes(&format!("{label} — {n} samples"), "x", "density");
        p.bars(edges, hist, color);
        p.line(&xs, &dens, colors::EXACT, 2.5, false);
        p.badge(&readouts[0]);
        p.step_badge(1, l.steps);
    }
    describe(
        "c-samples",
        &format!(
            "Histograms of {} samples after {} training steps against the true density: {} W₁ {:.4}, {} W₁ {:.4}",
            l.sde_samples.len(),
            l.steps,
            l.sde_label,
            l.sde_w1,
            l.ode_label,
            l.ode_w1
        ),
        Some(l.steps),
    );
}

fn draw_loss(app: &Session) {
    if let Some(fig) = figure("c-loss") {
        fig.loss_curve(
            &app.toy.live.losses,
            "Training loss (denoising score matching)",
            true,
        );
    }
}

fn draw_schedule(app: &Session) {
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
    describe(
        "c-schedule",
        &format!(
            "The schedule {}: α_t falls from {:.2} to {:.3} and σ_t rises from {:.2} to {:.3} between t = 0 and {}",
            s.name(),
            a[0],
            a[a.len() - 1],
            sg[0],
            sg[sg.len() - 1],
            s.t_max()
        ),
        None,
    );
}
