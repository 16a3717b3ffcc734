//! Each figure's toolbar: PNG at 2×, SVG, and on the sample figures CSV and NPY. The lab's
//! worker draws and encodes the file (`web::export`); the page downloads it.

use wasm_bindgen::JsCast;
use web_sys::Element;

use super::{listen, Page};
use crate::models::Model;
use crate::web::protocol::ToLab;
use crate::web::util::document;

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
pub fn bind(page: &Page) {
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
        if Model::ALL
            .iter()
            .any(|m| crate::web::export::sample_figure(*m) == id)
        {
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
                let (p, id) = (page.clone(), id.clone());
                listen(&b, "click", move |_| {
                    p.send(&ToLab::Export {
                        id: id.clone(),
                        format: format.to_string(),
                    })
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
