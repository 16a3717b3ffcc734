//! Settings round-trip through the URL, and URL values are validated.

use difflab::diffusion::Schedule;
use difflab::models::mnist::train::MnistConfig;
use difflab::models::toy1d::train::Weighting;
use difflab::settings::{DataMode, SamplerChoice, Settings};

#[test]
fn defaults_make_an_empty_query_and_non_defaults_round_trip() {
    assert_eq!(Settings::default().to_query(), "");
    let mut s = Settings::default();
    s.seed = 42;
    s.mixture = Settings::parse_mixture("0.2:-3:0.25,0.5:0:1,0.3:3.5:0.4").unwrap();
    s.schedule = Schedule::Ou { d: 0.5, t_max: 3.0 };
    s.data = DataMode::Fixed;
    s.runs = 250;
    s.train.width = 32;
    s.train.depth = 2;
    s.train.learning_rate = 0.0125;
    s.train.batch = 128;
    s.train.weighting = Weighting::Score;
    s.train.lr_decay = 0.0;
    s.train.time_draw = difflab::diffusion::sampler::TimeDraw::Uniform;
    s.train.activation = difflab::nn::Activation::Silu;
    s.sampler = SamplerChoice::Family;
    s.a = 0.8;
    s.steps = 77;
    s.t_view = 1.25;
    s.exact_score = true;
    s.play = false;
    s.model = difflab::models::Model::Ising;
    s.ising.beta = 0.6;
    s.ising.r = 0.02;
    s.ising.target = difflab::models::ising::train::Target::Previous;
    s.ising.sampler_steps = 100;
    s.ising.channels = 8;
    s.ising.layers = 1;
    s.ising.learning_rate = 0.001;
    s.ising.batch = 64;
    s.ising.data_size = 2000;
    s.mnist.net = difflab::models::mnist::train::NetKind::Mlp;
    s.mnist.channels = 12;
    s.mnist.levels = 1;
    s.mnist.width = 256;
    s.mnist.depth = 2;
    s.mnist.schedule = Schedule::VpCosine { s: 0.008 };
    s.mnist.learning_rate = 0.0005;
    s.mnist.batch = 16;
    s.mnist_sampler = difflab::diffusion::SamplerKind::Ancestral;
    s.mnist_steps = 200;
    s.digit = Some(4);
    s.guidance = 7.5;
    let (back, problems) = Settings::from_query(&s.to_query());
    assert!(problems.is_empty(), "{problems:?}");
    // The training seeds follow the page seed.
    s.train.seed = 42;
    s.ising.seed = 42;
    s.mnist.seed = 42;
    assert_eq!(back, s);
    for sc in Schedule::all_defaults() {
        let mut s = Settings::default();
        s.schedule = sc;
        s.t_view = 0.1;
        let (back, problems) = Settings::from_query(&s.to_query());
        assert!(problems.is_empty());
        assert_eq!(back.schedule, sc);
    }
}

#[test]
fn bad_values_are_reported_and_replaced_by_defaults() {
    let (s, problems) = Settings::from_query("?lr=abc&width=99999&depth=2.5&sampler=bogus&steps=-3&mix=1:2&T=1e400&t=NaN&zzz=1&device=tpu&play=yes&decay=-5&tdraw=log&act=relu");
    let d = Settings::default();
    assert_eq!(s.train.learning_rate, d.train.learning_rate);
    assert_eq!(s.train.width, d.train.width);
    assert_eq!(s.train.depth, d.train.depth);
    assert_eq!(s.sampler, d.sampler);
    assert_eq!(s.steps, d.steps);
    assert_eq!(s.mixture, d.mixture);
    assert_eq!(s.schedule, d.schedule);
    assert_eq!(s.play, d.play);
    assert_eq!(s.train.lr_decay, d.train.lr_decay);
    assert_eq!(s.train.time_draw, d.train.time_draw);
    assert_eq!(s.train.activation, d.train.activation);
    for key in [
        "decay=-5",
        "tdraw=log",
        "act=relu",
        "lr=abc",
        "width=99999",
        "depth=2.5",
        "sampler=bogus",
        "steps=-3",
        "mix:",
        "T=1e400",
        "t=NaN",
        "'zzz'",
        "device=tpu",
        "play=yes",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(key)),
            "no message for {key}: {problems:?}"
        );
    }
    // Mixture validation: negative weights, widths out of range, too many components.
    assert!(Settings::parse_mixture("-1:0:1").is_err());
    assert!(Settings::parse_mixture("1:0:0").is_err());
    assert!(Settings::parse_mixture("1:99:1").is_err());
    assert!(Settings::parse_mixture(&vec!["1:0:1"; 65].join(",")).is_err());
    assert!(Settings::parse_mixture("0:0:1,0:1:1").is_err());
}

#[test]
fn bad_ising_values_are_reported_and_replaced_by_defaults() {
    let (s, problems) =
        Settings::from_query("?model=potts&beta=7&flip=0.6&kernel=maybe&rsteps=0&channels=1.5");
    let d = Settings::default();
    assert_eq!(s.model, difflab::models::Model::Toy1d);
    assert_eq!(s.ising.beta, d.ising.beta);
    assert_eq!(s.ising.r, d.ising.r);
    assert_eq!(s.ising.target, d.ising.target);
    assert_eq!(s.ising.sampler_steps, d.ising.sampler_steps);
    assert_eq!(s.ising.channels, d.ising.channels);
    assert_eq!(problems.len(), 6, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("model=potts")));
    assert!(problems.iter().any(|p| p.contains("beta=7 is outside")));
}

#[test]
fn bad_mnist_values_are_reported_and_replaced_by_defaults() {
    let (s, problems) = Settings::from_query(
        "?model=mnist&mnet=resnet&mch=1000&mlevels=3&mschedule=flow&msampler=euler&msteps=1&digit=10&guide=-1&mbatch=0",
    );
    let d = Settings::default();
    assert_eq!(s.model, difflab::models::Model::Mnist);
    assert_eq!(
        s.mnist,
        MnistConfig {
            seed: s.seed,
            ..d.mnist
        }
    );
    assert_eq!(s.mnist_sampler, d.mnist_sampler);
    assert_eq!(s.mnist_steps, d.mnist_steps);
    assert_eq!(s.digit, None);
    assert_eq!(s.guidance, d.guidance);
    assert_eq!(problems.len(), 9, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("mch=1000 is outside")));
    assert!(problems.iter().any(|p| p.contains("digit=10 is outside")));
    let (s, problems) = Settings::from_query("?digit=none&guide=0");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((s.digit, s.guidance), (None, 0.0));
}
