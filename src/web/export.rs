//! Figures and samples leaving the page: every figure as a PNG at twice its on-screen size (for
//! slides) and as SVG (papers, lecture notes), the samples a figure shows and those `lab.sample` returned as CSV or NPY
//! (`crate::export`). A small toolbar on each figure offers them; `lab.exportFigure` and
//! `lab.exportSamples` return the same bytes.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlCanvasElement};

use super::controls::listen;
use super::store::{fetch_bytes, save_file};
use super::surface::ExportTarget;
use super::ui::Shared;
use super::util::{document, window};
use crate::models::Model;
use crate::session::samples::{shown, Samples};

/// The figure of each model whose samples its toolbar offers.
pub fn sample_figure(model: Model) -> &'static str {
    match model {
        Model::Toy1d => "c-samples",
        Model::Ising => "c-ising-configs",
        Model::Mnist => "c-mnist-digits",
    }
}

/// Pixels per CSS pixel of an exported PNG.
pub const PNG_SCALE: f64 = 2.0;

/// The size on screen of canvas `id`, if it is on show (the model's own figure).
fn on_show(id: &str) -> Result<web_sys::DomRect, String> {
    let canvas = document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())
        .ok_or_else(|| format!("no figure '{id}'"))?;
    let rect = canvas.get_bounding_client_rect();
    if rect.width() < 1.0 {
        return Err(format!(
            "figure '{id}' is not on show (it belongs to another model)"
        ));
    }
    Ok(rect)
}

/// Draws figure `id` alone into `to` (the page's own figures redraw afterwards as usual: the
/// export skipped them).
fn render_into(lab: &Shared, id: &str, to: ExportTarget) {
    {
        let s = lab.session.borrow();
        let mut ui = lab.ui.borrow_mut();
        super::surface::export_into(id, to, || super::draw_all(&s, &mut ui));
    }
    lab.session.borrow_mut().dirty = true;
}

/// The figure of canvas `id` as PNG bytes, drawn again at [`PNG_SCALE`] × its CSS size.
pub async fn png(lab: &Shared, id: &str) -> Result<Vec<u8>, String> {
    on_show(id)?;
    let target: HtmlCanvasElement = document()
        .create_element("canvas")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "no canvas")?;
    render_into(lab, id, ExportTarget::Canvas(target.clone(), PNG_SCALE));
    if target.width() == 0 {
        return Err(format!("figure '{id}' drew nothing"));
    }
    let url = target
        .to_data_url_with_type("image/png")
        .map_err(|e| format!("{e:?}"))?;
    fetch_bytes(&url).await
}

/// The figure of canvas `id` as an SVG document: the same drawing calls as on screen, made on a
/// context that records them (svgcanvas, loaded from `www/vendor/` by `window.difflabSvgContext`
/// the first time), in CSS pixels; text stays text.
pub async fn svg(lab: &Shared, id: &str) -> Result<Vec<u8>, String> {
    let shown = on_show(id)?;
    let js = |e: JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let make: js_sys::Function = js_sys::Reflect::get(&window(), &"difflabSvgContext".into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "the page's SVG export is missing (www/main.js)")?;
    let promise: js_sys::Promise = make
        .call2(
            &JsValue::NULL,
            &shown.width().round().into(),
            &shown.height().round().into(),
        )
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "difflabSvgContext returned no promise")?;
    let recorder = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| {
            format!(
                "loading the SVG exporter (www/vendor/svgcanvas.js): {}",
                js(e)
            )
        })?;
    render_into(
        lab,
        id,
        ExportTarget::Context(recorder.clone().unchecked_into()),
    );
    let serialize: js_sys::Function = js_sys::Reflect::get(&recorder, &"getSerializedSvg".into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "the SVG recorder has no getSerializedSvg")?;
    let text = serialize
        .call0(&recorder)
        .map_err(js)?
        .as_string()
        .ok_or("the SVG recorder returned no text")?;
    Ok(text.into_bytes())
}

/// The samples to export: `lab.sample`'s last (`last`) or the sample figure's.
pub fn samples(lab: &Shared, last: bool) -> Result<Samples, String> {
    let mut s = lab.session.borrow_mut();
    if last {
        return s
            .last_samples
            .clone()
            .ok_or_else(|| "no samples yet: call lab.sample first".to_string());
    }
    shown(&mut s).ok_or_else(|| "no samples yet: they appear after the first training steps".into())
}

/// What the toolbar's buttons do: save the figure or its samples.
async fn save(lab: &Shared, id: &str, format: &str) -> Result<(), String> {
    match format {
        "png" => {
            let bytes = png(lab, id).await?;
            save_file(&bytes, &format!("{id}.png"))
        }
        "svg" => {
            let bytes = svg(lab, id).await?;
            save_file(&bytes, &format!("{id}.svg"))
        }
        _ => {
            let s = samples(lab, false)?;
            save_file(&s.encode(format)?, &s.file_name(format))
        }
    }
}

fn button(parent: &Element, label: &str, title: &str) -> Option<Element> {
    let b = document().create_element("button").ok()?;
    let _ = b.set_attribute("type", "button");
    let _ = b.set_attribute("title", title);
    let _ = b.set_attribute("aria-label", title);
    b.set_text_content(Some(label));
    parent.append_child(&b).ok()?;
    Some(b)
}

/// Adds each figure's toolbar (PNG; CSV and NPY on the sample figures).
pub fn bind(lab: &Shared) {
    let Ok(list) = document().query_selector_all("main figure") else {
        return;
    };
    for i in 0..list.length() {
        let Some(fig) = list.get(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
            continue;
        };
        let Some(id) = fig.query_selector("canvas").ok().flatten().map(|c| c.id()) else {
            continue;
        };
        let Ok(bar) = document().create_element("div") else {
            continue;
        };
        let _ = bar.set_attribute("class", "fig-tools");
        let _ = bar.set_attribute("role", "group");
        let _ = bar.set_attribute("aria-label", "export this figure");
        let mut formats = vec![
            ("png", "PNG", "save this figure as a PNG at twice its size"),
            (
                "svg",
                "SVG",
                "save this figure as SVG (vector graphics, text as text)",
            ),
        ];
        if Model::ALL.iter().any(|m| sample_figure(*m) == id) {
            formats.push(("csv", "CSV", "save the samples this figure shows as CSV"));
            formats.push((
                "npy",
                "NPY",
                "save the samples this figure shows as a NumPy .npy file",
            ));
        }
        for (format, label, title) in formats {
            if let Some(b) = button(&bar, label, title) {
                let _ = b.set_attribute("data-export", format);
                let (l, id) = (lab.clone(), id.clone());
                listen(&b, "click", move |_| {
                    let (l, id) = (l.clone(), id.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Err(e) = save(&l, &id, format).await {
                            let mut s = l.session.borrow_mut();
                            s.notices = vec![format!("Export: {e}")];
                            s.dirty = true;
                        }
                    });
                });
            }
        }
        // In the caption's first line, floated right: beside the text, never over the figure
        // (absolutely placed over the canvas it covered the right-hand panel's title).
        match fig.query_selector("figcaption").ok().flatten() {
            Some(caption) => {
                let _ = caption.insert_before(&bar, caption.first_child().as_ref());
            }
            None => {
                let _ = fig.append_child(&bar);
            }
        }
    }
}
