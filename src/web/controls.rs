//! What the page's controls do, in the lab's worker: the form's values become settings, buttons
//! and keys commands, gestures on the data plot edit the mixture, weights files go in and out.
//! Each turns into a session call; the page is then told the session's settings (its shell
//! writes them into the URL and the controls: `web::shell`).

use super::outbox;
use super::protocol::{Gesture, ToLab};
use super::store::{ensure_mnist_data, fetch_bytes};
use super::ui::Shared;
use crate::models::toy1d::mixture::{Component, Mixture};
use crate::models::toy1d::views::{handles, Stroke};
use crate::models::Model;
use crate::session::{drive, Reply, Request};

/// Tells the page the session's settings (URL, controls, presenter mode).
pub fn sync_page(lab: &Shared) {
    let (query, version) = {
        let s = lab.session.borrow();
        (s.settings.to_query(), s.settings_version)
    };
    outbox::settings(&query, version);
    lab.ui.borrow_mut().settings_version = version;
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

/// The form's values as settings; the URL-only settings are kept.
fn on_controls_changed(lab: &Shared, mut pairs: Vec<(String, String)>) {
    for (k, v) in lab.session.borrow().settings.all_pairs() {
        if (k == "device" || k == "threads" || k == "weights" || k == "present")
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

/// Handles one message from the page.
pub fn on_message(lab: &Shared, msg: ToLab) {
    match msg {
        ToLab::Controls { pairs } => on_controls_changed(lab, pairs),
        ToLab::Command { command } => {
            if lab.session.borrow().stopped.is_some() {
                return;
            }
            lab.session.borrow_mut().command(command);
            sync_if_changed(lab);
        }
        ToLab::Slide { to } => {
            let moved = {
                let s = lab.session.borrow();
                if s.stopped.is_some() {
                    return;
                }
                to.apply(s.settings.present, s.settings.model)
            };
            if let Some((model, present)) = moved {
                lab.session
                    .borrow_mut()
                    .show(model, |s| s.present = present);
                sync_if_changed(lab);
            }
        }
        ToLab::Gesture { gesture, x, y, dy } => on_gesture(lab, gesture, x, y, dy),
        ToLab::Pretrained => {
            let l = lab.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = load_pretrained(&l).await;
                report(&l, result);
            });
        }
        ToLab::DownloadWeights => {
            let l = lab.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match drive::export(&l.session).await {
                    Ok((bytes, name)) => outbox::download(name, &bytes),
                    Err(e) => {
                        let mut s = l.session.borrow_mut();
                        s.error = Some(format!("Weights not downloaded: {e}"));
                        s.dirty = true;
                    }
                }
            });
        }
        ToLab::Export { id, format } => super::export::save(lab, id, format),
        ToLab::Layout { sizes, dpr, zoom } => {
            let mut changed = super::surface::set_dpr(dpr);
            changed |= super::surface::set_zoom(zoom);
            for (id, w, h) in sizes {
                changed |= super::surface::resize(&id, w, h);
            }
            if changed {
                lab.session.borrow_mut().dirty = true;
                // At once, even while the loop is busy (a model loading its data, training):
                // until then the browser stretches the canvas's old picture to its new box (an
                // MNIST slide showed its "loading…" note as huge blurred letters for 2.5 s).
                super::draw_now(lab);
            }
        }
    }
}

/// A new data mixture goes through the settings like any control (URL, rebuilt views); an
/// invalid one (nothing drawn yet, a width out of range) leaves the data as it is.
fn set_mixture(lab: &Shared, mixture: Result<Mixture, String>) {
    let Ok(m) = mixture else { return };
    let mut s = lab.session.borrow().settings.clone();
    s.mixture = m;
    apply_query(lab, &s.to_query());
}

/// The mode whose handle is within 40 px of canvas x `x`.
fn nearest(lab: &Shared, x: f64) -> Option<usize> {
    let area = lab.ui.borrow().data_panel?;
    let s = lab.session.borrow();
    handles(s.toy.mixture())
        .iter()
        .enumerate()
        .map(|(i, c)| (i, (area.to_px(c.mean) - x).abs()))
        .filter(|(_, d)| *d < 40.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

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

fn edit(lab: &Shared, f: &dyn Fn(&mut Vec<Component>)) {
    let mut comps = lab.session.borrow().toy.mixture().components().to_vec();
    f(&mut comps);
    set_mixture(lab, Mixture::new(comps));
}

/// Dragging a mode of the data density moves it; the wheel changes its width; dragging anywhere
/// else draws the density (each change applies at once, like any setting: the URL holds it).
fn on_gesture(lab: &Shared, gesture: Gesture, x: f64, y: f64, dy: f64) {
    match gesture {
        Gesture::Down => {
            let Some(area) = lab.ui.borrow().data_panel else {
                return;
            };
            if let Some(i) = nearest(lab, x) {
                lab.ui.borrow_mut().dragging = Some((i, area));
                return;
            }
            // The plot area, and a little below its axis (where a stroke erases).
            if !area.contains(x, y, 12.0) {
                return;
            }
            let stroke = {
                let s = lab.session.borrow();
                Stroke::begin(area.x, area.y, s.toy.mixture(), &s.settings.schedule)
            };
            lab.ui.borrow_mut().stroke = Some((stroke, area));
            paint_at(lab, x, y);
        }
        Gesture::Move => {
            if lab.ui.borrow().stroke.is_some() {
                paint_at(lab, x, y);
                return;
            }
            let Some((i, area)) = lab.ui.borrow().dragging else {
                return;
            };
            let v = area.data_x(x).clamp(-7.5, 7.5);
            edit(lab, &|c| c[i].mean = (v * 100.0).round() / 100.0);
        }
        Gesture::Up => {
            let mut ui = lab.ui.borrow_mut();
            ui.dragging = None;
            ui.stroke = None;
        }
        Gesture::Wheel => {
            let Some(i) = nearest(lab, x) else {
                return;
            };
            let factor = if dy > 0.0 { 1.0 / 1.1 } else { 1.1 };
            edit(lab, &|c| {
                c[i].width = (c[i].width * factor).clamp(0.05, 3.0)
            });
        }
    }
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
