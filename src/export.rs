//! Samples leaving the lab: CSV (a header, then one row per sample) and NPY (NumPy's array file:
//! little-endian float32 in C order, with its shape), for papers, lecture notes and notebooks.
//! Written here rather than through a crate: each format is a few lines for one dtype, and the
//! crates that write NPY bring a Python-literal parser into the page's module. `tests/export.rs`
//! reads both back with the `csv` and `npyz` crates.

/// How many values one sample has: the product of every dimension but the first.
fn row_len(shape: &[usize]) -> usize {
    shape.iter().skip(1).product()
}

fn check(data: &[f32], shape: &[usize]) -> Result<(), String> {
    if shape.is_empty() || shape.iter().product::<usize>() != data.len() {
        return Err(format!(
            "{} values do not have the shape {shape:?}",
            data.len()
        ));
    }
    Ok(())
}

/// `data` (row-major, `shape[0]` samples) as CSV. The header names the columns: `names` when
/// given (one per column), else `x` for one value per sample and `v0, v1, …` otherwise. Values
/// are written with the fewest digits that read back to the same `f32`.
pub fn csv(data: &[f32], shape: &[usize], names: Option<&[&str]>) -> Result<String, String> {
    check(data, shape)?;
    let cols = row_len(shape);
    let header: Vec<String> = match names {
        Some(n) if n.len() == cols => n.iter().map(|s| s.to_string()).collect(),
        Some(n) => return Err(format!("{} column names for {cols} columns", n.len())),
        None if cols == 1 => vec!["x".into()],
        None => (0..cols).map(|i| format!("v{i}")).collect(),
    };
    let mut out = String::with_capacity(data.len() * 10 + 64);
    out.push_str(&header.join(","));
    out.push('\n');
    if cols == 0 {
        return Ok(out);
    }
    for row in data.chunks_exact(cols) {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("{v}"));
        }
        out.push('\n');
    }
    Ok(out)
}

/// `data` with `shape` as an NPY file (format 1.0, `<f4`, C order).
pub fn npy(data: &[f32], shape: &[usize]) -> Result<Vec<u8>, String> {
    check(data, shape)?;
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6), version (2), header length (2), header: padded with spaces and ended by a
    // newline so the data start on a 64-byte boundary.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let len = u16::try_from(header.len()).map_err(|_| "shape too long for NPY 1.0")?;
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}
