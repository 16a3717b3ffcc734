//! Presenter mode in the page: shows the slide the settings name (`present`, `lecture::SLIDES`)
//! as its figure(s) beside its equations and text, with only the controls it needs, and binds
//! the keys (←/→ steps, space play/pause, S step ×100, R reset, F fullscreen, P or Esc leaves).
//! What a slide holds is the lecture table's; moving between slides is a settings change (the
//! URL carries the slide, and the model trains on across slides that share it).

use wasm_bindgen::JsCast;
use web_sys::{Element, KeyboardEvent};

use super::controls::{listen, sync_if_changed};
use super::plot;
use super::ui::Shared;
use super::util::{document, log, set_text, window};
use crate::lecture::{first_slide_of, slide, slide_html, SLIDES};
use crate::session::Command;

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
pub fn sync(lab: &Shared) {
    let present = lab.session.borrow().settings.present;
    let body = document().body();
    let on = slide(present);
    plot::set_zoom(if on.is_some() { zoom() } else { 1.0 });
    if let Some(b) = &body {
        mark(b, on.is_some(), "data-present", &present.to_string());
    }
    if let Some(t) = document().get_element_by_id("present-toggle") {
        let _ = t.set_attribute("aria-pressed", if on.is_some() { "true" } else { "false" });
    }
    if SHOWN.with(|s| s.replace(present)) == present {
        return;
    }
    lab.session.borrow_mut().dirty = true; // the figures change size
    let Some(s) = on else { return };
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
}

/// Shows slide `k` (0: leaves presenter mode).
fn go(lab: &Shared, k: usize) {
    if lab.session.borrow().stopped.is_some() {
        return;
    }
    let model = match slide(k) {
        Some(s) => s.model,
        None => lab.session.borrow().settings.model,
    };
    lab.session.borrow_mut().show(model, |s| s.present = k);
    sync_if_changed(lab);
}

fn toggle(lab: &Shared) {
    let (present, model) = {
        let s = lab.session.borrow();
        (s.settings.present, s.settings.model)
    };
    go(
        lab,
        if present > 0 {
            0
        } else {
            first_slide_of(model)
        },
    );
}

fn step(lab: &Shared, by: isize) {
    let present = lab.session.borrow().settings.present;
    let k = (present as isize + by).clamp(1, SLIDES.len() as isize) as usize;
    if k != present {
        go(lab, k);
    }
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
pub fn bind(lab: &Shared) {
    for (id, by) in [("slide-prev", -1), ("slide-next", 1)] {
        if let Some(b) = document().get_element_by_id(id) {
            let l = lab.clone();
            listen(&b, "click", move |_| step(&l, by));
        }
    }
    if let Some(b) = document().get_element_by_id("present-toggle") {
        let l = lab.clone();
        listen(&b, "click", move |_| toggle(&l));
    }
    let l = lab.clone();
    listen(&window(), "keydown", move |e| {
        let Some(e) = e.dyn_ref::<KeyboardEvent>() else {
            return;
        };
        if e.ctrl_key() || e.meta_key() || e.alt_key() || typing(e) {
            return;
        }
        let presenting = l.session.borrow().settings.present > 0;
        let key = e.key();
        let handled = match key.as_str() {
            "p" | "P" => {
                toggle(&l);
                true
            }
            _ if !presenting => false,
            "Escape" => {
                go(&l, 0);
                true
            }
            "ArrowRight" | "PageDown" => {
                step(&l, 1);
                true
            }
            "ArrowLeft" | "PageUp" => {
                step(&l, -1);
                true
            }
            "Home" => {
                step(&l, -(SLIDES.len() as isize));
                true
            }
            "End" => {
                step(&l, SLIDES.len() as isize);
                true
            }
            " " | "s" | "S" | "r" | "R" => {
                let command = match key.as_str() {
                    " " => Command::TogglePlay,
                    "s" | "S" => Command::Step { steps: 100 },
                    _ => Command::Reset,
                };
                if l.session.borrow().stopped.is_none() {
                    l.session.borrow_mut().command(command);
                    sync_if_changed(&l);
                }
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
pub fn resized(lab: &Shared) {
    if lab.session.borrow().settings.present > 0 {
        plot::set_zoom(zoom());
    }
}
