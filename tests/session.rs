//! The lab core without a browser: what a change of settings rebuilds, training and sampling by
//! commands, divergence through the session, and the view data the page draws.

use difflab::diffusion::{Sampler, SamplerKind, Schedule};
use difflab::models::mnist::data::load_asset;
use difflab::models::toy1d::mixture::Mixture;
use difflab::models::toy1d::views::{flow_arrows, Stroke, Terminal, FIELD_NT, FIELD_NX};
use difflab::models::Model;
use difflab::session::{drive, Cell};
use difflab::session::{Command, Session};
use difflab::settings::Settings;

fn session(query: &str) -> Cell {
    let (settings, problems) = Settings::from_query(query);
    assert!(problems.is_empty(), "{problems:?}");
    Cell::new(Session::native(settings))
}

/// Runs the lab's turns until its queued steps are done.
fn run_pending(cell: &Cell) {
    for _ in 0..100_000 {
        if cell.borrow().pending.is_empty() {
            return;
        }
        pollster::block_on(drive::tick(cell));
    }
    panic!("the queued steps never finished");
}

#[test]
fn toy_settings_rebuild_only_what_they_change() {
    let cell = session("play=0");
    cell.borrow_mut().command(Command::Step { steps: 20 });
    run_pending(&cell);
    assert_eq!(cell.borrow().toy.steps(), 20);
    let (gen, exact_gen) = {
        let s = cell.borrow();
        (s.toy.live.generation, s.toy.exact_generation)
    };
    // An optimiser setting keeps the network and the data.
    let c = cell.borrow_mut().apply_query("play=0&lr=0.005&batch=256");
    assert!(!c.toy.data && !c.toy.network, "{c:?}");
    {
        let s = cell.borrow();
        assert_eq!(
            (s.toy.live.generation, s.toy.exact_generation),
            (gen, exact_gen)
        );
        assert_eq!(s.toy.steps(), 20, "the network trains on");
        let t = s.toy.live.trainer.as_ref().expect("trainer");
        assert_eq!((t.config.learning_rate, t.config.batch), (0.005, 256));
    }
    // New data keeps the network (its input scaling follows the data's variance).
    let c = cell
        .borrow_mut()
        .apply_query("play=0&lr=0.005&batch=256&mix=0.3:-1:0.4,0.7:2.5:0.3");
    assert!(c.toy.data && !c.toy.network, "{c:?}");
    {
        let s = cell.borrow();
        assert_eq!(s.toy.exact_generation, exact_gen + 1);
        assert_eq!(s.toy.steps(), 20);
        let var = s.toy.mixture().variance();
        assert_eq!(s.toy.live.trainer.as_ref().unwrap().model.data_var, var);
    }
    // A new shape, schedule or seed starts a fresh network.
    for q in ["width=32", "schedule=vp-linear", "seed=7", "act=silu"] {
        let c = cell.borrow_mut().apply_query(&format!("play=0&{q}"));
        assert!(c.toy.network, "{q}: {c:?}");
        assert_eq!(cell.borrow().toy.steps(), 0, "{q}");
    }
    // Settings of the views only (slider time, sampler steps) change nothing learned.
    let c = cell
        .borrow_mut()
        .apply_query("play=0&act=silu&t=1.5&steps=80");
    assert!(!c.toy.data && !c.toy.network, "{c:?}");
}

#[test]
fn ising_and_mnist_settings_rebuild_only_what_they_change() {
    let cell = session("play=0&model=ising&configs=200");
    assert!(cell.borrow().ising.is_some(), "showing a model creates it");
    let data = cell.borrow_mut().ising().data.clone();
    let c = cell
        .borrow_mut()
        .apply_query("play=0&model=ising&configs=200&ilr=0.001&rsteps=32");
    assert_eq!(c.ising.map(|a| (a.data, a.network)), Some((false, false)));
    assert!(std::sync::Arc::ptr_eq(
        &data,
        &cell.borrow_mut().ising().data
    ));
    let c = cell
        .borrow_mut()
        .apply_query("play=0&model=ising&configs=200&channels=8");
    assert_eq!(c.ising.map(|a| (a.data, a.network)), Some((false, true)));
    let c = cell
        .borrow_mut()
        .apply_query("play=0&model=ising&configs=200&channels=8&beta=0.5");
    assert_eq!(c.ising.map(|a| (a.data, a.network)), Some((true, true)));
    assert_eq!(cell.borrow_mut().ising().config.beta, 0.5);

    let cell = session("play=0&model=mnist&mnet=mlp&mwidth=64&mdepth=1");
    let digits = load_asset("mnist-train.bin").expect("training asset (cargo xtask assets)");
    {
        let mut s = cell.borrow_mut();
        let device = s.device.clone();
        s.mnist().set_data(digits, &device);
    }
    let c = cell
        .borrow_mut()
        .apply_query("play=0&model=mnist&mnet=mlp&mwidth=64&mdepth=1&mlr=0.0005&msteps=20");
    assert_eq!(c.mnist.map(|a| a.network), Some(false));
    let c = cell
        .borrow_mut()
        .apply_query("play=0&model=mnist&mnet=mlp&mwidth=32&mdepth=1");
    assert_eq!(c.mnist.map(|a| a.network), Some(true));
}

#[test]
fn pause_stops_queued_steps_as_well_as_play() {
    let cell = session("play=0");
    cell.borrow_mut()
        .command(Command::Step { steps: 1_000_000 });
    pollster::block_on(drive::tick(&cell));
    let done = cell.borrow().toy.steps();
    assert!(done > 0 && done < 1_000_000, "{done} steps after one turn");
    assert!(cell.borrow().busy(), "the queued steps are training");
    // The button says Pause meanwhile; pressing it stops the queued steps.
    cell.borrow_mut().command(Command::TogglePlay);
    {
        let s = cell.borrow();
        assert!(!s.busy() && !s.playing && s.pending.is_empty());
    }
    pollster::block_on(drive::tick(&cell));
    assert_eq!(cell.borrow().toy.steps(), done, "no step after Pause");
    // Idle, it plays; pressed again, it pauses.
    cell.borrow_mut().command(Command::TogglePlay);
    assert!(cell.borrow().playing);
    cell.borrow_mut().command(Command::TogglePlay);
    assert!(!cell.borrow().busy());
}

#[test]
fn commands_train_sample_and_round_trip_weights() {
    let cell = session("play=0");
    cell.borrow_mut().command(Command::Step { steps: 50 });
    run_pending(&cell);
    let st = cell.borrow().status();
    assert_eq!(st.steps, 50);
    assert!(st.loss.is_finite() && st.loss_points > 0, "{st:?}");
    // The views follow training: one refresh shows the trained step.
    pollster::block_on(drive::refresh(&cell));
    let st = cell.borrow().status();
    assert!(st.views_ready && st.views_step == 50.0, "{st:?}");
    assert!(st.sde_w1.is_some_and(f64::is_finite));
    // Exact-score sampling through the session reproduces the mixture.
    let sampler = Sampler {
        kind: SamplerKind::DpmSolver2M,
        steps: 20,
    };
    let x = pollster::block_on(difflab::session::toy1d::sample(
        &cell, 5000, sampler, true, 3,
    ))
    .unwrap();
    assert!(Mixture::default().wasserstein1(&x) < 0.05);
    // Export, then load into a fresh session with other settings: the file's network is back.
    let (bytes, name) = pollster::block_on(drive::export(&cell)).unwrap();
    assert_eq!(name, "toy1d.weights");
    let other = session("play=0&width=32&model=ising&configs=100");
    let msg = drive::import(&other, &bytes, "test").unwrap();
    assert!(msg.contains("trained 50 steps"), "{msg}");
    let s = other.borrow();
    assert_eq!(
        s.settings.model,
        Model::Toy1d,
        "loading a toy file shows the toy"
    );
    assert_eq!(s.settings.train.width, Settings::default().train.width);
    assert_eq!(s.toy.steps(), 50);
    assert!(
        s.settings_version > 0,
        "the page is told to write the URL again"
    );
    drop(s);
    // Garbage changes nothing.
    let before = other.borrow().settings.clone();
    assert!(drive::import(&other, b"garbage", "x").is_err());
    assert_eq!(other.borrow().settings, before);
}

#[test]
fn a_diverging_learning_rate_pauses_with_a_message_and_good_weights() {
    let cell = session("lr=10&decay=0&seed=2");
    for _ in 0..2000 {
        pollster::block_on(drive::tick(&cell));
        if cell.borrow().error.is_some() {
            break;
        }
    }
    let s = cell.borrow();
    let error = s.error.clone().expect("divergence is reported");
    assert!(error.contains("diverged"), "{error}");
    assert!(!s.playing, "training paused");
    assert!(s.toy.live.losses.iter().all(|(_, l)| l.is_finite()));
}

#[test]
fn view_data_follows_the_exact_mathematics() {
    let schedule = Schedule::default();
    let m = Mixture::default();
    // The terminal marginal of the OU process at T = 5 is the prior within 1e-3; at T = 0.3 the
    // two modes are still far apart.
    let long = Terminal::compute(&m, &schedule, (-5.0, 5.0));
    assert!(long.tv < 1e-3, "TV at T = 5: {}", long.tv);
    let short = Terminal::compute(&m, &Schedule::Ou { d: 1.0, t_max: 0.3 }, (-5.0, 5.0));
    assert!(short.tv > 0.3, "TV at T = 0.3: {}", short.tv);
    // Probability-flow arrows on the exact field: v = f x − g² F / 2; for OU at large t the
    // score is −x/D, so v = −x + x = 0 at every x up to e^{−2t} terms.
    let xr = (-4.0, 4.0);
    let field = difflab::models::toy1d::mixture::grid(
        xr,
        (difflab::diffusion::schedule::T_MIN, schedule.t_max()),
        FIELD_NX,
        FIELD_NT,
        |x, t| m.score(&schedule, t, x),
    );
    let arrows = flow_arrows(&schedule, &field, xr);
    assert_eq!(arrows.len(), 144);
    for a in &arrows {
        let exact = schedule.drift(a.t) * a.x
            - 0.5 * schedule.diffusion2(a.t) * m.score(&schedule, a.t, a.x);
        assert!(
            (a.v - exact).abs() < 1e-3 * (1.0 + exact.abs()),
            "{a:?} vs {exact}"
        );
        if a.t > 4.0 {
            assert!(a.v.abs() < 0.05, "{a:?}");
        }
    }
    // A stroke drawn flat at height 0.2 over the middle becomes a density about 0.2 there, and a
    // stroke along the axis erases.
    let mut stroke = Stroke::begin((-5.0, 5.0), (0.0, 0.5), &m, &schedule);
    for k in 0..=60 {
        stroke.paint(-3.0 + 0.1 * k as f64, 0.2);
    }
    stroke.last = None;
    for k in 0..=10 {
        stroke.paint(-5.0 + 0.1 * k as f64, 0.001);
    }
    let drawn = stroke.mixture().expect("something drawn");
    let total: f64 = (0..1000)
        .map(|i| drawn.density(&schedule, 0.0, -6.0 + 0.012 * i as f64) * 0.012)
        .sum();
    assert!((total - 1.0).abs() < 0.02, "a density: {total}");
    // Flat where drawn flat (relative to itself), nothing where erased.
    let (a, b) = (
        drawn.density(&schedule, 0.0, -1.0),
        drawn.density(&schedule, 0.0, 1.0),
    );
    assert!((a - b).abs() < 0.1 * a, "{a} vs {b}");
    assert!(drawn.density(&schedule, 0.0, -4.7) < 0.02 * a);
}

/// The requests `window.lab` sends, as plain values (what a worker will receive by message).
#[test]
fn requests_are_answered_as_plain_values() {
    use difflab::session::{Reply, Request, SampleRequest};
    let cell = session("play=0&configs=300");
    let train = Request::Train {
        model: Model::Ising,
        steps: 10,
        beta: Some(0.3),
    };
    // Requests cross a message boundary as data: they survive a JSON round trip.
    let json = serde_json::to_string(&train).unwrap();
    let train: Request = serde_json::from_str(&json).unwrap();
    let reply = pollster::block_on(drive::handle(&cell, train)).unwrap();
    assert_eq!(reply, Reply::Queued { before: 0 });
    {
        let s = cell.borrow();
        assert_eq!(s.settings.model, Model::Ising, "training a model shows it");
        assert_eq!(s.settings.ising.beta, 0.3);
        assert!(s.settings_version > 0);
    }
    run_pending(&cell);
    assert_eq!(cell.borrow().trained_steps(), Some(10));
    let sample = Request::Sample(SampleRequest {
        model: Model::Ising,
        n: 5,
        sampler: Sampler {
            kind: SamplerKind::Ancestral,
            steps: 8,
        },
        seed: 1,
        exact: false,
        digit: None,
        guidance: 0.0,
    });
    match pollster::block_on(drive::handle(&cell, sample)).unwrap() {
        Reply::Samples { data, shape } => {
            assert_eq!(shape, vec![5, 64]);
            assert!(data.iter().all(|&v| v == 1.0 || v == -1.0));
        }
        other => panic!("{other:?}"),
    }
    let Reply::Weights { bytes, name } =
        pollster::block_on(drive::handle(&cell, Request::Export)).unwrap()
    else {
        panic!("weights expected")
    };
    assert_eq!(name, "ising.weights");
    let fresh = session("play=0");
    let import = Request::Import {
        bytes,
        origin: "a test".into(),
    };
    let Reply::Loaded { message } = pollster::block_on(drive::handle(&fresh, import)).unwrap()
    else {
        panic!("loaded expected")
    };
    assert!(message.contains("trained 10 steps at β = 0.3"), "{message}");
    assert_eq!(fresh.borrow().trained_steps(), Some(10));
    // A stopped lab refuses every request with its reason.
    fresh.borrow_mut().stop("the GPU device was lost".into());
    let refused = pollster::block_on(drive::handle(&fresh, Request::Export)).unwrap_err();
    assert!(refused.contains("GPU device was lost"));
}
