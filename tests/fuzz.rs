//! The fuzz targets' bodies (`difflab::fuzz`) over their committed seeds, so `cargo test`
//! compiles and runs what `cargo xtask fuzz` runs; the seeds of the weights target are written
//! by the ignored test below; and the inputs fuzzing found, each as the exact bytes.

use std::fs;
use std::path::{Path, PathBuf};

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("seeds")
        .join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).expect("a seed file");
            (p, bytes)
        })
        .collect()
}

#[test]
fn the_settings_target_passes_its_seeds() {
    for (_, bytes) in seeds("settings_query") {
        difflab::fuzz::settings_query(&bytes);
    }
}

#[test]
fn the_weights_target_passes_its_seeds() {
    let seeds = seeds("weights");
    for (_, bytes) in &seeds {
        difflab::fuzz::weights(bytes);
    }
    // The seeds are worth starting from only if some are whole files each reader accepts.
    let device = burn::prelude::Device::flex();
    let read = |name: &str| {
        &seeds
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .unwrap_or_else(|| panic!("seed {name}"))
            .1
    };
    difflab::weights::decode(read("toy1d.weights"), &device).expect("the toy seed");
    difflab::weights::decode_ising(read("ising.weights"), &device).expect("the Ising seed");
    difflab::weights::decode_mnist(read("mnist.weights"), &device).expect("the MNIST seed");
}

/// Writes the weights target's seeds: the smallest network of each model the headers allow,
/// untrained (fuzzing needs valid files, not good weights): 2 to 27 KB each; and each one's
/// header alone, with no record (the readers' checks before burn sees any tensor).
#[test]
#[ignore = "regenerates fuzz/seeds/weights; run by hand"]
fn write_weights_seeds() {
    use difflab::models::ising::train::IsingConfig;
    use difflab::models::mnist::train::{MnistConfig, NetKind};
    use difflab::models::toy1d::train::{net_config, ScoreModel};
    use difflab::nn::Activation;
    let device = burn::prelude::Device::flex();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/weights");
    fs::create_dir_all(&dir).unwrap();
    let toy = ScoreModel {
        net: net_config(4, 1, Activation::SoftSilu).init(&device),
        schedule: Default::default(),
        data_var: 1.0,
    };
    let toy = difflab::weights::encode(&toy, 4, 1, Activation::SoftSilu, 1).unwrap();
    let ising = IsingConfig {
        channels: 2,
        layers: 0,
        kernel: 3,
        ..IsingConfig::default()
    };
    let ising = difflab::weights::encode_ising(&ising.net().init(&device), &ising, 1).unwrap();
    let mnist = MnistConfig {
        net: NetKind::Unet,
        channels: 4,
        levels: 1,
        ..MnistConfig::default()
    };
    let mnist = difflab::weights::encode_mnist(&mnist.init_net(&device), &mnist, 1).unwrap();
    for (name, bytes) in [
        ("toy1d.weights", toy),
        ("ising.weights", ising),
        ("mnist.weights", mnist),
    ] {
        let header = 12 + u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let stem = name.trim_end_matches(".weights");
        fs::write(dir.join(format!("{stem}_header.weights")), &bytes[..header]).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Found by fuzzing (`cargo xtask fuzz weights`, after about 6 minutes), the exact bytes: an
/// Ising file whose record holds a U32 tensor for a float parameter made burn panic ("Expected
/// float dtype, got U32") while loading. Now refused before burn loads it.
#[test]
fn a_record_tensor_of_another_dtype_is_refused() {
    let crash = include_bytes!("fuzz/weights-u32-tensor.weights");
    difflab::fuzz::weights(crash);
    let device = burn::prelude::Device::flex();
    let err = difflab::weights::decode_ising(crash, &device)
        .err()
        .expect("refused");
    assert!(err.contains("U32") && err.contains("not f32"), "{err}");
}
