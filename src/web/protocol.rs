//! The messages the page's shell sends the lab's worker (as JSON; bytes travel beside them):
//! what the user did, and the page's layout. The worker's answers are `outbox`'s.

use serde::{Deserialize, Serialize};

use crate::lecture::SlideMove;
use crate::session::Command;

/// The Train button's label while paused and while training (the worker writes it with the
/// session's state; the page flips it the moment the button is clicked, before the worker,
/// which may be in the middle of a half-second MNIST step, has read the click).
pub const PLAY_LABEL: [&str; 2] = ["▶ Train", "❚❚ Pause"];
/// The Step button's label (index.html's), to which queued steps add "· N left".
pub const STEP_LABEL: &str = "Step ×100";

/// A pointer gesture on the data plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gesture {
    Down,
    Move,
    Up,
    Wheel,
}

/// One message from the page to the lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum ToLab {
    /// The form's values (the visible control of each setting), after a change.
    Controls { pairs: Vec<(String, String)> },
    /// A button or key.
    Command { command: Command },
    /// Presenter mode: a key or button's move, from the slide on show when the lab reads it.
    Slide { to: SlideMove },
    /// A gesture on the data plot at canvas coordinates (CSS pixels); `dy`: the wheel's.
    Gesture {
        gesture: Gesture,
        x: f64,
        y: f64,
        dy: f64,
    },
    /// The Pretrained button.
    Pretrained,
    /// The download-weights button.
    DownloadWeights,
    /// A figure's toolbar: save figure `id` as `format`.
    Export { id: String, format: String },
    /// Every canvas's CSS size, the device pixel ratio and presenter mode's zoom.
    Layout {
        sizes: Vec<(String, f64, f64)>,
        dpr: f64,
        zoom: f64,
    },
}
