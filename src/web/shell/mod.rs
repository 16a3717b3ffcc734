//! The page's thread: the DOM and nothing heavy. It fills the controls and the URL from the
//! settings the lab's worker sends, and forwards what the user does (form changes, buttons,
//! keys, gestures on the data plot, weights files, figure toolbars, the canvases' sizes) to the
//! worker as `protocol::ToLab` messages. `www/main.js` owns the worker and applies the DOM
//! changes it sends (`outbox`); `window.lab`'s calls go to the worker too.

mod form;
mod present;
mod toolbar;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::protocol::{Gesture, ToLab};
use super::util::{document, window};
use crate::session::Command;
use crate::settings::Settings;

/// What the page's thread keeps: the worker, the settings it last sent, where the data plot's
/// mode handles are.
pub(crate) struct State {
    worker: web_sys::Worker,
    settings: RefCell<Settings>,
    handles: RefCell<Vec<f64>>,
    zoom: std::cell::Cell<f64>,
}

type Page = Rc<State>;

impl State {
    /// Sends `msg` to the lab.
    fn send(&self, msg: &ToLab) {
        let Ok(json) = serde_json::to_string(msg) else {
            return;
        };
        let envelope = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&envelope, &"shell".into(), &json.into());
        let _ = self.worker.post_message(&envelope);
    }

    fn command(&self, command: Command) {
        self.send(&ToLab::Command { command });
    }

    /// Every canvas's CSS size, the device pixel ratio and the zoom, to the lab (it redraws
    /// what changed size).
    fn layout(&self) {
        let mut sizes = Vec::new();
        if let Ok(list) = document().query_selector_all("main canvas") {
            for i in 0..list.length() {
                if let Some(c) = list
                    .get(i)
                    .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                {
                    let r = c.get_bounding_client_rect();
                    sizes.push((c.id(), r.width(), r.height()));
                }
            }
        }
        let dpr = window().device_pixel_ratio();
        self.send(&ToLab::Layout {
            sizes,
            dpr,
            zoom: self.zoom.get(),
        });
    }
}

/// Listens to `event` on `target` for the page's lifetime.
pub fn listen(target: &web_sys::EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget(); // lives as long as the page
}

/// The page's side of the lab (`www/main.js` makes one, with the lab's worker).
#[wasm_bindgen]
pub struct Shell {
    page: Page,
}

#[wasm_bindgen]
impl Shell {
    /// Shows the URL's settings in the controls and binds every control to `worker`.
    #[wasm_bindgen(constructor)]
    pub fn new(worker: web_sys::Worker) -> Shell {
        let search = window().location().search().unwrap_or_default();
        let (settings, _) = Settings::from_query(&search); // the lab reports the problems
        let page = Rc::new(State {
            worker,
            settings: RefCell::new(settings),
            handles: RefCell::new(Vec::new()),
            zoom: std::cell::Cell::new(1.0),
        });
        form::fill(&page.settings.borrow());
        present::sync(&page);
        form::bind(&page);
        bind_data_gestures(&page);
        form::bind_weights(&page);
        present::bind(&page);
        toolbar::bind(&page);
        let p = page.clone();
        listen(&window(), "resize", move |_| {
            present::resized(&p);
            p.layout();
        });
        Shell { page }
    }

    /// The settings the lab now has (a query string): into the URL, the controls and presenter
    /// mode.
    pub fn sync(&self, query: &str) {
        let (settings, _) = Settings::from_query(query);
        form::write_url(&settings);
        form::fill(&settings);
        *self.page.settings.borrow_mut() = settings;
        present::sync(&self.page);
    }

    /// Where the data plot's mode handles are now (canvas x, CSS pixels).
    #[wasm_bindgen(js_name = setHandles)]
    pub fn set_handles(&self, xs: Vec<f64>) {
        *self.page.handles.borrow_mut() = xs;
    }

    /// Sends the canvases' sizes to the lab (the page's resize observer calls this).
    pub fn layout(&self) {
        self.page.layout();
    }

    /// Exact Wasserstein-1 distance of `samples` to the data density the settings describe
    /// (`lab.w1`: answered here, at once).
    pub fn w1(&self, samples: &[f32]) -> f64 {
        self.page.settings.borrow().mixture.wasserstein1(samples)
    }
}

/// Dragging a mode of the data density moves it; the wheel changes its width; dragging anywhere
/// else draws the density. The page sends the gestures; the lab knows the plot's geometry.
fn bind_data_gestures(page: &Page) {
    let Some(canvas) = document().get_element_by_id("c-data") else {
        return;
    };
    let pos = |e: &web_sys::Event| {
        let m = e.dyn_ref::<web_sys::MouseEvent>()?;
        let c = m.current_target()?.dyn_into::<web_sys::Element>().ok()?;
        let r = c.get_bounding_client_rect();
        Some((
            m.client_x() as f64 - r.left(),
            m.client_y() as f64 - r.top(),
        ))
    };
    for (event, gesture) in [
        ("mousedown", Gesture::Down),
        ("mousemove", Gesture::Move),
        ("mouseup", Gesture::Up),
        ("mouseleave", Gesture::Up),
    ] {
        let p = page.clone();
        listen(&canvas, event, move |e| {
            if gesture == Gesture::Move
                && e.dyn_ref::<web_sys::MouseEvent>().map(|m| m.buttons()) == Some(0)
            {
                return; // only drags matter
            }
            let (x, y) = pos(&e).unwrap_or((0.0, 0.0));
            p.send(&ToLab::Gesture {
                gesture,
                x,
                y,
                dy: 0.0,
            });
        });
    }
    let p = page.clone();
    listen(&canvas, "wheel", move |e| {
        let Some((x, y)) = pos(&e) else { return };
        // Over a mode's handle the wheel resizes it; elsewhere it scrolls the page.
        if !p.handles.borrow().iter().any(|h| (h - x).abs() < 40.0) {
            return;
        }
        e.prevent_default();
        let dy = e
            .dyn_ref::<web_sys::WheelEvent>()
            .map(|w| w.delta_y())
            .unwrap_or(0.0);
        p.send(&ToLab::Gesture {
            gesture: Gesture::Wheel,
            x,
            y,
            dy,
        });
    });
}
