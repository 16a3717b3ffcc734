//! Figures and samples leaving the page: every figure as a PNG at twice its on-screen size (for
//! slides) and as SVG (papers, lecture notes), the samples a figure shows and those `lab.sample` returned as CSV or NPY
//! (`crate::export`). A small toolbar on each figure offers them; `lab.exportFigure` and
//! `lab.exportSamples` return the same bytes.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::OffscreenCanvas;

use super::outbox;
use super::store::array_buffer;
use super::surface::ExportTarget;
use super::ui::Shared;
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

/// The CSS size of canvas `id`, if it is on show (the model's own figure).
fn on_show(id: &str) -> Result<(f64, f64), String> {
    let (w, h) = super::surface::css_size(id).ok_or_else(|| format!("no figure '{id}'"))?;
    if w < 1.0 {
        return Err(format!(
            "figure '{id}' is not on show (it belongs to another model)"
        ));
    }
    Ok((w, h))
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

fn js(e: JsValue) -> String {
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// The figure of canvas `id` as PNG bytes, drawn again at [`PNG_SCALE`] × its CSS size.
pub async fn png(lab: &Shared, id: &str) -> Result<Vec<u8>, String> {
    on_show(id)?;
    let target = OffscreenCanvas::new(1, 1).map_err(js)?;
    render_into(lab, id, ExportTarget::Canvas(target.clone(), PNG_SCALE));
    if target.width() <= 1 {
        return Err(format!("figure '{id}' drew nothing"));
    }
    let options = web_sys::ImageEncodeOptions::new();
    options.set_type("image/png");
    let blob = wasm_bindgen_futures::JsFuture::from(
        target.convert_to_blob_with_options(&options).map_err(js)?,
    )
    .await
    .map_err(js)?;
    let blob: web_sys::Blob = blob.unchecked_into();
    array_buffer(blob.array_buffer()).await
}

/// The figure of canvas `id` as SVG, recorded: the same drawing calls as on screen, made on a
/// context that records them (`difflabSvgRecorder` in `www/worker.js`), in CSS pixels. The page
/// replays the record on svgcanvas (which needs a document) and serialises it: text stays text.
/// Returns `{ log, width, height }`.
pub fn svg_record(lab: &Shared, id: &str) -> Result<JsValue, String> {
    let (w, h) = on_show(id)?;
    let make: js_sys::Function = super::util::global_get("difflabSvgRecorder")
        .dyn_into()
        .map_err(|_| "the SVG recorder is missing (www/worker.js)")?;
    let recorder = make
        .call2(&JsValue::NULL, &w.round().into(), &h.round().into())
        .map_err(js)?;
    render_into(
        lab,
        id,
        ExportTarget::Context(recorder.clone().unchecked_into()),
    );
    let finish: js_sys::Function = js_sys::Reflect::get(&recorder, &"__record".into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "the SVG recorder has no record")?;
    finish.call0(&recorder).map_err(js)
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

/// What a figure's toolbar asks: save the figure or its samples (a problem is shown in the
/// messages).
pub fn save(lab: &Shared, id: String, format: String) {
    let lab = lab.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = match format.as_str() {
            "png" => png(&lab, &id)
                .await
                .map(|bytes| outbox::download(&format!("{id}.png"), &bytes)),
            "svg" => svg_record(&lab, &id).map(|record| {
                let msg = js_sys::Object::new();
                let _ =
                    js_sys::Reflect::set(&msg, &"svgDownload".into(), &format!("{id}.svg").into());
                let _ = js_sys::Reflect::set(&msg, &"svg".into(), &record);
                outbox::post(&msg);
            }),
            _ => samples(&lab, false)
                .and_then(|s| Ok(outbox::download(&s.file_name(&format), &s.encode(&format)?))),
        };
        if let Err(e) = result {
            let mut s = lab.session.borrow_mut();
            s.notices = vec![format!("Export: {e}")];
            s.dirty = true;
        }
    });
}
