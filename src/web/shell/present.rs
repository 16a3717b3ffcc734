//! Presenter mode in the page: shows the slide the settings name (`present`, `lecture::SLIDES`)
//! as its figure(s) beside its equations and text, with only the controls it needs, and binds
//! the keys (←/→ steps, space play/pause, S step ×100, R reset, F fullscreen, P or Esc leaves).
//! What a slide holds is the lecture table's; moving between slides is a settings change (the
//! URL carries the slide, and the model trains on across slides that share it).

use wasm_bindgen::JsCast;
use web_sys::{Element, KeyboardEvent};

use super::{listen, Page};
use crate::lecture::{slide, slide_html, SlideMove, SLIDES};
use crate::session::Command;
use crate::web::protocol::ToLab;
use crate::web::util::{document, log, window};

fn set_text(id: &str, text: &str) {
    if let Some(e) = document().get_element_by_id(id) {
        e.set_text_content(Some(text));
    }
}

// The slide shown by the page's DOM, to rebuild it only when it changes.
thread_local! {
    static SHOWN: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// Every element matching `selector`.
fn all(selector: &str) -> Vec<Element> {
    let Ok(list) = document().query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.get(i).and_then(|n| n.dyn_into::<Element>().ok()))
        .collect()
}

fn mark(e: &Element, on: bool, attr: &str, value: &str) {
    let _ = if on {
        e.set_attribute(attr, value)
    } else {
        e.remove_attribute(attr)
    };
}

/// The zoom of the plots while presenting: their text at least 18 CSS px at 720p (the plots'
/// smallest font is 12 px), growing with the screen's height.
fn zoom() -> f64 {
    let height = window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(720.0);
    1.5 * (height / 720.0).clamp(1.0, 1.3)
}

/// Shows the slide the session's settings name (or the ordinary page).
pub fn sync(page: &Page) {
    let present = page.settings.borrow().present;
    let body = document().body();
    let on = slide(present);
    let z = if on.is_some() { zoom() } else { 1.0 };
    if page.zoom.replace(z) != z {
        page.layout();
    }
    if let Some(b) = &body {
        mark(b, on.is_some(), "data-present", &present.to_string());
    }
    if let Some(t) = document().get_element_by_id("present-toggle") {
        let _ = t.set_attribute("aria-pressed", if on.is_some() { "true" } else { "false" });
    }
    if SHOWN.with(|s| s.replace(present)) == present {
        return;
    }
    let Some(s) = on else {
        page.layout(); // the figures change size
        return;
    };
    for fig in all("main figure") {
        let canvas = fig.query_selector("canvas").ok().flatten();
        let index = canvas
            .map(|c| c.id())
            .and_then(|id| s.figures.iter().position(|f| *f == id));
        mark(&fig, index.is_some(), "data-on-slide", "");
        let style = index.map(|i| format!("order: {i}")).unwrap_or_default();
        let _ = fig.set_attribute("style", &style);
        if let Some(i) = index {
            let _ = fig.set_attribute("data-slide-figure", &i.to_string());
        }
    }
    for label in all("#controls label") {
        let needed = s.controls.iter().any(|name| {
            label
                .query_selector(&format!("[name=\"{name}\"]"))
                .ok()
                .flatten()
                .is_some()
        });
        mark(&label, needed, "data-on-slide", "");
    }
    set_text("slide-title", s.title);
    set_text("slide-count", &format!("{present} / {}", SLIDES.len()));
    let _ = document()
        .get_element_by_id("slide")
        .map(|e| e.set_attribute("data-slide", s.id));
    match slide_html(s) {
        Ok(html) => {
            if let Some(body) = document().get_element_by_id("slide-body") {
                body.set_inner_html(&html);
            }
        }
        // The lecture table is tested natively; say so rather than show half a slide.
        Err(e) => log(&format!("difflab: slide {}: {e}", s.id)),
    }
    for (id, disabled) in [
        ("slide-prev", present <= 1),
        ("slide-next", present >= SLIDES.len()),
    ] {
        if let Some(b) = document().get_element_by_id(id) {
            mark(&b, disabled, "disabled", "");
        }
    }
    page.layout(); // the figures change size
}

/// Asks the lab for a move (it reads it against the slide on show then).
fn go(page: &Page, to: SlideMove) {
    page.send(&ToLab::Slide { to });
}

fn fullscreen() {
    let doc = document();
    if doc.fullscreen_element().is_some() {
        doc.exit_fullscreen();
    } else if let Some(root) = doc.document_element() {
        let _ = root.request_fullscreen();
    }
}

/// Whether a key press is meant for a form control (typing a number, moving a slider).
fn typing(e: &KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"))
        .unwrap_or(false)
}

/// Binds the header's Present button, the slide's arrows and the keys.
pub fn bind(page: &Page) {
    for (id, by) in [("slide-prev", -1), ("slide-next", 1)] {
        if let Some(b) = document().get_element_by_id(id) {
            let l = page.clone();
            listen(&b, "click", move |_| go(&l, SlideMove::By(by)));
        }
    }
    if let Some(b) = document().get_element_by_id("present-toggle") {
        let l = page.clone();
        listen(&b, "click", move |_| go(&l, SlideMove::Toggle));
    }
    let l = page.clone();
    listen(&window(), "keydown", move |e| {
        let Some(e) = e.dyn_ref::<KeyboardEvent>() else {
            return;
        };
        if e.ctrl_key() || e.meta_key() || e.alt_key() || typing(e) {
            return;
        }
        let presenting = l.settings.borrow().present > 0;
        let key = e.key();
        let handled = match key.as_str() {
            "p" | "P" => {
                go(&l, SlideMove::Toggle);
                true
            }
            _ if !presenting => false,
            "Escape" => {
                go(&l, SlideMove::Leave);
                true
            }
            "ArrowRight" | "PageDown" => {
                go(&l, SlideMove::By(1));
                true
            }
            "ArrowLeft" | "PageUp" => {
                go(&l, SlideMove::By(-1));
                true
            }
            "Home" => {
                go(&l, SlideMove::To(1));
                true
            }
            "End" => {
                go(&l, SlideMove::To(SLIDES.len()));
                true
            }
            " " | "s" | "S" | "r" | "R" => {
                let command = match key.as_str() {
                    " " => Command::TogglePlay,
                    "s" | "S" => Command::Step { steps: 100 },
                    _ => Command::Reset,
                };
                l.command(command);
                true
            }
            "f" | "F" => {
                fullscreen();
                true
            }
            _ => false,
        };
        if handled {
            e.prevent_default();
        }
    });
}

/// A new window size changes the plots' zoom while presenting.
pub fn resized(page: &Page) {
    if page.settings.borrow().present > 0 {
        page.zoom.set(zoom());
    }
}
