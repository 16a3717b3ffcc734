//! What a panel draws over its data: legends and metric readouts, and the layout that keeps
//! them off the data ([`Overlays`]).

use wasm_bindgen::JsValue;
use web_sys::CanvasRenderingContext2d;

use super::{colors, Panel};
pub(super) use crate::figure::without_detail;

/// One legend line: label, colour, dashed.
pub type LegendEntry<'a> = (&'a str, &'a str, bool);

const LEGEND_FONT: &str = "12px system-ui, sans-serif";
const LEGEND_LINE: f64 = 18.0;
/// A legend line's width besides its label: the line sample and the gaps around it.
const LEGEND_KEY: f64 = 36.0;
/// The same in a legend laid out as one row: a shorter line sample and the gap after it.
const ROW_KEY: f64 = 14.0;
const READOUT_FONT: &str = "600 13px system-ui, sans-serif";
const READOUT_LINE: f64 = 24.0;
/// Inside margin between the plot area's edge and an overlay.
const MARGIN: f64 = 6.0;

/// Readouts in a panel's top-left corner (one per line) and a legend in its top-right corner
/// (under the readouts when the panel is too narrow for both side by side), laid out before the
/// data is drawn: [`Panel::make_room`] raises the panel's y range so the data stays below them,
/// and [`Overlays::draw`] draws them over the data.
pub struct Overlays<'a> {
    readouts: &'a [String],
    legend: &'a [LegendEntry<'a>],
    /// The legend's top, in pixels below the plot area's top margin.
    legend_top: f64,
    /// The widths the readouts and the legend's labels may take (less than the plot's where
    /// they shed details to stay side by side).
    readout_room: f64,
    label_room: f64,
    /// Readouts two to a line, in reading order (a short, wide plot: a 4:3 slide's energy
    /// histogram, whose four lines took more than half its height and covered its bars): the
    /// second column's offset from the first, and its room. `None`: one per line.
    second_column: Option<(f64, f64)>,
    /// The legend as one row under the readouts instead of a column beside them (a short plot:
    /// the 4:3 slide's |M| histogram, whose three-line legend beside two readouts took two
    /// thirds of its height and covered its bars).
    legend_row: bool,
}

impl Overlays<'_> {
    pub fn draw(&self, p: &Panel) {
        if self.legend_row {
            p.legend_in_row(self.legend, self.legend_top);
        } else if !self.legend.is_empty() {
            p.legend_below(self.legend, self.legend_top, self.label_room);
        }
        for (i, text) in self.readouts.iter().enumerate() {
            let (line, x, room) = match self.second_column {
                None => (i, 0.0, self.readout_room),
                Some((x, room)) if i % 2 == 1 => (i / 2, x, room),
                Some(_) => (i / 2, 0.0, self.readout_room),
            };
            p.badge_within(line, x, text, room);
        }
    }
}

impl Panel {
    /// Lays out `readouts` and `legend` (either may be empty) and returns the panel with its y
    /// range raised so that values up to `data_max` stay below them (they take at most half the
    /// plot's height), with the layout to draw once the data is drawn.
    pub fn make_room<'a>(
        mut self,
        data_max: f64,
        readouts: &'a [String],
        legend: &'a [LegendEntry<'a>],
    ) -> (Panel, Overlays<'a>) {
        let readouts_h = if readouts.is_empty() {
            0.0
        } else {
            MARGIN + READOUT_LINE * readouts.len() as f64
        };
        let (mut readout_room, mut label_room) = (self.readout_room(), self.label_room());
        let (legend_top, band) = if legend.is_empty() {
            (0.0, readouts_h)
        } else {
            let (legend_w, legend_h) = self.legend_size(legend, label_room);
            let side_by_side = (0.0, readouts_h.max(legend_h + MARGIN));
            if readouts.is_empty() || self.readouts_width(readouts) + legend_w <= readout_room {
                side_by_side
            } else if let Some(rooms) = self.shed_side_by_side(readouts, legend) {
                (readout_room, label_room) = rooms;
                side_by_side
            } else {
                (readouts_h, readouts_h + legend_h + MARGIN)
            }
        };
        let h = self.py.1 - self.py.0;
        // Readouts alone that would take more than half the plot go two to a line where the
        // plot is wide enough for that.
        let mut second_column = None;
        let mut band = band;
        if legend.is_empty() && readouts.len() > 2 && h - band - MARGIN < 0.5 * h {
            if let Some((first_room, column)) = self.two_columns(readouts) {
                readout_room = first_room;
                second_column = Some(column);
                band = MARGIN + READOUT_LINE * readouts.len().div_ceil(2) as f64;
            }
        }
        // A legend beside or under the readouts that leaves the data less than half the plot
        // goes into one row under them (its labels shed, the readouts two to a line) where that
        // takes less.
        let mut legend_top = legend_top;
        let mut legend_row = false;
        if !legend.is_empty() && h - band - MARGIN < 0.5 * h {
            if let Some((rows, rooms)) = self.compact(readouts) {
                let row_band = MARGIN + READOUT_LINE * rows as f64 + LEGEND_LINE + MARGIN;
                let row_room = self.px.1 - self.px.0 - 2.0 * MARGIN;
                if row_band < band && self.legend_row_width(legend) <= row_room {
                    (legend_top, legend_row, band) = (READOUT_LINE * rows as f64, true, row_band);
                    if let Some((first_room, column)) = rooms {
                        readout_room = first_room;
                        second_column = Some(column);
                    }
                }
            }
        }
        let below = (h - band - MARGIN).max(0.5 * h);
        self.y.1 = self.y.0 + (data_max - self.y.0).max(1e-12) * h / below;
        (
            self,
            Overlays {
                readouts,
                legend,
                legend_top,
                readout_room,
                label_room,
                second_column,
                legend_row,
            },
        )
    }

    /// The readouts' lines when they go two to a line (one per line where there is one), and
    /// the columns' rooms ([`Panel::two_columns`]); `None` where they do not fit that way.
    #[allow(clippy::type_complexity)]
    fn compact(&self, readouts: &[String]) -> Option<(usize, Option<(f64, (f64, f64))>)> {
        match readouts.len() {
            0 | 1 => Some((readouts.len(), None)),
            n => self
                .two_columns(readouts)
                .map(|rooms| (n.div_ceil(2), Some(rooms))),
        }
    }

    /// The width of `entries` as one row ([`Panel::legend_in_row`]): each label without its
    /// details after a short key, two margins between entries and one at each end.
    fn legend_row_width(&self, entries: &[LegendEntry]) -> f64 {
        let c = &self.ctx;
        c.set_font(LEGEND_FONT);
        entries
            .iter()
            .map(|(l, _, _)| ROW_KEY + text_width(c, shortest(l)) + 2.0 * MARGIN)
            .sum::<f64>()
    }

    /// `entries` as one row at the plot's right edge, `offset` pixels below the plot area's top
    /// margin, each label without its details.
    fn legend_in_row(&self, entries: &[LegendEntry], offset: f64) {
        let c = &self.ctx;
        let w = self.legend_row_width(entries);
        let (mut x, y0) = (self.px.1 - w - MARGIN, self.py.0 + MARGIN + offset);
        c.set_fill_style_str("rgba(255,255,255,0.85)");
        c.fill_rect(x, y0, w, LEGEND_LINE);
        let y = y0 + LEGEND_LINE / 2.0;
        x += MARGIN;
        for (label, color, dash) in entries {
            self.legend_key(x, x + ROW_KEY - 4.0, y, color, *dash);
            c.set_fill_style_str(colors::INK);
            c.set_text_align("left");
            c.set_text_baseline("middle");
            c.set_font(LEGEND_FONT);
            let label = shortest(label);
            let _ = c.fill_text(label, x + ROW_KEY, y);
            x += ROW_KEY + text_width(c, label) + 2.0 * MARGIN;
        }
    }

    /// A legend's line sample from `x0` to `x1` at height `y`.
    fn legend_key(&self, x0: f64, x1: f64, y: f64, color: &str, dash: bool) {
        let c = &self.ctx;
        c.set_stroke_style_str(color);
        c.set_line_width(2.5);
        if dash {
            let _ = c.set_line_dash(&js_sys::Array::of2(
                &JsValue::from(5.0),
                &JsValue::from(3.0),
            ));
        }
        c.begin_path();
        c.move_to(x0, y);
        c.line_to(x1, y);
        c.stroke();
        let _ = c.set_line_dash(&js_sys::Array::new());
    }

    /// Readouts two to a line (even ones left, odd ones right): the left column's room and the
    /// right column's (offset, room), with every detail kept where that fits and shed where
    /// not; `None` where even shed they are too wide for the plot.
    fn two_columns(&self, readouts: &[String]) -> Option<(f64, (f64, f64))> {
        let room = self.readout_room();
        let c = &self.ctx;
        c.set_font(READOUT_FONT);
        let column = |shed: bool, odd: usize| {
            readouts
                .iter()
                .skip(odd)
                .step_by(2)
                .map(|t| text_width(c, if shed { shortest(t) } else { t }))
                .fold(0.0, f64::max)
        };
        for shed in [false, true] {
            let (left, right) = (column(shed, 0), column(shed, 1));
            // Each badge is its text and a margin each side; a margin between the columns.
            if left + right + 5.0 * MARGIN <= room {
                let offset = left + 3.0 * MARGIN;
                return Some((left, (offset, room - offset)));
            }
        }
        None
    }

    /// The rooms (readouts, legend labels) that keep readouts and legend side by side once
    /// they shed their details ("TV = 0.456 (to exact)" → "TV = 0.456", "exact (transfer
    /// matrix)" → "exact") — stacked, they took a short plot's whole height (a 4:3 slide's) —
    /// or `None` where even then something would be cut. The labels keep what details fit
    /// beside the shed readouts; the readouts take what the legend leaves.
    fn shed_side_by_side(&self, readouts: &[String], legend: &[LegendEntry]) -> Option<(f64, f64)> {
        let shed: Vec<String> = readouts.iter().map(|t| shortest(t).to_string()).collect();
        let shed_w = self.readouts_width(&shed);
        self.ctx.set_font(LEGEND_FONT);
        let short_w = legend
            .iter()
            .map(|(l, _, _)| text_width(&self.ctx, shortest(l)))
            .fold(0.0, f64::max)
            + LEGEND_KEY;
        if shed_w + short_w > self.readout_room() {
            return None;
        }
        let label_room = self.readout_room() - shed_w - LEGEND_KEY;
        Some((
            self.readout_room() - self.legend_size(legend, label_room).0,
            label_room,
        ))
    }

    /// The width a readout may take: the plot's, less the margins around its badge.
    fn readout_room(&self) -> f64 {
        self.px.1 - self.px.0 - 4.0 * MARGIN
    }

    /// Width in pixels of the widest readout as [`Panel::badge_at`] draws it.
    fn readouts_width(&self, texts: &[String]) -> f64 {
        let c = &self.ctx;
        c.set_font(READOUT_FONT);
        let room = self.readout_room();
        texts
            .iter()
            .map(|t| text_width(c, &fit(c, t, room)) + 2.0 * MARGIN)
            .fold(0.0, f64::max)
    }

    /// A legend in the panel's top-right corner.
    pub fn legend(&self, entries: &[LegendEntry]) {
        self.legend_at(entries, 0.0);
    }

    /// A legend at the right edge, `down` of the way from the top (0) to the bottom (1) of the
    /// plot area.
    pub fn legend_at(&self, entries: &[LegendEntry], down: f64) {
        let room = self.label_room();
        let (_, h) = self.legend_size(entries, room);
        let free = (self.py.1 - self.py.0 - h - 2.0 * MARGIN).max(0.0);
        self.legend_below(entries, down.clamp(0.0, 1.0) * free, room);
    }

    /// Width and height in pixels of the legend of `entries`.
    fn legend_size(&self, entries: &[LegendEntry], room: f64) -> (f64, f64) {
        let c = &self.ctx;
        c.set_font(LEGEND_FONT);
        let w = entries
            .iter()
            .map(|(l, _, _)| text_width(c, &fit_detail(c, l, room)))
            .fold(0.0, f64::max)
            + LEGEND_KEY;
        (w, LEGEND_LINE * entries.len() as f64 + MARGIN)
    }

    /// A legend at the right edge, its top `offset` pixels below the plot area's top margin.
    fn legend_below(&self, entries: &[LegendEntry], offset: f64, room: f64) {
        let c = &self.ctx;
        let (w, h) = self.legend_size(entries, room);
        let (x0, y0) = (self.px.1 - w - MARGIN, self.py.0 + MARGIN + offset.max(0.0));
        c.set_fill_style_str("rgba(255,255,255,0.85)");
        c.fill_rect(x0, y0, w, h);
        for (i, (label, color, dash)) in entries.iter().enumerate() {
            let y = y0 + 12.0 + LEGEND_LINE * i as f64;
            self.legend_key(x0 + 6.0, x0 + 26.0, y, color, *dash);
            c.set_fill_style_str(colors::INK);
            c.set_text_align("left");
            c.set_text_baseline("middle");
            c.set_font(LEGEND_FONT);
            let _ = c.fill_text(&fit_detail(c, label, room), x0 + 31.0, y);
        }
    }

    /// The width a legend's labels may take: the plot's, less the legend's key and margins
    /// (a label sheds its details where the panel is narrower: "exact (transfer matrix)" →
    /// "exact").
    fn label_room(&self) -> f64 {
        self.px.1 - self.px.0 - LEGEND_KEY - 2.0 * MARGIN
    }

    /// Text at the panel's top-left inside corner (a metric readout).
    pub fn badge(&self, text: &str) {
        self.badge_at(0, text);
    }

    /// "step N" on the given line of the panel's top-left inside corner, or nothing where the
    /// plot is too narrow for it (a 4:3 slide's score panels): a cut "step…" says nothing,
    /// while the header counts the steps and the figure's text alternative and `data-step`
    /// say which step it shows.
    pub fn step_badge(&self, line: usize, steps: u64) {
        let text = format!("step {steps}");
        self.ctx.set_font(READOUT_FONT);
        if text_width(&self.ctx, &text) <= self.readout_room() {
            self.badge_at(line, &text);
        }
    }

    /// A readout on the given line (0 = top) of the panel's top-left inside corner.
    pub fn badge_at(&self, line: usize, text: &str) {
        self.badge_within(line, 0.0, text, self.readout_room());
    }

    /// [`Panel::badge_at`] `x` pixels right of the corner, within `room` pixels (its details
    /// shed, then cut, to fit).
    fn badge_within(&self, line: usize, x: f64, text: &str, room: f64) {
        self.clip(); // a long readout stays in its panel
        let c = &self.ctx;
        let y = self.py.0 + MARGIN + READOUT_LINE * line as f64;
        let x = self.px.0 + x;
        c.set_font(READOUT_FONT);
        let text = fit_detail(c, text, room);
        let w = text_width(c, &text) + 2.0 * MARGIN;
        c.set_fill_style_str("rgba(255,255,255,0.85)");
        c.fill_rect(x + MARGIN, y, w, 20.0);
        c.set_fill_style_str(colors::INK);
        c.set_text_align("left");
        c.set_text_baseline("middle");
        let _ = c.fill_text(&text, x + 2.0 * MARGIN, y + 10.0);
        c.restore();
    }
}

fn text_width(c: &CanvasRenderingContext2d, text: &str) -> f64 {
    c.measure_text(text).map(|m| m.width()).unwrap_or(100.0)
}

/// `text` with every detail shed ([`without_detail`] until there is none left).
fn shortest(text: &str) -> &str {
    let mut text = text;
    while let Some(shorter) = without_detail(text) {
        text = shorter;
    }
    text
}

/// `text` within `room` pixels, shortened first by its details (see [`without_detail`]), then
/// cut at a word with "…".
pub(super) fn fit_detail(c: &CanvasRenderingContext2d, text: &str, room: f64) -> String {
    let mut text = text;
    while text_width(c, text) > room {
        match without_detail(text) {
            Some(shorter) => text = shorter,
            None => return fit(c, text, room),
        }
    }
    text.to_string()
}

/// `text` in the context's font, cut at a word and marked with an ellipsis where it is wider
/// than `room` (never overlapping what is beside it).
pub(super) fn fit(c: &CanvasRenderingContext2d, text: &str, room: f64) -> String {
    let wide = |text: &str| c.measure_text(text).map(|m| m.width()).unwrap_or(0.0);
    let mut text = text.to_string();
    while wide(&text) > room {
        match text.trim_end_matches('…').trim_end().rfind(' ') {
            Some(cut) if cut > 0 => {
                text.truncate(cut);
                text.push('…');
            }
            _ => break,
        }
    }
    text
}
