//! Presenter mode's slides: each names a model, canvases of that model's section of the page,
//! controls that are settings of that model, and equations that render to MathML; `present`
//! is a setting like any other (validated, a bookmark, in the URL's round trip).

use difflab::lecture::{first_slide_of, mathml, slide, slide_html, text_html, SlideMove, SLIDES};
use difflab::models::Model;
use difflab::settings::{key, Settings};

const PAGE: &str = include_str!("../index.html");

/// The `<section>` of the page holding `model`'s figures.
fn section(model: Model) -> &'static str {
    let id = match model {
        Model::Toy1d => "id=\"plots\"",
        Model::Ising => "id=\"plots-ising\"",
        Model::Mnist => "id=\"plots-mnist\"",
    };
    let start = PAGE.find(id).expect("the model's section");
    let end = PAGE[start..].find("</section>").expect("section end") + start;
    &PAGE[start..end]
}

#[test]
fn every_slide_shows_its_models_figures_and_controls() {
    let mut ids = std::collections::HashSet::new();
    for s in SLIDES {
        assert!(ids.insert(s.id), "slide id {} twice", s.id);
        assert!(!s.figures.is_empty(), "{}: no figure", s.id);
        for f in s.figures {
            assert!(
                section(s.model).contains(&format!("<canvas id=\"{f}\"")),
                "{}: canvas {f} is not in the {} section",
                s.id,
                s.model.name()
            );
        }
        for c in s.controls {
            let k = key(c).unwrap_or_else(|| panic!("{}: {c} is not a setting", s.id));
            assert!(
                k.model.is_none() || k.model == Some(s.model),
                "{}: {c} belongs to another model",
                s.id
            );
            assert!(
                PAGE.contains(&format!("name=\"{c}\"")),
                "{}: the page has no control named {c}",
                s.id
            );
        }
        assert!(!s.equations.is_empty() && !s.text.is_empty(), "{}", s.id);
    }
    for m in Model::ALL {
        assert!(
            SLIDES.iter().any(|s| s.model == m),
            "{} has no slide",
            m.name()
        );
    }
}

#[test]
fn every_equation_and_text_renders_to_mathml() {
    for s in SLIDES {
        for (tex, _) in s.equations {
            let m = mathml(tex, true).unwrap_or_else(|e| panic!("{}: {e}", s.id));
            assert!(m.starts_with("<math") && m.ends_with("</math>"), "{m}");
            assert!(m.contains("display=\"block\""), "{m}");
            // pulldown-latex writes what it cannot render in its error colour.
            assert!(
                !m.contains("mathcolor"),
                "{}: {tex} has an error: {m}",
                s.id
            );
        }
        let html = slide_html(s).unwrap_or_else(|e| panic!("{}: {e}", s.id));
        assert_eq!(
            html.matches("<math").count(),
            s.equations.len() + s.text.matches('$').count() / 2,
            "{}",
            s.id
        );
        assert!(!html.contains("mathcolor"), "{}: {html}", s.id);
    }
    // The rendering really is MathML of the formula: a fraction, a square root, a subscript.
    let m = mathml(r"\frac{a}{\sqrt{2D}} + x_t", false).unwrap();
    for tag in ["<mfrac>", "<msqrt>", "<msub>", "<mi>a</mi>"] {
        assert!(m.contains(tag), "{tag} in {m}");
    }
    assert!(
        mathml(r"\frac{a}{", true).is_err(),
        "a broken formula is an error"
    );
    assert!(text_html("one $x$ two $y").is_err(), "unbalanced $");
    assert_eq!(text_html("a < b & c").unwrap(), "a &lt; b &amp; c");
}

#[test]
fn present_is_a_setting_whose_slide_chooses_the_model() {
    // A bookmark of a slide shows its model.
    let ising = SLIDES.iter().position(|s| s.model == Model::Ising).unwrap() + 1;
    let (s, problems) = Settings::from_query(&format!("present={ising}"));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((s.model, s.present), (Model::Ising, ising));
    // A model named explicitly moves the lecture to that model's first slide.
    let (s, _) = Settings::from_query(&format!("model=mnist&present={ising}"));
    assert_eq!(s.model, Model::Mnist);
    assert_eq!(s.present, first_slide_of(Model::Mnist));
    assert_eq!(slide(s.present).unwrap().model, Model::Mnist);
    // Every slide round-trips through the URL, the toy's too (its model is the default).
    for k in 1..=SLIDES.len() {
        let (s, problems) = Settings::from_query(&format!("present={k}&seed=5"));
        assert!(problems.is_empty(), "{problems:?}");
        let (back, problems) = Settings::from_query(&s.to_query());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(back, s, "slide {k}: {}", s.to_query());
        assert_eq!(back.model, SLIDES[k - 1].model);
    }
    // Out of range or not a number: a message, and the ordinary page.
    for bad in [
        "present=0.5",
        "present=-1",
        &format!("present={}", SLIDES.len() + 1),
    ] {
        let (s, problems) = Settings::from_query(bad);
        assert_eq!(s.present, 0, "{bad}");
        assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
        assert!(problems[0].contains("present"), "{problems:?}");
    }
    assert_eq!(Settings::from_query("present=0").0.to_query(), "");
}

/// Presenter-mode moves are read relative to the slide on show when the lab reads them: P opens
/// the first slide of the model on show (whichever it is by then) and leaves; arrows step and
/// stop at the ends; moves that change nothing say so.
#[test]
fn slide_moves_from_the_slide_on_show() {
    let n = SLIDES.len();
    let ising = first_slide_of(Model::Ising);
    assert!(ising > 1, "the toy's slides come first");
    assert_eq!(
        SlideMove::Toggle.apply(0, Model::Toy1d),
        Some((Model::Toy1d, 1))
    );
    assert_eq!(
        SlideMove::Toggle.apply(0, Model::Ising),
        Some((Model::Ising, ising))
    );
    assert_eq!(
        SlideMove::Toggle.apply(3, Model::Toy1d),
        Some((Model::Toy1d, 0))
    );
    assert_eq!(
        SlideMove::Leave.apply(3, Model::Toy1d),
        Some((Model::Toy1d, 0))
    );
    assert_eq!(SlideMove::Leave.apply(0, Model::Toy1d), None);
    // Arrows do nothing on the ordinary page, step through the lecture, stop at its ends, and
    // take the model of the slide they land on.
    assert_eq!(SlideMove::By(1).apply(0, Model::Toy1d), None);
    assert_eq!(
        SlideMove::By(1).apply(1, Model::Toy1d),
        Some((Model::Toy1d, 2))
    );
    assert_eq!(SlideMove::By(-1).apply(1, Model::Toy1d), None);
    assert_eq!(SlideMove::By(1).apply(n, SLIDES[n - 1].model), None);
    assert_eq!(
        SlideMove::By(-(n as isize)).apply(n, SLIDES[n - 1].model),
        Some((Model::Toy1d, 1))
    );
    assert_eq!(
        SlideMove::By(1).apply(ising - 1, Model::Toy1d),
        Some((Model::Ising, ising))
    );
    // Two quick presses move two slides (each from where the first left it).
    let (m, k) = SlideMove::By(1).apply(1, Model::Toy1d).unwrap();
    assert_eq!(SlideMove::By(1).apply(k, m), Some((Model::Toy1d, 3)));
    assert_eq!(
        SlideMove::To(n + 5).apply(1, Model::Toy1d).map(|(_, k)| k),
        Some(n)
    );
    assert_eq!(
        SlideMove::To(0).apply(2, Model::Toy1d),
        Some((Model::Toy1d, 0))
    );
}
