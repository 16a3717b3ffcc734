//! Settings round-trip through the URL, and URL values are validated.

use difflab::diffusion::Schedule;
use difflab::settings::{DataMode, SamplerChoice, Settings};
use difflab::train::Weighting;

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
    s.sampler = SamplerChoice::Family;
    s.a = 0.8;
    s.steps = 77;
    s.t_view = 1.25;
    s.exact_score = true;
    s.play = false;
    let (back, problems) = Settings::from_query(&s.to_query());
    assert!(problems.is_empty(), "{problems:?}");
    // The training seed follows the page seed.
    s.train.seed = 42;
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
    let (s, problems) = Settings::from_query("?lr=abc&width=99999&depth=2.5&sampler=bogus&steps=-3&mix=1:2&T=1e400&t=NaN&zzz=1&device=tpu&play=yes");
    let d = Settings::default();
    assert_eq!(s.train.learning_rate, d.train.learning_rate);
    assert_eq!(s.train.width, d.train.width);
    assert_eq!(s.train.depth, d.train.depth);
    assert_eq!(s.sampler, d.sampler);
    assert_eq!(s.steps, d.steps);
    assert_eq!(s.mixture, d.mixture);
    assert_eq!(s.schedule, d.schedule);
    assert_eq!(s.play, d.play);
    for key in [
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
