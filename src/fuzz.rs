//! The bodies of the fuzz targets in `fuzz/` (cargo-fuzz, `cargo xtask fuzz`). They live in the
//! library so that `cargo test` compiles them and runs them over the committed seeds
//! (`tests/weights_fuzz.rs`), and the fuzz targets stay one line each. Both take bytes a
//! stranger chose: a shared link's query and an uploaded (or `?weights=`) file.

use burn::prelude::Device;

use crate::settings::Settings;

/// Parses any bytes as a query (lossily as UTF-8, as a browser would hand them over). The parser
/// must not panic, and what it keeps must print to a query it reads back unchanged and without
/// complaint: a link made from a page opened by any link reproduces that page.
///
/// The mixture is the exception by design: its link rounds every value to four decimals (short
/// links) and the parser renormalises the weights, so it must come back close, not equal.
pub fn settings_query(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let (settings, _) = Settings::from_query(&query);
    let printed = settings.to_query();
    let (back, problems) = Settings::from_query(&printed);
    assert!(
        problems.is_empty(),
        "the printed query {printed:?} of {query:?} is rejected: {problems:?}"
    );
    assert_mixture_close(&settings, &back, &printed);
    let back = Settings {
        mixture: settings.mixture.clone(),
        ..back
    };
    assert_eq!(back, settings, "{query:?} prints as {printed:?}");
}

/// The mixture read back from its four-decimal link: the same components in the same order,
/// less those whose weight prints as 0, each value within the rounding (weights within it
/// relative to their renormalised total too).
fn assert_mixture_close(settings: &Settings, back: &Settings, printed: &str) {
    let kept: Vec<_> = settings
        .mixture
        .components()
        .iter()
        .filter(|c| c.weight >= 0.5e-4)
        .collect();
    let read = back.mixture.components();
    assert_eq!(
        kept.len(),
        read.len(),
        "the mixture printed as {printed:?} comes back with other components"
    );
    let n = settings.mixture.components().len() as f64;
    for (a, b) in kept.iter().zip(read) {
        assert!(
            (a.mean - b.mean).abs() <= 0.51e-4 && (a.width - b.width).abs() <= 0.51e-4,
            "mixture component {a:?} comes back from {printed:?} as {b:?}"
        );
        // Each printed weight is off by ≤ 0.5e-4, so the total by ≤ n × 0.5e-4.
        assert!(
            (a.weight - b.weight).abs() <= 0.51e-4 + n * 1e-4,
            "mixture weight {a:?} comes back from {printed:?} as {b:?}"
        );
    }
}

/// Reads any bytes as a weights file every way the lab does: which model it is for, each
/// model's header, and each model's network rebuilt on the CPU. Each must fail with a message
/// or succeed; none may panic, hang, or allocate more than the largest network the header
/// limits allow (the record itself is at most a copy of the input).
pub fn weights(data: &[u8]) {
    use crate::weights;
    let device = Device::flex();
    let _ = weights::model_of(data);
    let _ = weights::header(data);
    let _ = weights::ising_header(data);
    let _ = weights::mnist_header(data);
    let _ = weights::decode(data, &device);
    let _ = weights::decode_ising(data, &device);
    let _ = weights::decode_mnist(data, &device);
}
