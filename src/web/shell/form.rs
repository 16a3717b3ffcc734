//! The form: every named input of `#controls` is a setting of the same key; its values go to
//! the lab as they change, and the settings the lab sends come back into the controls and the
//! URL. Buttons send commands; weights files are read here and their bytes sent.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{listen, Page};
use crate::session::Command;
use crate::settings::Settings;
use crate::web::protocol::{ToLab, PLAY_LABEL};
use crate::web::util::{document, window};

/// Writes the settings into the URL (without a history entry).
pub fn write_url(settings: &Settings) {
    let q = settings.to_query();
    let loc = window().location();
    let path = loc.pathname().unwrap_or_default();
    let url = if q.is_empty() {
        path
    } else {
        format!("{path}?{q}")
    };
    if let Ok(h) = window().history() {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Keeps, per key, the value of the control that is shown (the last one when several are).
fn dedupe_visible(pairs: &mut Vec<(String, String)>) {
    let shown: Vec<bool> = controls()
        .iter()
        .map(|e| {
            e.dyn_ref::<web_sys::HtmlElement>()
                .map(|h| h.offset_parent().is_some())
                .unwrap_or(true)
        })
        .collect();
    if shown.len() != pairs.len() {
        return;
    }
    let mut keep = vec![true; pairs.len()];
    for i in 0..pairs.len() {
        for j in 0..pairs.len() {
            if i != j && pairs[i].0 == pairs[j].0 && !shown[i] && shown[j] {
                keep[i] = false;
            }
        }
    }
    let mut k = keep.iter();
    pairs.retain(|_| *k.next().unwrap_or(&true));
}

/// Every control with a `name` in `#controls` (or attached to it with `form="controls"`).
fn controls() -> Vec<web_sys::Element> {
    let mut out = Vec::new();
    if let Ok(list) = document().query_selector_all("#controls [name], [form=controls][name]") {
        for i in 0..list.length() {
            if let Some(e) = list
                .get(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                out.push(e);
            }
        }
    }
    out
}

fn control_value(e: &web_sys::Element) -> Option<(String, String)> {
    let name = e.get_attribute("name")?;
    if let Some(i) = e.dyn_ref::<web_sys::HtmlInputElement>() {
        if i.type_() == "checkbox" {
            let on = i.checked();
            let v = if on {
                i.get_attribute("data-on")
            } else {
                i.get_attribute("data-off")
            };
            return Some((
                name,
                v.unwrap_or_else(|| if on { "1".into() } else { "0".into() }),
            ));
        }
        return Some((name, i.value()));
    }
    e.dyn_ref::<web_sys::HtmlSelectElement>()
        .map(|s| (name, s.value()))
}

/// Shows `settings` in the controls (and their limits, from the settings table).
pub fn fill(settings: &Settings) {
    // Every numeric control's limits come from the settings table (the time slider's maximum
    // follows the schedule), so the page cannot accept what the URL parser would refuse; index.html
    // holds none of its own. Set before the values: a slider clamps a value to its range and step.
    for limit in crate::settings::form_limits(settings) {
        let Ok(list) = document().query_selector_all(&format!(
            "#controls input[name=\"{0}\"], [form=controls][name=\"{0}\"]",
            limit.key
        )) else {
            continue;
        };
        for i in 0..list.length() {
            if let Some(input) = list
                .get(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                input.set_min(&limit.min.to_string());
                input.set_max(&limit.max.to_string());
                input.set_step(&limit.step.map_or("any".to_string(), |s| s.to_string()));
            }
        }
    }
    let pairs = settings.all_pairs();
    for e in controls() {
        let Some(name) = e.get_attribute("name") else {
            continue;
        };
        let Some((_, v)) = pairs.iter().find(|(k, _)| *k == name) else {
            continue;
        };
        if let Some(i) = e.dyn_ref::<web_sys::HtmlInputElement>() {
            if i.type_() == "checkbox" {
                i.set_checked(
                    Some(v.as_str()) == i.get_attribute("data-on").as_deref()
                        || (v == "1" && i.get_attribute("data-on").is_none()),
                );
            } else {
                i.set_value(v);
            }
        } else if let Some(s) = e.dyn_ref::<web_sys::HtmlSelectElement>() {
            s.set_value(v);
        }
        // Readouts next to sliders.
        if let Some(out) = document().get_element_by_id(&format!("out-{name}")) {
            out.set_text_content(Some(v));
        }
    }
    // Schedule-specific controls only where they apply.
    let ou = matches!(settings.schedule, crate::diffusion::Schedule::Ou { .. });
    if let Ok(list) = document().query_selector_all(".ou-only") {
        for i in 0..list.length() {
            if let Some(e) = list
                .get(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = e
                    .style()
                    .set_property("display", if ou { "" } else { "none" });
            }
        }
    }
    // The page shows the controls and plots of one model (CSS keys on this attribute).
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-model", settings.model.name());
    }
}

/// Sends the form's values to the lab (the visible control of each setting).
fn on_controls_changed(page: &Page) {
    let mut pairs: Vec<(String, String)> = controls().iter().filter_map(control_value).collect();
    // A setting may have a control in each model's panel (the seed): the visible one counts.
    dedupe_visible(&mut pairs);
    page.send(&ToLab::Controls { pairs });
}

/// The Train button as the toggle it just sent will leave it (the worker confirms when it reads
/// the command, after the training step in flight).
fn show_toggled(button: &web_sys::Node) {
    let Some(b) = button.dyn_ref::<web_sys::Element>() else {
        return;
    };
    let playing = b.get_attribute("aria-pressed").as_deref() == Some("true");
    let _ = b.set_attribute("aria-pressed", if playing { "false" } else { "true" });
    b.set_text_content(Some(PLAY_LABEL[usize::from(!playing)]));
}

/// Binds the controls and the buttons.
pub fn bind(page: &Page) {
    let Some(form) = document().get_element_by_id("controls") else {
        return;
    };
    let p = page.clone();
    listen(&form, "change", move |_| on_controls_changed(&p));
    // The model picker sits in the header (outside the form's subtree).
    if let Some(pick) = document().get_element_by_id("model-select") {
        let p = page.clone();
        listen(&pick, "change", move |_| on_controls_changed(&p));
    }
    // Sliders update live while dragged.
    let p = page.clone();
    listen(&form, "input", move |e| {
        let is_range = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|i| i.type_() == "range")
            .unwrap_or(false);
        if is_range {
            on_controls_changed(&p);
        }
    });
    let buttons: [(&str, fn() -> Command); 4] = [
        ("play", || Command::TogglePlay),
        ("step", || Command::Step { steps: 100 }),
        ("reset", || Command::Reset),
        ("new-seed", || Command::NextSeed),
    ];
    for (id, command) in buttons {
        // By id, or by class for buttons that appear once per model's controls.
        let selector = format!("#{id}, .{id}");
        let Ok(list) = document().query_selector_all(&selector) else {
            continue;
        };
        for i in 0..list.length() {
            if let Some(b) = list.get(i) {
                let p = page.clone();
                let button = b.clone();
                listen(&b, "click", move |e| {
                    e.prevent_default();
                    let command = command();
                    if command == Command::TogglePlay {
                        show_toggled(&button);
                    }
                    p.command(command);
                });
            }
        }
    }
}

/// The weights file picker (its bytes go to the lab, moved, not copied), the Pretrained and the
/// download buttons.
pub fn bind_weights(page: &Page) {
    if let Some(input) = crate::web::util::element::<web_sys::HtmlInputElement>("weights-file") {
        let p = page.clone();
        let inp = input.clone();
        listen(&input, "change", move |_| {
            let Some(file) = inp.files().and_then(|f| f.get(0)) else {
                return;
            };
            let p = p.clone();
            let name = file.name();
            inp.set_value("");
            wasm_bindgen_futures::spawn_local(async move {
                // A file that cannot be read arrives as no bytes: the lab refuses it and says so.
                let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
                    .await
                    .unwrap_or_else(|_| js_sys::ArrayBuffer::new(0).into());
                let msg = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&msg, &"file".into(), &name.into());
                let _ =
                    js_sys::Reflect::set(&msg, &"bytes".into(), &js_sys::Uint8Array::new(&buffer));
                let _ = p
                    .worker
                    .post_message_with_transfer(&msg, &js_sys::Array::of1(&buffer));
            });
        });
    }
    for (id, msg) in [
        ("pretrained", ToLab::Pretrained),
        ("download-weights", ToLab::DownloadWeights),
    ] {
        if let Some(button) = document().get_element_by_id(id) {
            let p = page.clone();
            listen(&button, "click", move |_| p.send(&msg));
        }
    }
}
