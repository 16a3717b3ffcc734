//! Presenter mode's content: the seed texts' story as a sequence of slides, each one live figure
//! (or two) of one model beside its equations, a sentence or two and the controls it needs.
//! Equations are written in LaTeX, as the texts write them, and rendered to MathML (which
//! Chromium, Firefox and Safari lay out natively) by `pulldown-latex`; nothing is fetched at run
//! time. The page (`web::present`) only shows what this table says; a native test checks every
//! slide (its model, its figures' canvases, its controls' settings, its equations).

use pulldown_latex::config::DisplayMode;
use pulldown_latex::{push_mathml, Parser, RenderConfig, Storage};

use crate::models::Model;

/// One equation: LaTeX and the label it carries in the seed text (empty: none).
pub type Equation = (&'static str, &'static str);

/// One step of the lecture.
#[derive(Debug)]
pub struct Slide {
    /// A short name (the page's `data-slide`, test artifacts).
    pub id: &'static str,
    pub model: Model,
    pub title: &'static str,
    /// The ids of the canvases it shows, in order (the first fills most of the screen).
    pub figures: &'static [&'static str],
    /// The settings (URL keys) whose controls it shows.
    pub controls: &'static [&'static str],
    pub equations: &'static [Equation],
    /// One or two sentences; `$…$` is inline LaTeX.
    pub text: &'static str,
    /// Where it comes from in the seed texts.
    pub source: &'static str,
}

/// The lecture, in order. `?present=k` shows slide k (1-based); 0 is the ordinary page.
pub const SLIDES: &[Slide] = &[
    Slide {
        id: "forward",
        model: Model::Toy1d,
        title: "Noising the data: an Ornstein–Uhlenbeck process",
        figures: &["c-forward", "c-data"],
        controls: &["D", "T"],
        equations: &[
            (r"\dot{x} = -x + \sqrt{2D}\,\eta(t)", "(1)"),
            (
                r"\partial_t p_t(x) = \partial_x\left[x\,p_t(x)\right] + D\,\partial_{xx} p_t(x)",
                "(2)",
            ),
            (r"p_{t\to\infty}(x) \propto e^{-x^2/2D}", "(3)"),
        ],
        text: "Every data point drifts toward 0 and is kicked by white noise $\\eta$ of strength $D$: the density $p_t(x)$ (background) forgets the two modes and becomes the Gaussian of variance $D$. Drag a mode of the data (below) to change them.",
        source: "Introduction, eq. 1–3, Figures 1–2",
    },
    Slide {
        id: "alpha-sigma",
        model: Model::Toy1d,
        title: "Any schedule: two curves, α and σ",
        figures: &["c-schedule", "c-forward"],
        controls: &["schedule"],
        equations: &[
            (
                r"x_t \mid x_0 \sim \mathcal{N}\left(\alpha_t x_0,\, \sigma_t^2\right)",
                "",
            ),
            (r"\lambda_t = -\frac{d}{dt}\log\alpha_t", ""),
            (
                r"g_t^2 = \sigma_t^2\,\frac{d}{dt}\log\frac{\sigma_t^2}{\alpha_t^2}",
                "",
            ),
            (
                r"\text{OU: } \alpha_t = e^{-t},\; \sigma_t^2 = D\left(1 - e^{-2t}\right)",
                "",
            ),
            (r"\Rightarrow\; \lambda_t = 1,\; g_t^2 = 2D", ""),
        ],
        text: "A forward process that mixes signal and noise linearly, $x_{t+\\Delta t} = (1 - \\lambda_t \\Delta t)\\,x_t + g_t\\sqrt{\\Delta t}\\,z_t$, is fixed by the two curves $\\alpha_t$ and $\\sigma_t$: its drift $\\lambda_t$ and noise $g_t$ follow from them, as long as $\\alpha_t/\\sigma_t$ falls.",
        source: "SDE notes: the forward process",
    },
    Slide {
        id: "score",
        model: Model::Toy1d,
        title: "The score, learned from single noisy runs",
        figures: &["c-score"],
        controls: &["t", "loss"],
        equations: &[
            (
                r"\partial_t p = \partial_x\left[\left(x + D\,F\right)p\right]",
                "(4)",
            ),
            (r"F(x,t) = \partial_x \log p_t(x)", ""),
            (
                r"p_t(x_t) = \int p_0(x_0)\, q(x_t, t \mid x_0, 0)\, dx_0",
                "(7)",
            ),
            (
                r"F(x_t,t) = -\frac{x_t - \mathbb{E}[x_0 \mid x_t]\,e^{-t}}{D\left(1-e^{-2t}\right)}",
                "(8)",
            ),
        ],
        text: "The network never sees $F$: each forward run gives one noisy target, with its own $x_0$ in place of $\\mathbb{E}[x_0 \\mid x_t]$ (the points). Regression averages them into the score. Move $t$.",
        source: "Introduction, eq. 4, 7, 8, Figure 3",
    },
    Slide {
        id: "matching",
        model: Model::Toy1d,
        title: "Denoising score matching",
        figures: &["c-field", "c-loss"],
        controls: &["lr", "batch"],
        equations: &[
            (
                r"L(\theta,t) = \mathbb{E}\left|s_\theta(x_t,t) - \nabla\log p(x_t,t)\right|^2",
                "",
            ),
            (
                r"L(\theta,t) = \mathbb{E}\left|s_\theta(x_t,t) - \frac{\alpha_t x_0 - x_t}{\sigma_t^2}\right|^2 + C",
                "",
            ),
            (
                r"x_t = \alpha_t x_0 + \sigma_t\,\varepsilon \;\Rightarrow\; \frac{\alpha_t x_0 - x_t}{\sigma_t^2} = -\frac{\varepsilon}{\sigma_t}",
                "",
            ),
        ],
        text: "Regressing onto the unknown score equals, up to a constant $C$, regressing onto the noise that was added: the network is a denoiser. The field shows what it has learned over $(t, x)$; the arrows are the probability-flow ODE's direction.",
        source: "SDE notes: denoising score matching",
    },
    Slide {
        id: "reverse",
        model: Model::Toy1d,
        title: "Running time backwards: SDE, ODE and the family between",
        figures: &["c-reverse"],
        controls: &["sampler", "a"],
        equations: &[
            (r"\dot{x} = x + 2D\,F(x,t) + \sqrt{2D}\,\eta(t)", "(5)"),
            (r"\dot{x} = x + D\,F(x,t)", "(6)"),
            (
                r"\dot{x} = x + 2Da\,F + \sqrt{2D(2a-1)}\,\eta, \quad a \ge \tfrac12",
                "",
            ),
        ],
        text: "Time runs backwards from the prior. The stochastic process (5) and the deterministic one (6) carry the same densities $p_t$; so does every member of the family between them ($a = 1$: SDE, $a = \\tfrac12$: ODE; the text calls it $\\alpha$).",
        source: "Introduction, eq. 5–6, Figure 4",
    },
    Slide {
        id: "samples",
        model: Model::Toy1d,
        title: "Samples against the truth",
        figures: &["c-samples", "c-terminal"],
        controls: &["steps", "score"],
        equations: &[(
            r"W_1(p, q) = \int_{-\infty}^{\infty} \left|P(x) - Q(x)\right| dx",
            "",
        )],
        text: "The learned processes' samples against the true density; $W_1$ is the area between the cumulative distributions $P$ and $Q$ (header). Switch to the exact score to tell the network's error from the sampler's.",
        source: "Introduction, Figure 5",
    },
    Slide {
        id: "flow",
        model: Model::Toy1d,
        title: "Schedules and flow matching",
        figures: &["c-schedule", "c-reverse"],
        controls: &["schedule"],
        equations: &[
            (r"\alpha_t = 1 - t, \qquad \sigma_t = t", ""),
            (
                r"\lambda_t = \frac{1}{1-t}, \qquad g_t^2 = \frac{2t}{1-t}",
                "",
            ),
            (
                r"\frac{dx_t}{dt} = -\lambda_t\, x_t - \tfrac12\, g_t^2\, \nabla\log p(x_t, t)",
                "",
            ),
        ],
        text: "Choose the flow-matching schedule: a straight line from data to noise is one more pair $\\alpha_t, \\sigma_t$. Its probability-flow ODE is the velocity field flow matching learns, and its paths are straighter.",
        source: "SDE notes: probability flow; flow matching",
    },
    Slide {
        id: "ising-forward",
        model: Model::Ising,
        title: "Ising spins, noised by random flips",
        figures: &["c-ising-runs"],
        controls: &["beta", "flip"],
        equations: &[
            (
                r"p(\sigma) = \frac{1}{Z}\,e^{-\beta E(\sigma)}, \quad E(\sigma) = -\sum_{\langle ij\rangle} \sigma_i\sigma_j",
                "",
            ),
            (r"\Pr\left[x_{t,i} = -x_{t-1,i}\right] = r", ""),
            (
                r"p_t(x_t) = \sum_{x_{t-1}} q(x_t \mid x_{t-1})\, p_{t-1}(x_{t-1})",
                "(19)",
            ),
        ],
        text: "Configurations of the 8×8 torus from the Gibbs measure at inverse temperature $\\beta$. Each step flips every spin with probability $r$, until the spins are independent coin flips.",
        source: "Discrete state spaces, eq. 19, Figures 6–7",
    },
    Slide {
        id: "ising-kernel",
        model: Model::Ising,
        title: "Learning the reverse kernel, spin by spin",
        figures: &["c-ising-configs"],
        controls: &["kernel", "rsteps"],
        equations: &[
            (
                r"q(x_{t-1} \mid x_t) = \frac{q(x_t \mid x_{t-1})\, p_{t-1}(x_{t-1})}{p_t(x_t)}",
                "(20)",
            ),
            (
                r"\log q(x_{t-1}\mid x_t) = \log q(x_t \mid x_{t-1})",
                "",
            ),
            (r"{} + \log\frac{p_{t-1}(x_{t-1})}{p_t(x_t)}", "(22)"),
            (
                r"q_\theta(x_{t-1}\mid x_t) = \prod_{i} q_\theta\left(x_{t-1,i} \mid x_t, t\right)",
                "",
            ),
        ],
        text: "The forward kernel is known; the network learns the rest, one probability per spin, conditioned on the whole configuration by convolutions on the torus. Right: what it generates from random spins (Figure 8).",
        source: "Discrete state spaces, eq. 20–22, Figure 8",
    },
    Slide {
        id: "ising-gibbs",
        model: Model::Ising,
        title: "Against the exact Gibbs measure",
        figures: &["c-ising-hist"],
        controls: &["beta"],
        equations: &[
            (r"M = \frac{1}{64}\sum_{i=1}^{64} \sigma_i", ""),
            (r"Z = \operatorname{tr} \mathsf{T}^8", ""),
            (
                r"\mathsf{T}_{s s'} = \exp \beta \sum_i \left(s_i s_{i+1} + s_i s'_i\right)",
                "",
            ),
            (
                r"\mathrm{TV}(p, q) = \tfrac12 \sum_M \left|p(M) - q(M)\right|",
                "",
            ),
        ],
        text: "Figure 9, made exact: the generated magnetization and energy against the Gibbs measure of the 8×8 torus, summed over all $2^{64}$ configurations with the row-to-row transfer matrix $\\mathsf{T}$ (256 × 256).",
        source: "Discrete state spaces, Figure 9",
    },
    Slide {
        id: "mnist-denoise",
        model: Model::Mnist,
        title: "Digits from noise",
        figures: &["c-mnist-strip", "c-mnist-digits"],
        controls: &["msampler", "msteps"],
        equations: &[
            (
                r"x_t = \alpha_t x_0 + \sigma_t\,\varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, I_{784})",
                "",
            ),
            (
                r"L(\theta) = \mathbb{E}_{t, x_0, \varepsilon}\left\|\hat\varepsilon_\theta(x_t, t) - \varepsilon\right\|^2",
                "",
            ),
            (
                r"\nabla \log p_t(x_t) \approx -\frac{\hat\varepsilon_\theta(x_t,t)}{\sigma_t}",
                "",
            ),
        ],
        text: "Each 28×28 digit is a point in 784 dimensions, noised as before. A U-Net predicts the noise, which is the score up to $-1/\\sigma_t$; the reverse process turns Gaussian noise into digits (top, from left to right).",
        source: "MNIST, Figure 10; DDPM tutorial: noise prediction",
    },
    Slide {
        id: "mnist-guidance",
        model: Model::Mnist,
        title: "Guidance: ask for a digit",
        figures: &["c-mnist-digits"],
        controls: &["digit", "guide"],
        equations: &[
            (r"\nabla\log p_t(x \mid y)", ""),
            (
                r"{} = \nabla\log p_t(x) + \nabla\log p_t(y \mid x)",
                "",
            ),
            (
                r"\hat{s} = s_\theta(x_t, t) + w\,\nabla_{x_t}\log p_\phi(y \mid x_t, t)",
                "",
            ),
        ],
        text: "A classifier $p_\\phi$ trained on noisy digits pushes every reverse step toward the class $y$; its weight $w$ is the guidance scale. Choose a digit.",
        source: "MNIST: classifier guidance",
    },
    Slide {
        id: "mnist-memorisation",
        model: Model::Mnist,
        title: "Create or copy?",
        figures: &["c-mnist-nearest"],
        controls: &[],
        equations: &[(
            r"d(x) = \min_{1 \le i \le 2000} \left\| x - x^{(i)} \right\|_2",
            "",
        )],
        text: "Each generated digit beside the closest of the 2,000 training digits. The exact score of the training set would only ever reproduce them ($d = 0$); a network that generalises learns a smoother one.",
        source: "MNIST, Figure 10",
    },
];

/// The slide `present` names (1-based), if any.
pub fn slide(present: usize) -> Option<&'static Slide> {
    present.checked_sub(1).and_then(|i| SLIDES.get(i))
}

/// The first slide of `model` (1-based).
pub fn first_slide_of(model: Model) -> usize {
    SLIDES
        .iter()
        .position(|s| s.model == model)
        .map_or(1, |i| i + 1)
}

/// A move in presenter mode, as a key or button asks it: relative to the slide on show when the
/// lab reads it (two quick presses of → move two slides, and P right after a model change
/// opens that model's first slide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SlideMove {
    /// P: the first slide of the model on show, or back to the ordinary page.
    Toggle,
    /// Esc: the ordinary page.
    Leave,
    /// ←/→ (and Home/End as a large step), clamped to the lecture.
    By(isize),
    /// A slide by number (0: the ordinary page).
    To(usize),
}

impl SlideMove {
    /// The model and slide after this move from slide `present` (0: the ordinary page) with
    /// `model` on show; `None` when nothing changes.
    pub fn apply(self, present: usize, model: Model) -> Option<(Model, usize)> {
        let k = match self {
            SlideMove::Toggle if present > 0 => 0,
            SlideMove::Toggle => first_slide_of(model),
            SlideMove::Leave => 0,
            SlideMove::By(_) if present == 0 => return None,
            SlideMove::By(by) => (present as isize + by).clamp(1, SLIDES.len() as isize) as usize,
            SlideMove::To(k) => k.min(SLIDES.len()),
        };
        if k == present {
            return None;
        }
        Some((slide(k).map_or(model, |s| s.model), k))
    }
}

/// LaTeX as MathML (`display`: a block equation), or why it does not parse.
pub fn mathml(tex: &str, display: bool) -> Result<String, String> {
    let storage = Storage::new();
    let events = Parser::new(tex, &storage)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{tex}: {e}"))?;
    let config = RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        annotation: Some(tex),
        ..RenderConfig::default()
    };
    let mut out = String::new();
    push_mathml(
        &mut out,
        events.into_iter().map(Ok::<_, std::convert::Infallible>),
        config,
    )
    .map_err(|e| format!("{tex}: {e}"))?;
    Ok(out)
}

/// Text with `$…$` inline LaTeX as HTML: the text escaped, the math as MathML.
pub fn text_html(text: &str) -> Result<String, String> {
    let mut out = String::new();
    for (i, part) in text.split('$').enumerate() {
        if i % 2 == 1 {
            out.push_str(&mathml(part, false)?);
        } else {
            out.push_str(&escape(part));
        }
    }
    if text.matches('$').count() % 2 == 1 {
        return Err(format!("unbalanced $ in {text:?}"));
    }
    Ok(out)
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The slide's equations and text as HTML (what the page puts beside the figure).
pub fn slide_html(slide: &Slide) -> Result<String, String> {
    let mut out = String::new();
    out.push_str("<div class=\"equations\">");
    for (tex, label) in slide.equations {
        out.push_str("<div class=\"equation\">");
        out.push_str(&mathml(tex, true)?);
        if !label.is_empty() {
            out.push_str(&format!(
                "<span class=\"eq-label\">{}</span>",
                escape(label)
            ));
        }
        out.push_str("</div>");
    }
    out.push_str("</div><p class=\"slide-text\">");
    out.push_str(&text_html(slide.text)?);
    out.push_str(&format!(
        "</p><p class=\"slide-source\">{}</p>",
        escape(slide.source)
    ));
    Ok(out)
}
