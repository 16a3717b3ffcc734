//! Where a figure is drawn: the page's canvases live in the lab's worker as `OffscreenCanvas`es
//! (the page hands each over with `transferControlToOffscreen` and reports its CSS size as it
//! changes), sized to their CSS box times `devicePixelRatio`; while a figure is exported, an
//! off-screen canvas at 2× (PNG) or a context that records the drawing (SVG) instead; the zoom
//! of presenter mode; rasters for images and heatmaps; each canvas's text alternative.
//! `plot` draws on what this hands it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, OffscreenCanvas};

/// A page canvas drawn from the worker, and its CSS size.
struct Canvas {
    canvas: OffscreenCanvas,
    width: f64,
    height: f64,
}

thread_local! {
    /// Presenter mode draws every plot zoomed (text, margins and lines; see `web::shell::present`).
    static ZOOM: Cell<f64> = const { Cell::new(1.0) };
    /// The page's `devicePixelRatio`.
    static DPR: Cell<f64> = const { Cell::new(1.0) };
    static CANVASES: RefCell<HashMap<String, Canvas>> = RefCell::new(HashMap::new());
}

/// Where an exported figure is drawn instead of its canvas.
#[derive(Clone)]
pub enum ExportTarget {
    /// An off-screen canvas, at this many pixels per CSS pixel (PNG).
    Canvas(OffscreenCanvas, f64),
    /// A context with the 2D canvas's API that records what is drawn (SVG), in CSS pixels.
    Context(CanvasRenderingContext2d),
}

thread_local! {
    /// While a figure is exported: its canvas id and where it is drawn instead (every other
    /// figure is skipped meanwhile).
    static EXPORT: RefCell<Option<(String, ExportTarget)>> = const { RefCell::new(None) };
}

/// Takes the page's canvas `id` (transferred to this worker) and its CSS size.
pub fn adopt(id: &str, canvas: OffscreenCanvas, width: f64, height: f64) {
    CANVASES.with(|c| {
        c.borrow_mut().insert(
            id.to_string(),
            Canvas {
                canvas,
                width,
                height,
            },
        )
    });
}

/// The CSS size of canvas `id` changed (a resize, presenter mode, another model shown);
/// returns whether anything changed.
pub fn resize(id: &str, width: f64, height: f64) -> bool {
    CANVASES.with(|c| match c.borrow_mut().get_mut(id) {
        Some(cv) if (cv.width, cv.height) != (width, height) => {
            cv.width = width;
            cv.height = height;
            true
        }
        _ => false,
    })
}

/// Sets the page's `devicePixelRatio`; returns whether it changed.
pub fn set_dpr(dpr: f64) -> bool {
    DPR.with(|d| d.replace(dpr.max(0.5)) != dpr.max(0.5))
}

/// The CSS size of canvas `id` (zero while its model is not on show), if the page has it.
pub fn css_size(id: &str) -> Option<(f64, f64)> {
    CANVASES.with(|c| c.borrow().get(id).map(|cv| (cv.width, cv.height)))
}

/// The pixels canvas `id` shows now (for tests: the page cannot read a transferred canvas).
pub fn pixels(id: &str) -> Option<web_sys::ImageData> {
    CANVASES.with(|c| {
        let c = c.borrow();
        let cv = c.get(id)?;
        let (w, h) = (cv.canvas.width(), cv.canvas.height());
        let ctx: CanvasRenderingContext2d = cv.canvas.get_context("2d").ok()??.unchecked_into();
        ctx.get_image_data(0.0, 0.0, w.max(1) as f64, h.max(1) as f64)
            .ok()
    })
}

/// Draws the figure of canvas `id` into `target` while `draw` runs (the page's drawing of every
/// figure; the others are skipped): one description of each chart, on screen, in a PNG of any
/// size and in SVG.
pub fn export_into(id: &str, target: ExportTarget, draw: impl FnOnce()) {
    EXPORT.with(|e| *e.borrow_mut() = Some((id.to_string(), target)));
    draw();
    EXPORT.with(|e| *e.borrow_mut() = None);
}

/// Sets the zoom of every figure drawn from now on (1: the ordinary page); returns whether it
/// changed.
pub fn set_zoom(zoom: f64) -> bool {
    ZOOM.with(|z| z.replace(zoom.max(1.0)) != zoom.max(1.0))
}

/// The zoom figures are drawn at now.
pub fn zoom() -> f64 {
    ZOOM.with(|z| z.get())
}

/// A 2D context of an off-screen canvas, sized `w` × `h` CSS pixels at `dpr` pixels each.
fn sized(target: &OffscreenCanvas, w: f64, h: f64, dpr: f64) -> Option<CanvasRenderingContext2d> {
    let (bw, bh) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
    if target.width() != bw || target.height() != bh {
        target.set_width(bw);
        target.set_height(bh);
    }
    // An OffscreenCanvasRenderingContext2D has the drawing methods the plots use, under the
    // same names (web-sys calls them by name).
    target
        .get_context("2d")
        .ok()
        .flatten()
        .map(|c| c.unchecked_into::<CanvasRenderingContext2d>())
}

/// The context to draw canvas `id`'s figure on, its pixels per CSS pixel and its CSS size: the
/// canvas itself, or the export target while it is exported; `None` while another figure is
/// exported (or when the page has no such canvas).
pub fn context_for(id: &str) -> Option<(CanvasRenderingContext2d, f64, f64, f64)> {
    let (canvas, w, h) = CANVASES.with(|c| {
        c.borrow()
            .get(id)
            .map(|cv| (cv.canvas.clone(), cv.width.max(50.0), cv.height.max(50.0)))
    })?;
    match EXPORT.with(|e| e.borrow().clone()) {
        Some((other, _)) if other != id => None,
        Some((_, ExportTarget::Canvas(target, ratio))) => {
            sized(&target, w, h, ratio).map(|c| (c, ratio, w, h))
        }
        Some((_, ExportTarget::Context(ctx))) => Some((ctx, 1.0, w, h)),
        None => {
            let dpr = DPR.with(|d| d.get()).max(1.0);
            sized(&canvas, w, h, dpr).map(|c| (c, dpr, w, h))
        }
    }
}

/// Gives canvas `id` its text alternative (`role="img"` and an `aria-label` saying what it shows:
/// what a screen reader reads, and what a test can check) and, for a figure drawn from the
/// network, the training step it shows (`data-step`; none: nothing learned is drawn).
pub fn describe(id: &str, text: &str, step: Option<u64>) {
    use super::outbox::set_attr;
    set_attr(id, "role", Some("img"));
    set_attr(id, "aria-label", Some(text));
    set_attr(id, "data-step", step.map(|s| s.to_string()).as_deref());
}

/// Rasterises `values` (row-major, row 0 at the bottom) into an off-screen canvas of one pixel
/// per value, to draw (scaled) with [`Panel::image`] as often as needed.
pub fn raster(
    values: &[f32],
    cols: usize,
    rows: usize,
    color: &dyn Fn(f32) -> [u8; 3],
) -> Option<OffscreenCanvas> {
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
    // Copied out of the module's memory first: in the threaded module that memory is a
    // SharedArrayBuffer, which `new ImageData` refuses to view.
    let pixels = js_sys::Uint8ClampedArray::new_with_length(rgba.len() as u32);
    pixels.copy_from(&rgba);
    let image =
        web_sys::ImageData::new_with_js_u8_clamped_array_and_sh(&pixels, cols as u32, rows as u32)
            .ok()?;
    let canvas = OffscreenCanvas::new(cols as u32, rows as u32).ok()?;
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.unchecked_into();
    ctx.put_image_data(&image, 0.0, 0.0).ok()?;
    Some(canvas)
}
