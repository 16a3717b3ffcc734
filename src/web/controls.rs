//! The page's controls: every named input of `#controls` is a setting of the same key; buttons
//! send commands; gestures on the data plot edit the mixture; weights files go in and out. Each
//! turns into a session call; the URL and the controls then show the session's settings.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::store::{array_buffer, ensure_mnist_data, fetch_bytes, save_file};
use super::ui::Shared;
use super::util::{document, window};
use crate::models::toy1d::mixture::{Component, Mixture};
use crate::models::toy1d::views::{handles, Stroke};
use crate::models::Model;
use crate::session::{drive, Command, Reply, Request};
use crate::settings::Settings;

/// Writes the settings into the URL (without a history entry).
fn write_url(settings: &Settings) {
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

/// Makes the URL and the controls show the session's settings.
pub fn sync_page(lab: &Shared) {
    let (settings, version) = {
        let s = lab.session.borrow();
        (s.settings.clone(), s.settings_version)
    };
    write_url(&settings);
    fill_controls(&settings);
    lab.ui.borrow_mut().settings_version = version;
    super::present::sync(lab);
}

/// Syncs the page when the session changed its settings from inside (a loaded file, a model
/// shown by the API).
pub fn sync_if_changed(lab: &Shared) {
    let changed = lab.session.borrow().settings_version != lab.ui.borrow().settings_version;
    if changed {
        sync_page(lab);
    }
}

/// Applies a query string of settings (as the URL would) and shows the result; returns the
/// problems found.
pub fn apply_query(lab: &Shared, query: &str) -> Vec<String> {
    let problems = lab.session.borrow_mut().apply_query(query).problems;
    sync_page(lab);
    problems
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

fn fill_controls(settings: &Settings) {
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

fn on_controls_changed(lab: &Shared) {
    let mut pairs: Vec<(String, String)> = controls().iter().filter_map(control_value).collect();
    // A setting may have a control in each model's panel (the seed): the visible one counts.
    dedupe_visible(&mut pairs);
    // URL-only settings are kept.
    for (k, v) in lab.session.borrow().settings.all_pairs() {
        if (k == "device" || k == "weights" || k == "present")
            && !pairs.iter().any(|(pk, _)| *pk == k)
        {
            pairs.push((k, v));
        }
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    apply_query(lab, &query);
}

/// Listens to `event` on `target` for the page's lifetime.
pub fn listen(target: &web_sys::EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget(); // lives as long as the page
}

/// Binds the controls, the buttons, the data plot's gestures and the weights file controls.
pub fn bind(lab: &Shared) {
    let Some(form) = document().get_element_by_id("controls") else {
        return;
    };
    let l = lab.clone();
    listen(&form, "change", move |_| on_controls_changed(&l));
    // The model picker sits in the header (outside the form's subtree).
    if let Some(pick) = document().get_element_by_id("model-select") {
        let l = lab.clone();
        listen(&pick, "change", move |_| on_controls_changed(&l));
    }
    // Sliders update live while dragged.
    let l = lab.clone();
    listen(&form, "input", move |e| {
        let is_range = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|i| i.type_() == "range")
            .unwrap_or(false);
        if is_range {
            on_controls_changed(&l);
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
                let l = lab.clone();
                listen(&b, "click", move |e| {
                    e.prevent_default();
                    if l.session.borrow().stopped.is_some() {
                        return;
                    }
                    l.session.borrow_mut().command(command());
                    sync_if_changed(&l);
                });
            }
        }
    }
    bind_data_gestures(lab);
    bind_weights(lab);
    super::present::bind(lab);
}

/// A new data mixture goes through the settings like any control (URL, rebuilt views); an
/// invalid one (nothing drawn yet, a width out of range) leaves the data as it is.
fn set_mixture(lab: &Shared, mixture: Result<Mixture, String>) {
    let Ok(m) = mixture else { return };
    let mut s = lab.session.borrow().settings.clone();
    s.mixture = m;
    apply_query(lab, &s.to_query());
}

/// Dragging a mode of the data density moves it; the wheel changes its width; dragging anywhere
/// else draws the density (each change applies at once, like any setting: the URL holds it).
fn bind_data_gestures(lab: &Shared) {
    let Some(canvas) = document().get_element_by_id("c-data") else {
        return;
    };
    let pos = |e: &web_sys::Event| {
        let m = e.dyn_ref::<web_sys::MouseEvent>()?;
        let c = m.target()?.dyn_into::<web_sys::Element>().ok()?;
        let r = c.get_bounding_client_rect();
        Some((
            m.client_x() as f64 - r.left(),
            m.client_y() as f64 - r.top(),
        ))
    };
    // The mode whose handle is within 40 px of canvas x `x`.
    let nearest = |lab: &Shared, x: f64| -> Option<usize> {
        let area = lab.ui.borrow().data_panel?;
        let s = lab.session.borrow();
        handles(s.toy.mixture())
            .iter()
            .enumerate()
            .map(|(i, c)| (i, (area.to_px(c.mean) - x).abs()))
            .filter(|(_, d)| *d < 40.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    };
    fn paint_at(lab: &Shared, x: f64, y: f64) {
        let drawn = {
            let mut ui = lab.ui.borrow_mut();
            let Some((stroke, area)) = ui.stroke.as_mut() else {
                return;
            };
            stroke.paint(area.data_x(x), area.data_y(y));
            stroke.mixture()
        };
        set_mixture(lab, drawn);
    }
    let l = lab.clone();
    listen(&canvas, "mousedown", move |e| {
        let Some((x, y)) = pos(&e) else { return };
        let Some(area) = l.ui.borrow().data_panel else {
            return;
        };
        if let Some(i) = nearest(&l, x) {
            l.ui.borrow_mut().dragging = Some((i, area));
            return;
        }
        // The plot area, and a little below its axis (where a stroke erases).
        if !area.contains(x, y, 12.0) {
            return;
        }
        let stroke = {
            let s = l.session.borrow();
            Stroke::begin(area.x, area.y, s.toy.mixture(), &s.settings.schedule)
        };
        l.ui.borrow_mut().stroke = Some((stroke, area));
        paint_at(&l, x, y);
    });
    let edit = |lab: &Shared, f: &dyn Fn(&mut Vec<Component>)| {
        let mut comps = lab.session.borrow().toy.mixture().components().to_vec();
        f(&mut comps);
        set_mixture(lab, Mixture::new(comps));
    };
    let l = lab.clone();
    listen(&canvas, "mousemove", move |e| {
        let Some((x, y)) = pos(&e) else { return };
        if l.ui.borrow().stroke.is_some() {
            paint_at(&l, x, y);
            return;
        }
        let Some((i, area)) = l.ui.borrow().dragging else {
            return;
        };
        let v = area.data_x(x).clamp(-7.5, 7.5);
        edit(&l, &|c| c[i].mean = (v * 100.0).round() / 100.0);
    });
    for ev in ["mouseup", "mouseleave"] {
        let l = lab.clone();
        listen(&canvas, ev, move |_| {
            let mut ui = l.ui.borrow_mut();
            ui.dragging = None;
            ui.stroke = None;
        });
    }
    let l = lab.clone();
    listen(&canvas, "wheel", move |e| {
        let Some((x, _)) = pos(&e) else { return };
        let Some(i) = nearest(&l, x) else {
            return;
        };
        e.prevent_default();
        let dy = e
            .dyn_ref::<web_sys::WheelEvent>()
            .map(|w| w.delta_y())
            .unwrap_or(0.0);
        let factor = if dy > 0.0 { 1.0 / 1.1 } else { 1.1 };
        edit(&l, &|c| c[i].width = (c[i].width * factor).clamp(0.05, 3.0));
    });
}

/// Loads a weights file into the lab (MNIST files once its digits are in); nothing changes
/// unless the whole file is valid.
pub async fn load_weights(lab: &Shared, bytes: &[u8], origin: &str) -> Result<String, String> {
    if crate::weights::model_of(bytes) == Ok(Model::Mnist) {
        ensure_mnist_data(lab)
            .await
            .map_err(|e| format!("{origin}: {e}"))?;
    }
    let request = Request::Import {
        bytes: bytes.to_vec(),
        origin: origin.into(),
    };
    let result = match drive::handle(&lab.session, request).await {
        Ok(Reply::Loaded { message }) => Ok(message),
        Ok(other) => Err(format!("unexpected reply {other:?}")),
        Err(e) => Err(format!("{origin}: {e}")),
    };
    sync_if_changed(lab);
    result
}

/// Loads the site's pretrained network for the model on show (MNIST's once its digits are in).
pub async fn load_pretrained(lab: &Shared) -> Result<String, String> {
    let model = lab.session.borrow().settings.model;
    let url = super::store::pretrained_url(model);
    let bytes = fetch_bytes(&url)
        .await
        .map_err(|e| format!("the pretrained network ({url}): {e}"))?;
    if model == Model::Mnist {
        ensure_mnist_data(lab).await?;
    }
    let result = drive::import_pretrained(&lab.session, &bytes);
    sync_if_changed(lab);
    result
}

/// Shows the outcome of loading weights in the messages.
pub fn report(lab: &Shared, result: Result<String, String>) {
    let mut s = lab.session.borrow_mut();
    match result {
        Ok(msg) => {
            s.error = None;
            s.notices = vec![msg];
        }
        Err(e) => s.error = Some(format!("Weights not loaded — {e}. Nothing was changed.")),
    }
    s.dirty = true;
}

fn bind_weights(lab: &Shared) {
    if let Some(input) = super::util::element::<web_sys::HtmlInputElement>("weights-file") {
        let l = lab.clone();
        let inp = input.clone();
        listen(&input, "change", move |_| {
            let Some(file) = inp.files().and_then(|f| f.get(0)) else {
                return;
            };
            let l = l.clone();
            let name = file.name();
            inp.set_value("");
            wasm_bindgen_futures::spawn_local(async move {
                let result = match array_buffer(file.array_buffer()).await {
                    Ok(bytes) => load_weights(&l, &bytes, &name).await,
                    Err(e) => Err(format!("{name}: could not read the file ({e})")),
                };
                report(&l, result);
            });
        });
    }
    if let Some(button) = document().get_element_by_id("pretrained") {
        let l = lab.clone();
        listen(&button, "click", move |_| {
            let l = l.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = load_pretrained(&l).await;
                report(&l, result);
            });
        });
    }
    if let Some(button) = document().get_element_by_id("download-weights") {
        let l = lab.clone();
        listen(&button, "click", move |_| {
            let l = l.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = drive::export(&l.session).await;
                if let Err(e) = result.and_then(|(bytes, name)| save_file(&bytes, name)) {
                    let mut s = l.session.borrow_mut();
                    s.error = Some(format!("Weights not downloaded: {e}"));
                    s.dirty = true;
                }
            });
        });
    }
}
