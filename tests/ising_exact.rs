//! The exact Ising distributions against brute force and Kaufman's closed form; the data sampler
//! against the exact distributions; the flip process's closed form against simulation.

use difflab::models::ising::exact::{
    brute_force_joint, density_of_states, kaufman_log_z, row_classes, transfer, IsingExact, Track,
};
use difflab::models::ising::lattice::{
    gibbs_samples, unsatisfied, up_count, FlipProcess, SpinStats, BONDS, SITES,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn row_classes_partition_all_rows() {
    for l in 3..=8 {
        let total: f64 = row_classes(l).iter().map(|c| c.1).sum();
        assert_eq!(total, (1u64 << l) as f64);
    }
    // Binary bracelets of length 8: 30.
    assert_eq!(row_classes(8).len(), 30);
}

#[test]
fn transfer_matches_brute_force_on_4x4() {
    let l = 4;
    let joint = brute_force_joint(l);
    let dos = transfer(l, Track::Unsatisfied, 1.0);
    for (u, row) in joint.iter().enumerate() {
        let count: f64 = row.iter().sum();
        assert_eq!(dos[u], count, "g(u = {u})");
    }
    for beta in [0.1, 0.35, 0.44, 0.6, 1.0] {
        let x = (-2.0 * beta as f64).exp();
        let up = transfer(l, Track::Up, x);
        for k in 0..=l * l {
            let want: f64 = joint
                .iter()
                .enumerate()
                .map(|(u, r)| r[k] * x.powi(u as i32))
                .sum();
            assert!(
                (up[k] - want).abs() <= 1e-12 * want.max(1.0),
                "beta {beta}, k {k}: {} vs {want}",
                up[k]
            );
        }
    }
    // 3x3 too (odd side, where the last-column wrap and the last-row wrap meet differently).
    let joint = brute_force_joint(3);
    let dos = transfer(3, Track::Unsatisfied, 1.0);
    for (u, row) in joint.iter().enumerate() {
        assert_eq!(dos[u], row.iter().sum::<f64>(), "3x3 g(u = {u})");
    }
}

#[test]
fn kaufman_matches_brute_force_and_transfer() {
    // 4x4 against enumeration.
    let joint = brute_force_joint(4);
    for beta in [0.05, 0.2, 0.35, 0.4406868, 0.6, 1.2] {
        let z: f64 = joint
            .iter()
            .enumerate()
            .map(|(u, r)| r.iter().sum::<f64>() * (-(beta) * (2.0 * u as f64 - 32.0)).exp())
            .sum();
        let k = kaufman_log_z(4, 4, beta);
        assert!(
            (k - z.ln()).abs() < 1e-10,
            "4x4 beta {beta}: {k} vs {}",
            z.ln()
        );
    }
    // 8x8: the transfer matrix's ln Z against Kaufman's, and 2^64 configurations in all.
    let dos = density_of_states(8);
    let total: f64 = dos.iter().sum();
    assert!((total / 2f64.powi(64) - 1.0).abs() < 1e-12);
    assert!(
        dos.iter().skip(1).step_by(2).all(|&g| g == 0.0),
        "odd u impossible on a torus"
    );
    for beta in [0.1, 0.35, 0.4406868, 0.6, 1.0] {
        let exact = IsingExact::new(8, beta, &dos);
        let k = kaufman_log_z(8, 8, beta);
        assert!(
            (exact.log_z - k).abs() < 1e-9 * k.abs(),
            "8x8 beta {beta}: {} vs {k}",
            exact.log_z
        );
        let s: f64 = exact.p_up.iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
        // M is symmetric.
        for k in 0..=64 {
            assert!((exact.p_up[k] - exact.p_up[64 - k]).abs() < 1e-12);
        }
    }
}

#[test]
fn nn_correlation_at_the_issue_temperature() {
    // <s_i s_j> from the derivative of Kaufman's ln Z (central difference) and from the
    // transfer matrix; the issue quotes 0.4596 at beta = 0.35.
    let dos = density_of_states(8);
    let exact = IsingExact::new(8, 0.35, &dos);
    let h = 1e-5;
    let dlnz = (kaufman_log_z(8, 8, 0.35 + h) - kaufman_log_z(8, 8, 0.35 - h)) / (2.0 * h);
    // d ln Z / d beta = -<E> = bonds * <s s>.
    let from_kaufman = dlnz / BONDS as f64;
    assert!((exact.nn_correlation() - from_kaufman).abs() < 1e-6);
    assert!(
        (exact.nn_correlation() - 0.4596).abs() < 5e-5,
        "{}",
        exact.nn_correlation()
    );
}

/// Exact statistics against those of a sample set: TV distances and the nn correlation.
fn check_sampler(beta: f64, n: usize, seed: u64, tv_max: f64) {
    let dos = density_of_states(8);
    let exact = IsingExact::new(8, beta, &dos);
    let mut rng = StdRng::seed_from_u64(seed);
    let configs = gibbs_samples(beta, n, 2, &mut rng);
    let stats = SpinStats::of(&configs);
    let (tv_m, tv_e) = stats.tv_to(&exact);
    eprintln!(
        "beta {beta}: TV |M| {tv_m:.4}, TV E {tv_e:.4}, <ss> {:.4} vs exact {:.4}",
        stats.nn_correlation,
        exact.nn_correlation()
    );
    assert!(tv_m < tv_max && tv_e < tv_max, "TV {tv_m} {tv_e}");
    assert!((stats.nn_correlation - exact.nn_correlation()).abs() < 0.01);
    // Both signs of M are visited (the ferromagnetic phase included).
    let pos = configs
        .chunks_exact(SITES)
        .filter(|c| 2 * up_count(c) > SITES)
        .count();
    let neg = configs
        .chunks_exact(SITES)
        .filter(|c| 2 * up_count(c) < SITES)
        .count();
    let ratio = pos as f64 / (pos + neg) as f64;
    assert!((ratio - 0.5).abs() < 0.05, "sign balance {ratio}");
}

#[test]
fn gibbs_sampler_matches_exact_paramagnetic() {
    check_sampler(0.35, 20_000, 7, 0.03);
}

#[test]
fn gibbs_sampler_matches_exact_critical_and_ferromagnetic() {
    check_sampler(0.4406868, 20_000, 8, 0.03);
    check_sampler(0.6, 20_000, 9, 0.03);
}

#[test]
fn flip_process_closed_form_matches_simulation() {
    let p = FlipProcess::new(0.05);
    assert_eq!(p.steps, 44, "(0.9)^44 < 0.01 < (0.9)^43");
    assert!(p.keep(p.steps as f64) <= 0.01 && p.keep(p.steps as f64 - 1.0) > 0.01);
    let mut rng = StdRng::seed_from_u64(3);
    let n = 200_000;
    let x0 = vec![1i8; n];
    for t in [1usize, 5, 20, 44] {
        let mut x = x0.clone();
        for _ in 0..t {
            p.step(&mut x, &mut rng);
        }
        let flipped = x.iter().filter(|&&v| v < 0).count() as f64 / n as f64;
        let want = p.flip_prob(t as f64);
        let se = (want * (1.0 - want) / n as f64).sqrt();
        assert!(
            (flipped - want).abs() < 5.0 * se,
            "t {t}: {flipped} vs {want}"
        );
        // The one-shot draw agrees too.
        let y = p.noise(&x0, t as f64, &mut rng);
        let f2 = y.iter().filter(|&&v| v < 0).count() as f64 / n as f64;
        assert!((f2 - want).abs() < 5.0 * se);
    }
}

#[test]
fn posterior_matches_bayes_by_simulation() {
    // P(x_s = +1 | x_t = z, x_0 = +1) by simulating x_0 → x_s → x_t and conditioning.
    let p = FlipProcess::new(0.05);
    let mut rng = StdRng::seed_from_u64(4);
    let (s, t) = (6usize, 9usize);
    let (mut hits, mut total) = ([0.0f64; 2], [0.0f64; 2]);
    for _ in 0..400_000 {
        let mut x = vec![1i8];
        for _ in 0..s {
            p.step(&mut x, &mut rng);
        }
        let xs = x[0];
        for _ in s..t {
            p.step(&mut x, &mut rng);
        }
        let zi = (x[0] > 0) as usize;
        total[zi] += 1.0;
        if xs > 0 {
            hits[zi] += 1.0;
        }
    }
    for (zi, z) in [(0usize, -1.0), (1, 1.0)] {
        let sim = hits[zi] / total[zi];
        let want = p.posterior_up(s as f64, t as f64, z, 1.0);
        assert!((sim - want).abs() < 0.006, "z {z}: {sim} vs {want}");
    }
    // Posterior to time 0 is the known x_0.
    assert!((p.posterior_up(0.0, 3.0, -1.0, 1.0) - 1.0).abs() < 1e-12);
    // The sampler's per-step table gives the mixture over x_0 of these posteriors, exactly.
    let (s, t) = (2.5, 7.25);
    let step = p.reverse_step(s, t);
    for z in [-1.0, 1.0] {
        for pi0 in [0.0, 0.2, 0.5, 0.93, 1.0] {
            let want =
                pi0 * p.posterior_up(s, t, z, 1.0) + (1.0 - pi0) * p.posterior_up(s, t, z, -1.0);
            assert_eq!(step.up(z, pi0), want, "z {z}, pi0 {pi0}");
        }
    }
    let _ = rng.random::<u8>();
    let _ = unsatisfied(&[1i8; SITES]);
}
