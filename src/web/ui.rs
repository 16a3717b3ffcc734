//! What the page keeps beside the session: canvas geometry for gestures, a raster cache, a
//! gesture in progress, and drawing's own pacing. No maths and no policy.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::OffscreenCanvas;

use super::plot::PlotArea;
use crate::models::toy1d::views::Stroke;
use crate::session::Session;

/// The page's state that is not the lab's.
#[derive(Default)]
pub struct Ui {
    /// Canvas geometry of the data plot when it was last drawn, for dragging and drawing.
    pub data_panel: Option<PlotArea>,
    /// A density being drawn with the mouse, and the data plot's geometry when it began (the
    /// plot rescales as the density changes; mapping through the live geometry ran away).
    pub stroke: Option<(Stroke, PlotArea)>,
    /// The mode being dragged, and the data plot's geometry when the drag began.
    pub dragging: Option<(usize, PlotArea)>,
    /// The exact density rasterised for the plots drawn over it, and the exact views'
    /// generation it was made from.
    pub density_raster: Option<(u64, OffscreenCanvas)>,
    /// The session's settings version the URL and controls show.
    pub settings_version: u64,
    pub last_draw: f64,
    pub draw_cost: f64,
}

/// The session and the page's state, shared by the loop, the controls and `window.lab`. Neither
/// is borrowed across an `await`.
#[derive(Clone)]
pub struct Shared {
    pub session: Rc<RefCell<Session>>,
    pub ui: Rc<RefCell<Ui>>,
}
