//! Exported samples read back by independent readers: CSV by the `csv` crate, NPY by `npyz`
//! (the reader NumPy's format is tested against in Rust); every value bit for bit.

use difflab::export::{csv, npy};

/// Awkward values: negatives, tiny, huge, long decimals, ±0.
fn values(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| match i % 7 {
            0 => -(i as f32) * 0.1,
            1 => 1e-30 * i as f32,
            2 => 3.0e30,
            3 => 1.0 / 3.0,
            4 => -0.0,
            5 => std::f32::consts::PI * i as f32,
            _ => i as f32,
        })
        .collect()
}

#[test]
fn csv_reads_back_to_the_same_values_with_its_header() {
    for (shape, names, header) in [
        (vec![11], None, vec!["x".to_string()]),
        (
            vec![5, 2],
            Some(&["sde", "ode"][..]),
            vec!["sde".into(), "ode".into()],
        ),
        (
            vec![3, 2, 2],
            None,
            (0..4).map(|i| format!("v{i}")).collect(),
        ),
    ] {
        let n: usize = shape.iter().product();
        let data = values(n);
        let text = csv(&data, &shape, names).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let got_header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(got_header, header);
        let mut back = Vec::new();
        let mut rows = 0;
        for rec in r.records() {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), header.len());
            back.extend(rec.iter().map(|v| v.parse::<f32>().unwrap()));
            rows += 1;
        }
        assert_eq!(rows, shape[0]);
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            data.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{shape:?}"
        );
    }
}

#[test]
fn npy_reads_back_to_the_same_shape_and_values() {
    for shape in [vec![10], vec![4, 64], vec![3, 28, 28], vec![1, 1, 1, 1]] {
        let n: usize = shape.iter().product();
        let data = values(n);
        let bytes = npy(&data, &shape).unwrap();
        // The data start on a 64-byte boundary, as the format asks.
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(bytes.len(), 10 + header_len + 4 * n);
        let file = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(
            file.shape(),
            shape.iter().map(|&d| d as u64).collect::<Vec<_>>()
        );
        assert_eq!(file.dtype(), npyz::DType::Plain("<f4".parse().unwrap()));
        let back: Vec<f32> = file.into_vec().unwrap();
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_shape_that_does_not_fit_the_data_is_refused() {
    assert!(npy(&[1.0, 2.0, 3.0], &[2, 2]).is_err());
    assert!(csv(&[1.0, 2.0, 3.0], &[2], None).is_err());
    assert!(csv(&[1.0, 2.0], &[1, 2], Some(&["a"])).is_err());
    assert!(npy(&[], &[]).is_err());
}
