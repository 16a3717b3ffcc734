//! Settings round-trip through the URL, and URL values are validated.

use difflab::diffusion::Schedule;
use difflab::models::mnist::train::MnistConfig;
use difflab::models::toy1d::train::Weighting;
use difflab::settings::{form_limits, key, keys, DataMode, Kind, SamplerChoice, Settings};

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

// The settings table: every key written once, everything else derived from it.

/// A valid value for `name` that differs from its default.
fn other_value(name: &str) -> String {
    let k = key(name).unwrap();
    let default = k.default_text();
    match k.kind(&Settings::default()) {
        Kind::Number { min, max, .. } => {
            let max = max.to_string();
            if max != default {
                max
            } else {
                min.to_string()
            }
        }
        Kind::Choice(options) => options
            .into_iter()
            .find(|o| *o != default)
            .expect("a choice has another option")
            .to_string(),
        Kind::Text => match name {
            "mix" => "0.25:-3:0.5,0.75:1.5:0.25".into(),
            "weights" => "https://example.org/toy1d.weights".into(),
            other => panic!("give the text key {other} a sample value here"),
        },
    }
}

fn pair(k: &str, v: &str) -> Vec<(String, String)> {
    vec![(k.to_string(), v.to_string())]
}

#[test]
fn keys_are_unique_and_described() {
    let mut names: Vec<&str> = keys().iter().map(|k| k.name).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "a key appears twice in the table");
    for k in keys() {
        assert!(!k.label.is_empty(), "{} has no label", k.name);
        assert!(!k.range_text().is_empty());
    }
    // The table is the list of known keys: no key is reported as unknown.
    let all = Settings::default().all_pairs();
    assert_eq!(all.len(), n - 1, "every key but the unset weights URL");
    let (back, problems) = Settings::from_pairs(&all);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(back, Settings::from_pairs(&[]).0);
}

#[test]
fn every_key_round_trips() {
    for k in keys() {
        let v = other_value(k.name);
        assert_ne!(v, k.default_text(), "{}", k.name);
        let (s, problems) = Settings::from_pairs(&pair(k.name, &v));
        assert!(problems.is_empty(), "{}={v}: {problems:?}", k.name);
        let pairs = s.to_pairs();
        assert!(
            pairs.iter().any(|(pk, _)| pk == k.name),
            "{}={v} not printed: {pairs:?}",
            k.name
        );
        let (back, problems) = Settings::from_query(&s.to_query());
        assert!(problems.is_empty(), "{}: {problems:?}", k.name);
        assert_eq!(back, s, "{}={v}", k.name);
    }
}

#[test]
fn numbers_outside_their_bounds_are_rejected() {
    let defaults = Settings::from_pairs(&[]).0;
    let mut numbers = 0;
    for k in keys() {
        let Kind::Number {
            min, max, whole, ..
        } = k.kind(&Settings::default())
        else {
            continue;
        };
        numbers += 1;
        let margin = if whole { 1.0 } else { (max - min).abs() * 1e-3 };
        for bad in [min - margin, max + margin] {
            let raw = bad.to_string();
            let (s, problems) = Settings::from_pairs(&pair(k.name, &raw));
            assert_eq!(problems.len(), 1, "{}={raw}: {problems:?}", k.name);
            assert!(
                problems[0].contains(&format!("{}={raw}", k.name)),
                "{problems:?}"
            );
            assert_eq!(s, defaults, "{}={raw} changed the settings", k.name);
        }
        let (s, problems) = Settings::from_pairs(&pair(k.name, "abc"));
        assert!(problems[0].contains(&format!("{}=abc", k.name)));
        assert_eq!(s, defaults);
    }
    assert!(numbers > 25, "only {numbers} numeric keys");
}

#[test]
fn form_limits_agree_with_the_parser() {
    let defaults = Settings::default();
    let limits = form_limits(&defaults);
    let numeric: Vec<&str> = keys()
        .iter()
        .filter(|k| matches!(k.kind(&defaults), Kind::Number { .. }))
        .map(|k| k.name)
        .collect();
    assert_eq!(
        limits.iter().map(|l| l.key).collect::<Vec<_>>(),
        numeric,
        "one limit per numeric key"
    );
    for l in &limits {
        assert!(l.min < l.max, "{l:?}");
        for ok in [l.min, l.max] {
            let (s, problems) = Settings::from_pairs(&pair(l.key, &ok.to_string()));
            assert!(problems.is_empty(), "{}={ok}: {problems:?}", l.key);
            let v: f64 = key(l.key).unwrap().value(&s).unwrap().parse().unwrap();
            assert_eq!(v, ok, "{}", l.key);
        }
        let below = l.min - l.step.unwrap_or((l.max - l.min) * 1e-3);
        let above = l.max + l.step.unwrap_or((l.max - l.min) * 1e-3);
        for bad in [below, above] {
            let (_, problems) = Settings::from_pairs(&pair(l.key, &bad.to_string()));
            assert_eq!(problems.len(), 1, "{}={bad} accepted", l.key);
        }
        if let Some(step) = l.step {
            assert!(step > 0.0 && step <= l.max - l.min, "{l:?}");
        }
    }
    let step = |k: &str| limits.iter().find(|l| l.key == k).unwrap().step;
    assert_eq!(step("a"), Some(0.05));
    assert_eq!(step("beta"), Some(0.01));
    assert_eq!(step("guide"), Some(0.5));
    assert_eq!(step("t"), Some(0.005));
    assert_eq!(step("width"), Some(1.0));
    assert_eq!(step("lr"), None);
    // `t` ends where the schedule ends.
    let flow = Settings {
        schedule: Schedule::FlowMatching,
        ..Settings::default()
    };
    let t = form_limits(&flow)
        .into_iter()
        .find(|l| l.key == "t")
        .unwrap();
    assert_eq!((t.min, t.max), (0.0, Schedule::FlowMatching.t_max()));
}

#[test]
fn ou_keys_apply_only_to_the_ou_schedule() {
    let q = "schedule=flow&D=2&T=7";
    let (s, problems) = Settings::from_query(q);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.schedule, Schedule::FlowMatching);
    assert_eq!(s.to_query(), "schedule=flow");
    let all = s.all_pairs();
    assert!(all.contains(&("D".into(), "1".into())), "{all:?}");
    let (s, _) = Settings::from_query("D=2&T=7&t=6");
    assert_eq!(s.schedule, Schedule::Ou { d: 2.0, t_max: 7.0 });
    assert_eq!(s.t_view, 6.0, "t is bounded by this link's T");
}

#[test]
fn every_control_of_the_page_is_a_table_key() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/index.html");
    let html = std::fs::read_to_string(path).unwrap();
    let mut names = Vec::new();
    for tag in ["<input", "<select"] {
        for (at, _) in html.match_indices(tag) {
            let element = &html[at..at + html[at..].find('>').unwrap()];
            if let Some(i) = element.find(" name=\"") {
                let rest = &element[i + 7..];
                names.push(rest[..rest.find('"').unwrap()].to_string());
            }
        }
    }
    assert!(names.len() > 30, "found only {names:?}");
    for name in &names {
        assert!(
            key(name).is_some(),
            "index.html has a control '{name}' the table lacks"
        );
    }
}

#[test]
fn the_cli_reads_query_and_set_through_the_table() {
    let args: Vec<String> = [
        "train",
        "--steps",
        "10",
        "--query",
        "lr=0.01&width=32",
        "--set",
        "width=64",
        "--set",
        "beta=0.3",
        "--set",
        "bogus=1",
        "--set",
        "depth=99",
    ]
    .map(String::from)
    .to_vec();
    let (s, problems) = Settings::from_args(&args).unwrap();
    assert_eq!(s.train.learning_rate, 0.01);
    assert_eq!(s.train.width, 64, "a later --set wins");
    assert_eq!(s.ising.beta, 0.3);
    assert_eq!(s.train.depth, Settings::default().train.depth);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("'bogus'")));
    assert!(problems.iter().any(|p| p.contains("depth=99")));
    let err = Settings::from_args(&["ising".into(), "--set".into(), "beta".into()]);
    assert!(err.is_err());
}

/// Found by fuzzing (`cargo xtask fuzz settings_query`), the exact bytes: a value whose
/// shortest form is longer than 12 characters printed as `2.522222e0`, so the link made from
/// the page gave back another guidance scale.
#[test]
fn long_values_print_exactly() {
    let crash: &[u8] = b"model=mn\x9ein&mtets=\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf1ne&ms&digi=t3&guide=2.522222222222222222222";
    difflab::fuzz::settings_query(crash);
    let (s, _) =
        Settings::from_query("guide=2.522222222222222222222&lr=0.000123456789012&beta=1e-300");
    assert_eq!(s.guidance, 2.522222222222222);
    let query = s.to_query();
    assert!(query.contains("guide=2.522222222222222e0"), "{query}");
    assert!(query.contains("beta=1e-300"), "{query}");
    assert_eq!(Settings::from_query(&query), (s, vec![]));
}

/// Found reading the parser while fuzzing: weights that are finite one by one overflow in
/// their sum, and normalising by an infinite total left every weight zero. Now reported.
#[test]
fn mixture_weights_that_overflow_are_reported() {
    let (s, problems) = Settings::from_query("mix=1e308:0:1,1e308:1:1");
    assert_eq!(s.mixture, Settings::default().mixture);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("mix:") && p.contains("finite sum")),
        "{problems:?}"
    );
    difflab::fuzz::settings_query(b"mix=1e308:0:1,1e308:1:1");
}
