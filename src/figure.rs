//! What every renderer of the lab's figures shares, independent of where it draws (the page's
//! canvas today; SVG and PNG export next): the palette, round-number ticks, the geometry that
//! maps data to a plot area and back, image tiling and the colour ramps. Plain Rust, tested
//! natively.

/// Colours shared by every plot. Pairs that share a figure stay apart for red-green colour
/// blindness (Machado et al. 2009 simulation, CIELAB ΔE, deuteranopia / protanopia): learned vs
/// data 68 / 40, α vs σ (data vs prior) 119 / 101, SDE blue vs ODE orange 122 / 104, learned vs
/// exact 51 / 37; data were green (ΔE 16 / 49 against learned) until presenter mode.
pub mod colors {
    pub const INK: &str = "#1d2330";
    pub const GRID: &str = "rgba(29,35,48,0.10)";
    pub const EXACT: &str = "#111111";
    pub const LEARNED: &str = "#d6336c";
    pub const DATA: &str = "#1971c2";
    pub const PRIOR: &str = "#e8590c";
}

/// Where a drawn panel's data coordinates sit on its canvas (CSS pixels, linear axes), kept
/// after drawing so that pointer handlers map back through the same rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotArea {
    pub px: (f64, f64),
    pub py: (f64, f64),
    pub x: (f64, f64),
    pub y: (f64, f64),
}

impl PlotArea {
    /// The canvas x of data value `x`.
    pub fn to_px(&self, x: f64) -> f64 {
        self.px.0 + (x - self.x.0) / (self.x.1 - self.x.0) * (self.px.1 - self.px.0)
    }

    /// The data x under canvas x `px`.
    pub fn data_x(&self, px: f64) -> f64 {
        self.x.0 + (px - self.px.0) / (self.px.1 - self.px.0) * (self.x.1 - self.x.0)
    }

    /// The data y under canvas y `py`.
    pub fn data_y(&self, py: f64) -> f64 {
        self.y.0 + (self.py.1 - py) / (self.py.1 - self.py.0) * (self.y.1 - self.y.0)
    }

    /// Whether a canvas point is over the plot area, or at most `below` pixels under its axis.
    pub fn contains(&self, px: f64, py: f64, below: f64) -> bool {
        (self.px.0..=self.px.1).contains(&px) && (self.py.0..=self.py.1 + below).contains(&py)
    }
}

/// Round-number ticks covering `[lo, hi]`, about `target` of them.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    nice_ticks_at_least(lo, hi, target, 0.0)
}

/// [`nice_ticks`] spaced at least `least` apart: `1.0` for an axis of whole numbers (training
/// steps), which would otherwise read 16001.2, 16001.4, … over a few steps.
pub fn nice_ticks_at_least(lo: f64, hi: f64, target: usize, least: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![];
    }
    let raw = ((hi - lo) / target.max(1) as f64).max(least);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = first;
    while v <= hi + step * 1e-9 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// A tick's label: short, with a true minus sign.
pub fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.replace('-', "−")
}

/// A metric for a readout (the header's W₁): three decimals while it is small, fewer once it is
/// large (an untrained network's samples run off to W₁ ≈ 150, whose "154.247" pushed the
/// header past a 1024-px screen).
pub fn readout(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

/// The grid that draws about `n` tiles of `w × h` cells (one-cell gaps between them, as
/// [`tiles`] lays them out) largest in a box of `box_w × box_h` (any one unit): `(columns,
/// tiles)`. A wide figure gets long rows, a tall one (a slide) short rows and large tiles.
/// `fill`: more tiles are at hand, so the last row is filled (`tiles` may exceed `n`) and any
/// count of columns will do; else `tiles` is `n` and only layouts with no short row count.
/// Among equally large layouts, the fewest empty places in the last row, then the most
/// columns.
pub fn grid_layout(
    n: usize,
    w: usize,
    h: usize,
    box_w: f64,
    box_h: f64,
    fill: bool,
) -> (usize, usize) {
    let n = n.max(1);
    let scale = |cols: usize| {
        let rows = n.div_ceil(cols);
        let (gw, gh) = (cols * (w + 1) - 1, rows * (h + 1) - 1);
        (box_w / gw as f64).min(box_h / gh as f64)
    };
    let empty = |cols: usize| n.div_ceil(cols) * cols - n;
    let cols = (1..=n)
        .filter(|&cols| fill || n % cols == 0)
        .max_by(|&a, &b| {
            // Scales within a part in a thousand are the same size on any screen.
            let (sa, sb) = (scale(a), scale(b));
            if (sa - sb).abs() > 1e-3 * sa.max(sb) {
                sa.total_cmp(&sb)
            } else {
                empty(b).cmp(&empty(a)).then(a.cmp(&b))
            }
        })
        .unwrap_or(1);
    (cols, if fill { n.div_ceil(cols) * cols } else { n })
}

/// How many columns `n` plotting panels take in a figure of `width × height` drawing units,
/// each panel losing `margins` (left, right, top, bottom) to its axes and title: the layout
/// (one row, rows of fewer, one column) whose plots are largest, a plot's size being its width
/// or 1.5 times its height, whichever is smaller (a plot's readouts and legends need width
/// more than height). `shared_gap`: panels in one row share one y axis, only the first keeping
/// its left margin, the others this gap. A wide figure keeps one row (the page); a narrow and
/// tall one on a 4:3 slide takes one column. Ties go to more columns.
pub fn panel_columns(
    n: usize,
    width: f64,
    height: f64,
    (left, right, top, bottom): (f64, f64, f64, f64),
    shared_gap: Option<f64>,
) -> usize {
    let n = n.max(1);
    let size = |cols: usize| {
        let rows = n.div_ceil(cols) as f64;
        let plot_w = match shared_gap {
            Some(gap) if cols == n => (width - left - right - gap * (n - 1) as f64) / n as f64,
            _ => width / cols as f64 - left - right,
        };
        plot_w.min(1.5 * (height / rows - top - bottom))
    };
    (1..=n).rev().fold(n, |best, c| {
        if size(c) > size(best) * 1.001 {
            c
        } else {
            best
        }
    })
}

/// `count` images of `w × h` values (row-major, row 0 on top) tiled `cols` per row with
/// one-value gaps (NaN), as a raster (`row 0 at the bottom`, ready for [`raster`]):
/// `(values, width, height)`.
pub fn tiles(
    images: &[f32],
    w: usize,
    h: usize,
    count: usize,
    cols: usize,
) -> (Vec<f32>, usize, usize) {
    let n = (images.len() / (w * h)).min(count);
    let rows = n.div_ceil(cols.max(1));
    let (tw, th) = (cols * (w + 1) - 1, (rows * (h + 1)).max(1) - 1);
    let mut v = vec![f32::NAN; tw * th];
    for k in 0..n {
        let (gr, gc) = (k / cols, k % cols);
        for i in 0..h {
            for j in 0..w {
                // raster() puts row 0 at the bottom: flip so image row 0 is on top.
                let y = th - 1 - (gr * (h + 1) + i);
                v[y * tw + gc * (w + 1) + j] = images[k * w * h + i * w + j];
            }
        }
    }
    (v, tw, th)
}

/// The perceptually uniform "viridis"-like ramp for densities (v in 0..1).
pub fn density_color(v: f32) -> [u8; 3] {
    // Anchor colours of matplotlib's viridis at 0, .25, .5, .75, 1, interpolated linearly.
    const A: [[f32; 3]; 5] = [
        [68., 1., 84.],
        [59., 82., 139.],
        [33., 145., 140.],
        [94., 201., 98.],
        [253., 231., 37.],
    ];
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (v.floor() as usize).min(3);
    let f = v - i as f32;
    let mut out = [0u8; 3];
    for c in 0..3 {
        out[c] = (A[i][c] + (A[i + 1][c] - A[i][c]) * f) as u8;
    }
    out
}

/// A light version of the density ramp, so paths drawn over it stay visible.
pub fn density_color_light(v: f32) -> [u8; 3] {
    let [r, g, b] = density_color(v);
    let mix = |c: u8| (c as f32 * 0.55 + 255.0 * 0.45) as u8;
    [mix(r), mix(g), mix(b)]
}

/// Blue–white–red diverging ramp for signed fields (v in -1..1).
pub fn diverging_color(v: f32) -> [u8; 3] {
    let v = if v.is_finite() {
        v.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let (r, g, b) = if v >= 0.0 {
        (255.0 - 75.0 * v, 255.0 - 200.0 * v, 255.0 - 210.0 * v)
    } else {
        let u = -v;
        (255.0 - 220.0 * u, 255.0 - 150.0 * u, 255.0 - 60.0 * u)
    };
    [r as u8, g as u8, b as u8]
}

#[cfg(test)]
mod tests {
    #[test]
    fn panels_take_rows_or_a_column_whichever_draws_them_larger() {
        let m = (58.0, 12.0, 30.0, 44.0);
        // The page: a wide, short figure keeps its panels in one row.
        assert_eq!(panel_columns(3, 1400.0, 300.0, m, Some(24.0)), 3);
        assert_eq!(panel_columns(2, 1400.0, 300.0, m, None), 2);
        // A 1280×720 slide (480 × 360 units): still one row.
        assert_eq!(panel_columns(2, 480.0, 360.0, m, Some(24.0)), 2);
        assert_eq!(panel_columns(2, 480.0, 293.0, m, None), 2);
        // A 4:3 slide (334 × 328 units): side by side the plots were 120 units wide, in one
        // column 264 × 90: the column.
        assert_eq!(panel_columns(2, 334.0, 328.0, m, Some(24.0)), 1);
        // Three score panels in a short 4:3 figure (305 × 177): a row sharing one y axis
        // (62 units each) beats any stacking (rows 14 units tall).
        assert_eq!(panel_columns(3, 305.0, 177.0, m, Some(24.0)), 3);
        // Without a shared axis a squarer figure takes rows of two.
        assert_eq!(panel_columns(4, 500.0, 500.0, m, None), 2);
        assert_eq!(panel_columns(1, 10.0, 10.0, m, None), 1);
    }

    #[test]
    fn readouts_keep_three_decimals_while_small() {
        assert_eq!(super::readout(0.0473), "0.047");
        assert_eq!(super::readout(3.14159), "3.142");
        assert_eq!(super::readout(12.345), "12.3");
        assert_eq!(super::readout(154.247), "154");
        assert_eq!(super::readout(f64::NAN), "NaN");
    }

    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let close = |a: Vec<f64>, b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
        };
        assert!(close(
            nice_ticks(0.0, 1.0, 5),
            &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        ));
        assert!(close(
            nice_ticks(-5.0, 5.0, 4),
            &[-5.0, -2.5, 0.0, 2.5, 5.0]
        ));
        assert!(nice_ticks(1.0, 1.0, 5).is_empty());
        assert_eq!(
            nice_ticks_at_least(16001.0, 16003.0, 10, 1.0),
            vec![16001.0, 16002.0, 16003.0]
        );
        assert_eq!(
            nice_ticks_at_least(0.0, 1000.0, 4, 1.0),
            nice_ticks(0.0, 1000.0, 4)
        );
        assert_eq!(tick_label(-0.5), "−0.5");
        assert_eq!(tick_label(1e-5), "1e-5");
    }

    #[test]
    fn plot_area_maps_data_to_pixels_and_back() {
        let a = PlotArea {
            px: (10.0, 110.0),
            py: (20.0, 220.0),
            x: (-5.0, 5.0),
            y: (0.0, 1.0),
        };
        assert_eq!(a.to_px(0.0), 60.0);
        assert!((a.data_x(a.to_px(2.5)) - 2.5).abs() < 1e-12);
        // Screen y grows downwards: the bottom of the area is the smallest value.
        assert_eq!(a.data_y(220.0), 0.0);
        assert_eq!(a.data_y(20.0), 1.0);
        assert!(a.contains(60.0, 225.0, 12.0) && !a.contains(60.0, 240.0, 12.0));
    }

    #[test]
    fn tiles_put_image_row_zero_on_top_with_gaps() {
        // Two 2×2 images side by side: 5 × 2 with a NaN column between them.
        let images = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let (v, w, h) = tiles(&images, 2, 2, 2, 2);
        assert_eq!((w, h), (5, 2));
        // Raster row 0 is the bottom: image row 1.
        assert_eq!(&v[..2], &[3.0, 4.0]);
        assert!(v[2].is_nan());
        assert_eq!(&v[w..w + 2], &[1.0, 2.0]);
    }

    #[test]
    fn grid_layout_draws_tiles_largest() {
        // 24 8×8 configurations: eight across in a wide box, four across (six rows) in a tall
        // one — the 1080p slide's half figure, where six across left its lower half empty.
        assert_eq!(grid_layout(24, 8, 8, 1200.0, 300.0, true), (8, 24));
        assert_eq!(grid_layout(24, 8, 8, 480.0, 818.0, true), (4, 24));
        assert_eq!(grid_layout(24, 8, 8, 400.0, 270.0, true), (6, 24));
        // 16 digits in the 1080p slide's half figure: six across (three rows) draw them
        // largest, 18 with the last row filled; without filling, eight across in two rows.
        assert_eq!(grid_layout(16, 28, 28, 500.0, 230.0, true), (6, 18));
        assert_eq!(grid_layout(16, 28, 28, 500.0, 230.0, false), (8, 16));
        // Whatever the box, no other column count draws the tiles larger.
        for (bw, bh) in [
            (480.0, 818.0),
            (300.0, 420.0),
            (900.0, 200.0),
            (100.0, 900.0),
        ] {
            let (best, _) = grid_layout(16, 28, 28, bw, bh, true);
            let scale = |c: usize| {
                let r = 16usize.div_ceil(c);
                (bw / (c * 29 - 1) as f64).min(bh / (r * 29 - 1) as f64)
            };
            for c in 1..=16 {
                assert!(
                    scale(c) <= scale(best) * (1.0 + 1e-3),
                    "{bw}×{bh}: {c} beats {best}"
                );
            }
        }
        // A square box and 16 square tiles: 4 × 4, not 5 + 5 + 5 + 1.
        assert_eq!(grid_layout(16, 8, 8, 500.0, 500.0, true), (4, 16));
        assert_eq!(grid_layout(0, 8, 8, 500.0, 500.0, true), (1, 1));
        // A prime count that cannot be filled: one row or one column.
        let (cols, tiles) = grid_layout(7, 8, 8, 500.0, 500.0, false);
        assert!(
            [1, 7].contains(&cols) && tiles == 7,
            "{cols} columns, {tiles} tiles"
        );
    }

    #[test]
    fn ramps_span_their_ends() {
        assert_eq!(density_color(0.0), [68, 1, 84]);
        assert_eq!(density_color(1.0), [253, 231, 37]);
        assert_eq!(density_color(f32::NAN), density_color(0.0));
        assert_eq!(diverging_color(0.0), [255, 255, 255]);
        let (pos, neg) = (diverging_color(1.0), diverging_color(-1.0));
        assert!(pos[0] > pos[2] && neg[2] > neg[0], "red for +, blue for −");
    }
}

/// Names a title may shorten to, last, where even without its details it does not fit (a
/// 4:3 slide's right-hand panel): "PF-ODE" is how the literature shortens it (Karras et al.).
const ABBREVIATIONS: [(&str, &str); 1] = [("probability-flow ODE", "PF-ODE")];

/// `text` with its first long name ([`ABBREVIATIONS`]) shortened; `None` when it has none.
pub fn abbreviated(text: &str) -> Option<String> {
    ABBREVIATIONS
        .iter()
        .find(|(long, _)| text.contains(long))
        .map(|(long, short)| text.replacen(long, short, 1))
}

/// `text` without its last detail: what follows its last " — ", or a closing parenthetical
/// (" (…)" ending the text), whichever comes later; `None` when it has neither. Labels put what
/// can go there: "probability-flow ODE (Heun)", "time t (integrated from T down to 0)",
/// "Data p₀(x) — drag a mode, or draw".
pub fn without_detail(text: &str) -> Option<&str> {
    let dash = text.rfind(" — ");
    let paren = text.strip_suffix(')').and_then(|inner| {
        let mut depth = 1;
        for (i, ch) in inner.char_indices().rev() {
            match ch {
                ')' => depth += 1,
                '(' => {
                    depth -= 1;
                    if depth == 0 {
                        return inner[..i].strip_suffix(' ').map(|head| head.len());
                    }
                }
                _ => {}
            }
        }
        None
    });
    let cut = match (dash, paren) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b)?,
    };
    Some(text[..cut].trim_end_matches(':')).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod detail_tests {
    use super::without_detail;

    #[test]
    fn details_go_last_first() {
        assert_eq!(
            without_detail("probability-flow ODE (Heun)"),
            Some("probability-flow ODE")
        );
        assert_eq!(
            without_detail("time t (integrated from T down to 0)"),
            Some("time t")
        );
        assert_eq!(
            without_detail("Data p₀(x) — drag a mode, or draw"),
            Some("Data p₀(x)")
        );
        // The later of the two; nested parentheses are one detail.
        let score =
            "Score F(x, t) at t = 0.5: learned vs exact — over training pairs (x_t, target)";
        let once = without_detail(score).unwrap();
        assert_eq!(
            once,
            "Score F(x, t) at t = 0.5: learned vs exact — over training pairs"
        );
        assert_eq!(
            without_detail(once),
            Some("Score F(x, t) at t = 0.5: learned vs exact")
        );
        assert_eq!(
            without_detail("W₁ = 0.0321 (to the true density (exact))"),
            Some("W₁ = 0.0321")
        );
        // A parenthesis that is part of a name is not a detail: p₀(x) has no space before it.
        assert_eq!(without_detail("Data p₀(x)"), None);
        assert_eq!(without_detail("Training loss"), None);
        assert_eq!(
            super::abbreviated("probability-flow ODE").as_deref(),
            Some("PF-ODE")
        );
        assert_eq!(super::abbreviated("reverse SDE"), None);
        assert_eq!(without_detail("(all of it)"), None);
    }
}
