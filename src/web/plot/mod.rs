//! A small plotting layer on the 2D canvas, made for a projector: sizes in CSS pixels scaled by
//! `devicePixelRatio` (text stays sharp on HiDPI screens), axes with round-number ticks, labels
//! with units, heatmaps drawn from an `ImageData` in one call, lines, bars, points and arrows;
//! legends and readouts over the data in `overlay`; titles (set when the figure is done, one size
//! per line) in `titles`; the loss figure every model shows in `loss`.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use web_sys::{CanvasRenderingContext2d, OffscreenCanvas};

use super::surface;

mod loss;
mod overlay;
mod titles;
pub use super::surface::{describe, raster};
pub use crate::figure::{
    colors, density_color_light, diverging_color, grid_layout, nice_ticks, nice_ticks_at_least,
    panel_columns, readout, tick_label, tiles, PlotArea,
};
use overlay::fit;
pub use overlay::LegendEntry;
use titles::Titles;

/// A panel's margins around its plot (left, right, top, bottom; drawing units): the y axis's
/// ticks and label, the title, the x axis's ticks and label.
const PANEL_MARGINS: (f64, f64, f64, f64) = (58.0, 12.0, 30.0, 44.0);

/// The gap between plots side by side that share their y axis ([`Figure::panels`]): room for the
/// x axes' end labels.
const SHARED_GAP: f64 = 24.0;

/// A canvas prepared for drawing one figure.
pub struct Figure {
    /// The canvas's id (its text alternative is set by that id).
    pub id: String,
    pub ctx: CanvasRenderingContext2d,
    /// The figure's size in its drawing units (CSS pixels divided by the zoom).
    pub width: f64,
    pub height: f64,
    /// Drawing units per CSS pixel.
    pub zoom: f64,
    /// The panels' titles, measured and set when the figure is done ([`Panel::title`]).
    titles: Titles,
}

/// The figure on canvas `id`, prepared for drawing (None if the page has no such canvas, or
/// while another figure is exported).
pub fn figure(id: &str) -> Option<Figure> {
    Figure::new(id)
}

impl Figure {
    /// Sizes the canvas backing store to its CSS box times `devicePixelRatio` and clears it.
    pub fn new(id: &str) -> Option<Figure> {
        let zoom = surface::zoom();
        let (ctx, dpr, w, h) = surface::context_for(id)?;
        ctx.set_transform(dpr * zoom, 0.0, 0.0, dpr * zoom, 0.0, 0.0)
            .ok()?;
        let (w, h) = (w / zoom, h / zoom);
        ctx.clear_rect(0.0, 0.0, w, h);
        ctx.set_fill_style_str("#ffffff");
        ctx.fill_rect(0.0, 0.0, w, h);
        Some(Figure {
            id: id.to_string(),
            ctx,
            width: w,
            height: h,
            zoom,
            titles: Rc::default(),
        })
    }

    /// `n` panels over the same axes `x` × `y`, in one row or one column, whichever draws them
    /// larger ([`panel_columns`]). A row shares one y axis, labelled on the first panel (the
    /// others keep its grid lines), with a narrow gap between plots: a 4:3 slide's three score
    /// panels, each with an axis of its own, had plots 32 units wide; sharing one, 62.
    pub fn panels(&self, n: usize, x: (f64, f64), y: (f64, f64)) -> Vec<Panel> {
        let n = n.max(1);
        let cols = panel_columns(n, self.width, self.height, PANEL_MARGINS, Some(SHARED_GAP));
        if cols < n {
            return self
                .fractions(n, cols)
                .into_iter()
                .map(|frac| self.panel(frac, x, y))
                .collect();
        }
        let (left, right, _, _) = PANEL_MARGINS;
        let plot = (self.width - left - right - SHARED_GAP * (n - 1) as f64) / n as f64;
        (0..n)
            .map(|k| {
                let mut p = self.panel((0.0, 0.0, 1.0, 1.0), x, y);
                let x0 = left + k as f64 * (plot + SHARED_GAP);
                p.px = (x0, x0 + plot.max(10.0));
                p.y_labels = k == 0;
                p.beside = SHARED_GAP - 6.0;
                p
            })
            .collect()
    }

    /// Where `n` panels with axes of their own go ([`Figure::panel`]'s fractions): in one row,
    /// rows of fewer, or one column, whichever draws them larger ([`panel_columns`]).
    pub fn panel_fractions(&self, n: usize) -> Vec<(f64, f64, f64, f64)> {
        let n = n.max(1);
        self.fractions(
            n,
            panel_columns(n, self.width, self.height, PANEL_MARGINS, None),
        )
    }

    fn fractions(&self, n: usize, cols: usize) -> Vec<(f64, f64, f64, f64)> {
        let rows = n.div_ceil(cols);
        (0..n)
            .map(|k| {
                let (row, col) = ((k / cols) as f64, (k % cols) as f64);
                let (w, h) = (1.0 / cols as f64, 1.0 / rows as f64);
                (col * w, row * h, (col + 1.0) * w, (row + 1.0) * h)
            })
            .collect()
    }

    /// A panel occupying the given fraction of the figure (x0, y0, x1, y1 in 0..1).
    pub fn panel(&self, frac: (f64, f64, f64, f64), x: (f64, f64), y: (f64, f64)) -> Panel {
        let (left, right, top, bottom) = PANEL_MARGINS;
        let px0 = self.width * frac.0 + left;
        let px1 = self.width * frac.2 - right;
        let py0 = self.height * frac.1 + top;
        let py1 = self.height * frac.3 - bottom;
        Panel {
            ctx: self.ctx.clone(),
            px: (px0, px1.max(px0 + 10.0)),
            py: (py0, py1.max(py0 + 10.0)),
            x,
            y,
            log_y: false,
            whole_x: false,
            y_labels: true,
            beside: right + left - 10.0,
            zoom: self.zoom,
            canvas_w: self.width,
            titles: self.titles.clone(),
        }
    }

    /// A panel in the given fraction of the figure, shrunk to `aspect` (width / height) so
    /// that an image drawn in it keeps square pixels; unit axes.
    pub fn aspect_panel(&self, frac: (f64, f64, f64, f64), aspect: f64) -> Panel {
        self.aspect_panel_in(self.panel(frac, (0.0, 1.0), (0.0, 1.0)), aspect)
    }

    /// [`Figure::aspect_panel`] for an image with at most a one-line caption beneath (no axis):
    /// half the bottom margin, which gives a grid of digits or spins that much more height
    /// (what counts on a 720p slide, where a figure is short).
    pub fn image_panel(&self, frac: (f64, f64, f64, f64), aspect: f64) -> Panel {
        self.aspect_panel_in(self.image_area(frac), aspect)
    }

    /// The grid of about `n` tiles of `w × h` cells that draws them largest in the box
    /// [`Figure::image_panel`] gives the fraction `frac` ([`grid_layout`]): `(columns, tiles)`.
    pub fn grid(
        &self,
        frac: (f64, f64, f64, f64),
        n: usize,
        (w, h): (usize, usize),
        fill: bool,
    ) -> (usize, usize) {
        let p = self.image_area(frac);
        grid_layout(n, w, h, p.px.1 - p.px.0, p.py.1 - p.py.0, fill)
    }

    fn image_area(&self, frac: (f64, f64, f64, f64)) -> Panel {
        let mut p = self.panel(frac, (0.0, 1.0), (0.0, 1.0));
        p.py.1 = (p.py.1 + 22.0)
            .min(self.height * frac.3 - 20.0)
            .max(p.py.0 + 10.0);
        p
    }

    fn aspect_panel_in(&self, mut p: Panel, aspect: f64) -> Panel {
        let (w, h) = (p.px.1 - p.px.0, p.py.1 - p.py.0);
        if w / h > aspect {
            let nw = h * aspect;
            p.px = (p.px.0 + (w - nw) / 2.0, p.px.0 + (w + nw) / 2.0);
        } else {
            let nh = w / aspect;
            p.py = (p.py.0, p.py.0 + nh);
        }
        p
    }

    /// A message in the middle of the figure (used when there is nothing to show yet), set
    /// smaller and then cut at a word where the figure is narrower than it (a zoomed slide).
    pub fn note(&self, text: &str) {
        let c = &self.ctx;
        let room = self.width - 16.0;
        let mut size = 15.0;
        loop {
            c.set_font(&format!("{size}px system-ui, sans-serif"));
            let wide = c.measure_text(text).map(|m| m.width()).unwrap_or(0.0);
            if wide <= room || size <= 11.0 {
                break;
            }
            size -= 1.0;
        }
        c.set_fill_style_str("#868e96");
        c.set_text_align("center");
        let _ = c.fill_text(&fit(c, text, room), self.width / 2.0, self.height / 2.0);
    }
}

/// Axes mapping data coordinates to a rectangle of the canvas.
pub struct Panel {
    pub ctx: CanvasRenderingContext2d,
    pub px: (f64, f64),
    pub py: (f64, f64),
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub log_y: bool,
    /// Ticks on the x axis only at whole numbers (training steps).
    pub whole_x: bool,
    /// The y axis's tick labels and label drawn (not on the second of panels sharing one).
    pub y_labels: bool,
    /// How far text may run past the plot's right edge (up to the next panel's text).
    pub beside: f64,
    /// The figure's zoom (drawing units per CSS pixel).
    pub zoom: f64,
    /// The figure's width in drawing units.
    pub canvas_w: f64,
    /// Where its title waits for the figure to be done.
    titles: Titles,
}

impl Panel {
    /// A line width no thinner than 2 CSS pixels while presenting (a projector washes thin
    /// lines out); as asked otherwise.
    fn width(&self, width: f64) -> f64 {
        if self.zoom > 1.0 {
            width.max(2.0 / self.zoom)
        } else {
            width
        }
    }

    pub fn sx(&self, x: f64) -> f64 {
        PlotArea {
            px: self.px,
            py: self.py,
            x: self.x,
            y: self.y,
        }
        .to_px(x)
    }

    /// The panel's mapping in CSS pixels (drawing units times the zoom), to keep for pointer
    /// handlers.
    pub fn area(&self) -> PlotArea {
        PlotArea {
            px: (self.px.0 * self.zoom, self.px.1 * self.zoom),
            py: (self.py.0 * self.zoom, self.py.1 * self.zoom),
            x: self.x,
            y: self.y,
        }
    }

    pub fn sy(&self, y: f64) -> f64 {
        let (y, y0, y1) = if self.log_y {
            (y.max(1e-300).log10(), self.y.0.log10(), self.y.1.log10())
        } else {
            (y, self.y.0, self.y.1)
        };
        self.py.1 - (y - y0) / (y1 - y0) * (self.py.1 - self.py.0)
    }

    fn clip(&self) {
        self.ctx.save();
        self.ctx.begin_path();
        self.ctx.rect(
            self.px.0,
            self.py.0,
            self.px.1 - self.px.0,
            self.py.1 - self.py.0,
        );
        self.ctx.clip();
    }

    /// Grid, axes, tick labels, title and axis labels.
    pub fn axes(&self, title: &str, xlabel: &str, ylabel: &str) {
        let c = &self.ctx;
        c.set_line_width(self.width(1.0));
        c.set_font("12px system-ui, sans-serif");
        c.set_fill_style_str(colors::INK);
        c.set_text_align("center");
        c.set_text_baseline("top");
        // Tick labels stay inside the canvas (the last one may sit on the plot's right edge).
        let right = self.canvas_w - 2.0;
        for t in nice_ticks_at_least(
            self.x.0,
            self.x.1,
            ((self.px.1 - self.px.0) / 70.0) as usize,
            if self.whole_x { 1.0 } else { 0.0 },
        ) {
            let x = self.sx(t);
            c.set_stroke_style_str(colors::GRID);
            c.begin_path();
            c.move_to(x, self.py.0);
            c.line_to(x, self.py.1);
            c.stroke();
            let label = tick_label(t);
            let half = c
                .measure_text(&label)
                .map(|m| m.width() / 2.0)
                .unwrap_or(0.0);
            let _ = c.fill_text(&label, x.min(right - half), self.py.1 + 5.0);
        }
        c.set_text_align("right");
        c.set_text_baseline("middle");
        let yticks: Vec<f64> = if self.log_y {
            let (a, b) = (
                self.y.0.log10().ceil() as i32,
                self.y.1.log10().floor() as i32,
            );
            (a..=b).map(|e| 10f64.powi(e)).collect()
        } else {
            nice_ticks(
                self.y.0,
                self.y.1,
                ((self.py.1 - self.py.0) / 40.0) as usize,
            )
        };
        let mut widest: f64 = 0.0;
        for t in yticks {
            let y = self.sy(t);
            c.set_stroke_style_str(colors::GRID);
            c.begin_path();
            c.move_to(self.px.0, y);
            c.line_to(self.px.1, y);
            c.stroke();
            if self.y_labels {
                let label = tick_label(t);
                widest = widest.max(c.measure_text(&label).map(|m| m.width()).unwrap_or(0.0));
                let _ = c.fill_text(&label, self.px.0 - 5.0, y);
            }
        }
        c.set_stroke_style_str(colors::INK);
        c.stroke_rect(
            self.px.0,
            self.py.0,
            self.px.1 - self.px.0,
            self.py.1 - self.py.0,
        );
        self.title(title);
        c.set_fill_style_str(colors::INK);
        c.set_font("13px system-ui, sans-serif");
        c.set_text_align("center");
        c.set_text_baseline("top");
        // No wider than the panel and its margins (panels side by side: the next one's label),
        // and centred under the panel without running past the canvas's right edge.
        let centre = (self.px.0 + self.px.1) / 2.0;
        let room = (self.px.1 - self.px.0 + self.beside).min(2.0 * (self.canvas_w - 2.0 - centre));
        let xlabel = overlay::fit_detail(c, xlabel, room);
        let _ = c.fill_text(&xlabel, centre, self.py.1 + 22.0);
        if !self.y_labels {
            return;
        }
        c.save();
        // The y label's centre line 44 units left of the axis, or further where the tick
        // labels reach it (0.025 at 12 px nearly did), within the panel's left margin.
        let label_x = (self.px.0 - 5.0 - widest - 11.0)
            .min(self.px.0 - 44.0)
            .max(self.px.0 - 52.0)
            .max(8.0);
        let _ = c.translate(label_x, (self.py.0 + self.py.1) / 2.0);
        let _ = c.rotate(-std::f64::consts::FRAC_PI_2);
        c.set_text_baseline("middle");
        let _ = c.fill_text(ylabel, 0.0, 0.0);
        c.restore();
    }

    /// A polyline through (xs[i], ys[i]); non-finite points break the line.
    pub fn line(&self, xs: &[f64], ys: &[f64], color: &str, width: f64, dash: bool) {
        self.clip();
        let c = &self.ctx;
        c.set_stroke_style_str(color);
        c.set_line_width(self.width(width));
        c.set_line_join("round");
        if dash {
            let _ = c.set_line_dash(&js_sys::Array::of2(
                &JsValue::from(6.0),
                &JsValue::from(4.0),
            ));
        }
        c.begin_path();
        let mut pen = false;
        for (&x, &y) in xs.iter().zip(ys) {
            if x.is_finite() && y.is_finite() {
                let (sx, sy) = (self.sx(x), self.sy(y).clamp(-1e4, 1e4));
                if pen {
                    c.line_to(sx, sy)
                } else {
                    c.move_to(sx, sy)
                }
                pen = true;
            } else {
                pen = false;
            }
        }
        c.stroke();
        c.restore();
    }

    /// Many thin polylines at once (sample paths), in one stroke.
    pub fn paths(&self, xs: &[f64], paths: &[Vec<f32>], color: &str, width: f64) {
        self.clip();
        let c = &self.ctx;
        c.set_stroke_style_str(color);
        c.set_line_width(self.width(width));
        c.begin_path();
        for p in paths {
            let mut pen = false;
            for (&x, &y) in xs.iter().zip(p) {
                if !y.is_finite() {
                    pen = false;
                    continue;
                }
                let (sx, sy) = (self.sx(x), self.sy(y as f64).clamp(-1e4, 1e4));
                if pen {
                    c.line_to(sx, sy)
                } else {
                    c.move_to(sx, sy)
                }
                pen = true;
            }
        }
        c.stroke();
        c.restore();
    }

    /// Histogram bars: `edges` has one more entry than `heights`.
    pub fn bars(&self, edges: &[f64], heights: &[f64], fill: &str) {
        self.clip();
        let c = &self.ctx;
        c.set_fill_style_str(fill);
        for (i, &h) in heights.iter().enumerate() {
            if h > 0.0 && h.is_finite() {
                let (x0, x1) = (self.sx(edges[i]), self.sx(edges[i + 1]));
                let (y0, y1) = (
                    self.sy(h),
                    self.sy(self.y.0.max(if self.log_y { 1e-300 } else { 0.0 })),
                );
                c.fill_rect(x0, y0, (x1 - x0).max(0.5), y1 - y0);
            }
        }
        c.restore();
    }

    /// Points (x, y) as small squares.
    pub fn points(&self, xs: &[f32], ys: &[f32], color: &str, size: f64) {
        self.clip();
        self.ctx.set_fill_style_str(color);
        for (&x, &y) in xs.iter().zip(ys) {
            if x.is_finite() && y.is_finite() {
                self.ctx.fill_rect(
                    self.sx(x as f64) - size / 2.0,
                    self.sy(y as f64) - size / 2.0,
                    size,
                    size,
                );
            }
        }
        self.ctx.restore();
    }

    /// A heatmap of `values` (row-major, `rows` along y from y.0 to y.1, `cols` along x), mapped
    /// to colours by `color(v) -> [r, g, b]`; drawn as one image, smoothed by the canvas.
    pub fn heatmap(
        &self,
        values: &[f32],
        cols: usize,
        rows: usize,
        color: &dyn Fn(f32) -> [u8; 3],
    ) {
        if let Some(image) = raster(values, cols, rows, color) {
            self.image(&image);
        }
    }

    /// Draws a prepared raster (see [`raster`]) over the whole panel.
    pub fn image(&self, image: &OffscreenCanvas) {
        self.ctx.set_image_smoothing_enabled(true);
        let _ = self.ctx.draw_image_with_offscreen_canvas_and_dw_and_dh(
            image,
            self.px.0,
            self.py.0,
            self.px.1 - self.px.0,
            self.py.1 - self.py.0,
        );
    }

    /// Draws a prepared raster with hard pixel edges (spin configurations).
    pub fn image_sharp(&self, image: &OffscreenCanvas) {
        self.ctx.set_image_smoothing_enabled(false);
        let _ = self.ctx.draw_image_with_offscreen_canvas_and_dw_and_dh(
            image,
            self.px.0,
            self.py.0,
            self.px.1 - self.px.0,
            self.py.1 - self.py.0,
        );
        self.ctx.set_image_smoothing_enabled(true);
    }

    /// An arrow through (x, y), centred on it, along a direction given in screen pixels;
    /// clipped to the plot.
    pub fn arrow(&self, x: f64, y: f64, dx_px: f64, dy_px: f64, color: &str) {
        // Centred on its point (a quiver plot's arrows pivot in the middle), inside the plot.
        let (sx, sy) = (self.sx(x) - dx_px / 2.0, self.sy(y) - dy_px / 2.0);
        let (ex, ey) = (sx + dx_px, sy + dy_px);
        let len = (dx_px * dx_px + dy_px * dy_px).sqrt();
        if len < 1.0 {
            return;
        }
        self.clip();
        let (ux, uy) = (dx_px / len, dy_px / len);
        let head = (len * 0.35).min(6.0);
        let c = &self.ctx;
        c.set_stroke_style_str(color);
        c.set_fill_style_str(color);
        c.set_line_width(self.width(1.3));
        c.begin_path();
        c.move_to(sx, sy);
        c.line_to(ex, ey);
        c.stroke();
        c.begin_path();
        c.move_to(ex, ey);
        c.line_to(ex - head * (ux - 0.5 * uy), ey - head * (uy + 0.5 * ux));
        c.line_to(ex - head * (ux + 0.5 * uy), ey - head * (uy - 0.5 * ux));
        c.close_path();
        c.fill();
        c.restore();
    }
}
