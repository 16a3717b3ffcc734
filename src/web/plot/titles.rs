//! Panel titles and captions. A title is measured when its panel asks for it and set when
//! its figure is done ([`Figure`]'s `Drop`), at the smallest size any title on its line took:
//! panels side by side read at one size.

use std::cell::RefCell;
use std::rc::Rc;

use super::{colors, fit, overlay, Figure, Panel};
use crate::figure::abbreviated;

/// A panel's title, measured: drawn when its figure is done, at the smallest size of the
/// titles on its line.
pub(super) struct PendingTitle {
    text: String,
    size: f64,
    x: f64,
    y: f64,
    room: f64,
}

pub(super) type Titles = Rc<RefCell<Vec<PendingTitle>>>;

fn title_font(size: f64) -> String {
    format!("600 {size}px system-ui, sans-serif")
}

/// The titles go on last: panels side by side (titles on one line) share one size, the
/// smallest any of them needed, so that neighbours never read at 14 and 12 px.
impl Drop for Figure {
    fn drop(&mut self) {
        let titles = std::mem::take(&mut *self.titles.borrow_mut());
        let c = &self.ctx;
        c.set_fill_style_str(colors::INK);
        c.set_text_align("left");
        c.set_text_baseline("alphabetic");
        for t in &titles {
            let size = titles
                .iter()
                .filter(|o| (o.y - t.y).abs() < 0.5)
                .fold(t.size, |m, o| m.min(o.size));
            c.set_font(&title_font(size));
            let _ = c.fill_text(&fit(c, &t.text, t.room), t.x, t.y);
        }
    }
}

impl Panel {
    /// The width a line of text may take from the panel's left edge: up to the canvas's edge,
    /// and no further than the next panel's title ([`Panel::beside`]).
    pub(super) fn text_room(&self) -> f64 {
        (self.canvas_w - self.px.0 - 6.0).min(self.px.1 - self.px.0 + self.beside)
    }

    /// A text size: `normal` on the page, presenter mode's 18 CSS px while presenting.
    pub(super) fn text_size(&self, normal: f64) -> f64 {
        if self.zoom > 1.0 {
            18.0 / self.zoom
        } else {
            normal
        }
    }

    /// The panel's title above its top-left corner, at 14 px. A title too long for its room is
    /// set smaller down to 12 px (while presenting, down to 18 CSS px); then it loses its details
    /// (`overlay::without_detail`: what follows its last " — ", a closing parenthetical) one at
    /// a time, then long names shorten (`figure::abbreviated`: "PF-ODE"); with none left it may
    /// go down to 10 px, and only then is it cut at a word with "…". It is drawn when the figure is done, at the smallest size any title on its line
    /// took (panels side by side read at one size). (Dropping details before any shrinking
    /// kept neighbours at one size too, but took the step count off the Ising slides' titles at
    /// 1080p.) Returns the text it settled on ([`Panel::title_keeping`] puts what it lost
    /// beneath).
    pub fn title(&self, title: &str) -> String {
        let c = &self.ctx;
        let room = self.text_room();
        let wide = |text: &str, size: f64| {
            c.set_font(&title_font(size));
            c.measure_text(text).map(|m| m.width()).unwrap_or(0.0)
        };
        // Full size: 14 px, or the presenter's smallest where that is larger.
        let smallest = self.text_size(10.0);
        let full = 14.0f64.max(smallest);
        // The largest size from full size down to `floor` at which `text` fits.
        let fitting = |text: &str, floor: f64| {
            let mut size = full;
            loop {
                if wide(text, size) <= room {
                    return Some(size);
                }
                if size <= floor {
                    return None;
                }
                size = (size - 1.0).max(floor);
            }
        };
        let readable = self.text_size(12.0);
        let mut title = title.to_string();
        let size = loop {
            if let Some(size) = fitting(&title, readable) {
                break size;
            }
            match overlay::without_detail(&title) {
                Some(shorter) => title = shorter.to_string(),
                None => match abbreviated(&title) {
                    Some(short) => title = short,
                    None => break fitting(&title, smallest).unwrap_or(smallest),
                },
            }
        };
        self.titles.borrow_mut().push(PendingTitle {
            text: title.clone(),
            size,
            x: self.px.0,
            y: self.py.0 - 9.0,
            room,
        });
        title
    }

    /// [`Panel::title`], and a caption beneath ([`Panel::caption`]): with `keep = (mark,
    /// kept)`, `kept` where the title as set no longer shows `mark` (a narrow slide's grid of
    /// generated spins or digits keeps "step 300", what made them, where its title had to drop
    /// "— after 300 steps"), with `caption` as its detail, which goes first where both do not
    /// fit; else `caption` alone.
    pub fn title_keeping(&self, title: &str, keep: Option<(&str, &str)>, caption: Option<&str>) {
        let shown = self.title(title);
        let lost = keep
            .filter(|(mark, _)| !shown.contains(mark))
            .map(|(_, kept)| kept);
        match (lost, caption) {
            (Some(kept), Some(c)) => self.caption(&format!("{kept} ({c})")),
            (Some(kept), None) => self.caption(kept),
            (None, Some(c)) => self.caption(c),
            (None, None) => {}
        }
    }

    /// A line of smaller text in the panel's bottom margin, left-aligned with its title: what
    /// would make the title too long to read (the sampler that drew a panel's digits), in the
    /// same room as the title and cut at a word only when even that is too narrow.
    pub fn caption(&self, text: &str) {
        let c = &self.ctx;
        c.set_fill_style_str(colors::INK);
        c.set_text_align("left");
        c.set_text_baseline("top");
        c.set_font(&format!("{}px system-ui, sans-serif", self.text_size(12.0)));
        let _ = c.fill_text(
            &overlay::fit_detail(c, text, self.text_room()),
            self.px.0,
            self.py.1 + 6.0,
        );
    }
}
