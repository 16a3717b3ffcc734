//! What a setting is: its URL name, panel and label, and how its value is read, checked and
//! written. The settings themselves are listed in `table.rs`.

use super::{fmt_num, Settings};
use crate::models::Model;

/// One setting as the URL, the page's controls and the CLI (`--set KEY=VALUE`) name it.
pub struct Key {
    /// The URL key (also the `name` of the page's control).
    pub name: &'static str,
    /// The model whose panel shows it; `None` for what every model shares (seed, device, play).
    pub model: Option<Model>,
    /// A short human description, as the control's label reads.
    pub label: &'static str,
    /// Whether the key means anything for these settings. `D` and `T` only exist on the OU
    /// schedule: elsewhere they are neither read nor written into short links.
    applies: fn(&Settings) -> bool,
    value: Value,
}

/// How a key's value is read from and written into [`Settings`].
enum Value {
    Number {
        /// Inclusive bounds; a function because `t` ends where the schedule ends.
        bounds: fn(&Settings) -> (f64, f64),
        /// The form's step (`None`: any value).
        step: Option<f64>,
        whole: bool,
        /// `none` (or empty) is a value too: the setting is unset (`digit`).
        optional: bool,
        get: fn(&Settings) -> Option<f64>,
        set: fn(&mut Settings, Option<f64>),
    },
    Choice {
        /// The option names, in the page's order.
        options: fn() -> Vec<&'static str>,
        get: fn(&Settings) -> &'static str,
        /// Sets the named option; false when the name is none of them.
        set: fn(&mut Settings, &str) -> bool,
    },
    Text {
        /// `None`: unset, and not printed even among all pairs (`weights`).
        get: fn(&Settings) -> Option<String>,
        set: fn(&mut Settings, &str) -> Result<(), String>,
    },
}

/// What values a key takes, for a form or a help text.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A number in `min..=max`; `step` is the form's (`None`: any); `none` also means unset.
    Number {
        min: f64,
        max: f64,
        step: Option<f64>,
        whole: bool,
        none: bool,
    },
    /// One of these names.
    Choice(Vec<&'static str>),
    /// Text its parser checks (the mixture, the weights URL).
    Text,
}

/// The bounds and step of a numeric control, for the page to set on its input so the form and
/// the URL parser share one range (see [`super::form_limits`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FormLimit {
    pub key: &'static str,
    pub min: f64,
    pub max: f64,
    /// `None`: the input's `step="any"`.
    pub step: Option<f64>,
}

/// The field types a numeric key may have; whether the key takes whole numbers (and `none`)
/// follows from its field's type, so the table cannot contradict the struct.
pub(super) trait Num: Copy {
    const WHOLE: bool;
    const OPTIONAL: bool = false;
    fn to_f64(self) -> Option<f64>;
    /// From a value the parser has checked (in bounds, whole when `WHOLE`).
    fn from_f64(v: f64) -> Self;
    /// The unset value; the parser asks for it only when `OPTIONAL`.
    fn none() -> Self {
        unreachable!("only optional settings can be unset")
    }
}

impl Num for f64 {
    const WHOLE: bool = false;
    fn to_f64(self) -> Option<f64> {
        Some(self)
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Num for usize {
    const WHOLE: bool = true;
    fn to_f64(self) -> Option<f64> {
        Some(self as f64)
    }
    fn from_f64(v: f64) -> Self {
        v as usize
    }
}

impl Num for u64 {
    const WHOLE: bool = true;
    fn to_f64(self) -> Option<f64> {
        Some(self as f64)
    }
    fn from_f64(v: f64) -> Self {
        v as u64
    }
}

impl Num for Option<u8> {
    const WHOLE: bool = true;
    const OPTIONAL: bool = true;
    fn to_f64(self) -> Option<f64> {
        self.map(f64::from)
    }
    fn from_f64(v: f64) -> Self {
        Some(v as u8)
    }
    fn none() -> Self {
        None
    }
}

/// `(whole, optional)` of a getter's type.
pub(super) const fn traits<T: Num>(_: fn(&Settings) -> T) -> (bool, bool) {
    (T::WHOLE, T::OPTIONAL)
}

fn always(_: &Settings) -> bool {
    true
}

impl Key {
    pub(super) const fn number(
        name: &'static str,
        model: Option<Model>,
        label: &'static str,
        bounds: fn(&Settings) -> (f64, f64),
        (whole, optional): (bool, bool),
        get: fn(&Settings) -> Option<f64>,
        set: fn(&mut Settings, Option<f64>),
    ) -> Key {
        Key {
            name,
            model,
            label,
            applies: always,
            value: Value::Number {
                bounds,
                step: if whole { Some(1.0) } else { None },
                whole,
                optional,
                get,
                set,
            },
        }
    }

    pub(super) const fn choice(
        name: &'static str,
        model: Option<Model>,
        label: &'static str,
        options: fn() -> Vec<&'static str>,
        get: fn(&Settings) -> &'static str,
        set: fn(&mut Settings, &str) -> bool,
    ) -> Key {
        Key {
            name,
            model,
            label,
            applies: always,
            value: Value::Choice { options, get, set },
        }
    }

    pub(super) const fn text(
        name: &'static str,
        model: Option<Model>,
        label: &'static str,
        get: fn(&Settings) -> Option<String>,
        set: fn(&mut Settings, &str) -> Result<(), String>,
    ) -> Key {
        Key {
            name,
            model,
            label,
            applies: always,
            value: Value::Text { get, set },
        }
    }

    /// A slider's step (whole numbers step by 1, other numbers by any amount unless given).
    pub(super) const fn step(mut self, step: f64) -> Key {
        match &mut self.value {
            Value::Number { step: s, .. } => *s = Some(step),
            _ => panic!("only numbers have a step"),
        }
        self
    }

    pub(super) const fn only_if(mut self, applies: fn(&Settings) -> bool) -> Key {
        self.applies = applies;
        self
    }

    /// What values the key takes under `settings`.
    pub fn kind(&self, settings: &Settings) -> Kind {
        match &self.value {
            Value::Number {
                bounds,
                step,
                whole,
                optional,
                ..
            } => {
                let (min, max) = bounds(settings);
                Kind::Number {
                    min,
                    max,
                    step: *step,
                    whole: *whole,
                    none: *optional,
                }
            }
            Value::Choice { options, .. } => Kind::Choice(options()),
            Value::Text { .. } => Kind::Text,
        }
    }

    /// Whether the key means anything for `settings` (`D` and `T`: only on the OU schedule).
    pub fn applies(&self, settings: &Settings) -> bool {
        (self.applies)(settings)
    }

    /// The value as the URL writes it; `None` when unset without a name for it (`weights`).
    pub fn value(&self, settings: &Settings) -> Option<String> {
        match &self.value {
            Value::Number { get, .. } => {
                Some(get(settings).map_or_else(|| "none".to_string(), fmt_num))
            }
            Value::Choice { get, .. } => Some(get(settings).to_string()),
            Value::Text { get, .. } => get(settings),
        }
    }

    /// The default value as the URL writes it (empty when unset).
    pub fn default_text(&self) -> String {
        self.value(&Settings::default()).unwrap_or_default()
    }

    /// The accepted values in words, under the default settings: `4…512 (whole)`,
    /// `one of sde, ode`, `text`.
    pub fn range_text(&self) -> String {
        match self.kind(&Settings::default()) {
            Kind::Number {
                min,
                max,
                whole,
                none,
                ..
            } => format!(
                "{}{}…{}{}",
                if none { "none or " } else { "" },
                fmt_num(min),
                fmt_num(max),
                if whole { " (whole)" } else { "" }
            ),
            Kind::Choice(options) => format!("one of {}", options.join(", ")),
            Kind::Text => "text".into(),
        }
    }

    /// Sets the key in `settings` from a URL value. On a bad value `settings` is unchanged and
    /// the message names the key and the value.
    pub fn parse(&self, settings: &mut Settings, raw: &str) -> Result<(), String> {
        match &self.value {
            Value::Number {
                bounds,
                whole,
                optional,
                set,
                ..
            } => {
                if *optional && matches!(raw.trim(), "" | "none") {
                    set(settings, None);
                    return Ok(());
                }
                let v = parse_num(self.name, raw, bounds(settings), *whole)?;
                set(settings, Some(v));
                Ok(())
            }
            Value::Choice { options, set, .. } => {
                if set(settings, raw) {
                    return Ok(());
                }
                Err(format!(
                    "{}={raw} is not one of {}; using {}",
                    self.name,
                    options().join(", "),
                    self.default_text()
                ))
            }
            // Text setters assign only what parsed, so an error leaves `settings` as it was.
            Value::Text { set, .. } => {
                set(settings, raw).map_err(|e| format!("{}: {e}; using the default", self.name))
            }
        }
    }
}

fn parse_num(key: &str, raw: &str, (lo, hi): (f64, f64), whole: bool) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (!whole || v.fract() == 0.0) => {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!(
                    "{key}={raw} is outside {}…{}; using the default",
                    fmt_num(lo),
                    fmt_num(hi)
                ))
            }
        }
        _ => {
            let what = if whole { "a whole number" } else { "a number" };
            Err(format!("{key}={raw} is not {what}; using the default"))
        }
    }
}
