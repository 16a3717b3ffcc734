//! Where a figure is drawn: the page's canvas (sized to its CSS box times `devicePixelRatio`),
//! or, while one is exported, an off-screen canvas at 2× (PNG) or svgcanvas's recording context
//! (SVG); the zoom of presenter mode; rasters for images and heatmaps; each canvas's text
//! alternative. `plot` draws on what this hands it.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

thread_local! {
    /// Presenter mode draws every plot zoomed (text, margins and lines; see `web::present`).
    static ZOOM: std::cell::Cell<f64> = const { std::cell::Cell::new(1.0) };
}

/// Where an exported figure is drawn instead of its canvas.
#[derive(Clone)]
pub enum ExportTarget {
    /// An off-screen canvas, at this many pixels per CSS pixel (PNG).
    Canvas(HtmlCanvasElement, f64),
    /// A context with the 2D canvas's API that records what is drawn (SVG: svgcanvas), in CSS
    /// pixels.
    Context(CanvasRenderingContext2d),
}

thread_local! {
    /// While a figure is exported: its canvas id and where it is drawn instead (every other
    /// figure is skipped meanwhile).
    static EXPORT: std::cell::RefCell<Option<(String, ExportTarget)>> =
        const { std::cell::RefCell::new(None) };
}

/// Draws the figure of canvas `id` into `target` while `draw` runs (the page's drawing of every
/// figure; the others are skipped): one description of each chart, on screen, in a PNG of any
/// size and in SVG.
pub fn export_into(id: &str, target: ExportTarget, draw: impl FnOnce()) {
    EXPORT.with(|e| *e.borrow_mut() = Some((id.to_string(), target)));
    draw();
    EXPORT.with(|e| *e.borrow_mut() = None);
}

/// Sets the zoom of every figure drawn from now on (1: the ordinary page).
pub fn set_zoom(zoom: f64) {
    ZOOM.with(|z| z.set(zoom.max(1.0)));
}

/// The zoom figures are drawn at now.
pub fn zoom() -> f64 {
    ZOOM.with(|z| z.get())
}

/// The context to draw canvas `canvas`'s figure (`w` × `h` CSS pixels) on, and its pixels per
/// CSS pixel: the canvas itself, or the export target while it is exported; `None` while
/// another figure is exported (or without a 2D context).
pub fn context_for(
    canvas: &HtmlCanvasElement,
    w: f64,
    h: f64,
) -> Option<(CanvasRenderingContext2d, f64)> {
    // A canvas sized to the CSS box times `dpr`, and its context.
    let sized = |target: &HtmlCanvasElement, dpr: f64| {
        let (bw, bh) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
        if target.width() != bw || target.height() != bh {
            target.set_width(bw);
            target.set_height(bh);
        }
        target
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
            .map(|c| (c, dpr))
    };
    match EXPORT.with(|e| e.borrow().clone()) {
        Some((id, _)) if id != canvas.id() => None,
        Some((_, ExportTarget::Canvas(target, ratio))) => sized(&target, ratio),
        Some((_, ExportTarget::Context(ctx))) => Some((ctx, 1.0)),
        None => sized(canvas, web_sys::window()?.device_pixel_ratio().max(1.0)),
    }
}

/// Gives canvas `id` its text alternative (`role="img"` and an `aria-label` saying what it shows:
/// what a screen reader reads, and what a test can check) and, for a figure drawn from the
/// network, the training step it shows (`data-step`; none: nothing learned is drawn).
pub fn describe(id: &str, text: &str, step: Option<u64>) {
    let Some(c) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    else {
        return;
    };
    let _ = c.set_attribute("role", "img");
    let _ = c.set_attribute("aria-label", text);
    let _ = match step {
        Some(s) => c.set_attribute("data-step", &s.to_string()),
        None => c.remove_attribute("data-step"),
    };
}

/// Rasterises `values` (row-major, row 0 at the bottom) into an off-screen canvas of one pixel
/// per value, to draw (scaled) with [`Panel::image`] as often as needed.
pub fn raster(
    values: &[f32],
    cols: usize,
    rows: usize,
    color: &dyn Fn(f32) -> [u8; 3],
) -> Option<HtmlCanvasElement> {
    if values.len() != cols * rows || cols == 0 || rows == 0 {
        return None;
    }
    let mut rgba = vec![0u8; cols * rows * 4];
    for r in 0..rows {
        for k in 0..cols {
            // Image row 0 is the top: the largest y.
            let [red, green, blue] = color(values[(rows - 1 - r) * cols + k]);
            let o = (r * cols + k) * 4;
            rgba[o..o + 4].copy_from_slice(&[red, green, blue, 255]);
        }
    }
    let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&rgba),
        cols as u32,
        rows as u32,
    )
    .ok()?;
    let canvas: HtmlCanvasElement = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into()
        .ok()?;
    canvas.set_width(cols as u32);
    canvas.set_height(rows as u32);
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    ctx.put_image_data(&image, 0.0, 0.0).ok()?;
    Some(canvas)
}
