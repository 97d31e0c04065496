//! A bar gauge panel: one bar per series, horizontal or vertical, its length the reduced value
//! between `min` and `max`, filled with the threshold colours as a gradient or in the value's
//! colour (`displayMode` gradient / basic). Bars are elements, not canvas: sharp at any scale.

use leptos::prelude::*;

use crate::charts::palette::css;
use crate::components::panel_view::{PanelContext, measure_end, measure_start, use_query};
use crate::components::stat::reduce;
use crate::format::value_with;
use crate::panel_options::{BarDisplayMode, FieldDefaults, Orientation, PanelSpec};

/// One bar: name, value text, fill fraction (0..=1) and CSS background.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub name: String,
    pub value: Option<f64>,
    pub text: String,
    pub fraction: f64,
    pub background: String,
}

/// The bars for `values` (name, reduced value): `min` defaults to 0 and `max` to the largest value.
pub fn bars(
    values: &[(String, Option<f64>)],
    field: &FieldDefaults,
    mode: BarDisplayMode,
) -> Vec<Bar> {
    let min = field.min.unwrap_or(0.0);
    let data_max = values
        .iter()
        .filter_map(|v| v.1)
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let max = field
        .max
        .unwrap_or(if data_max > min { data_max } else { min + 1.0 });
    let bands = field.thresholds.bands(min, max);
    let span = (max - min).max(f64::MIN_POSITIVE);
    values
        .iter()
        .map(|(name, v)| {
            let fraction = crate::charts::gauge::fraction(v.unwrap_or(f64::NAN), min, max);
            let color = css(field.thresholds.color_for(*v, min, max));
            let background = match mode {
                BarDisplayMode::Basic => color,
                _ if bands.len() <= 1 => color,
                // The thresholds' colours along the whole scale; the bar shows the part up to
                // its value (its background is sized to the full track).
                _ => {
                    let stops: Vec<String> = bands
                        .iter()
                        .map(|(a, b, c)| {
                            format!(
                                "{} {:.1}% {:.1}%",
                                css(*c),
                                (a - min) / span * 100.0,
                                (b - min) / span * 100.0
                            )
                        })
                        .collect();
                    format!("linear-gradient(var(--bar-dir), {})", stops.join(", "))
                }
            };
            Bar {
                name: name.clone(),
                value: *v,
                text: v.map_or_else(
                    || "–".to_owned(),
                    |v| value_with(v, field.unit(), field.decimals),
                ),
                fraction,
                background,
            }
        })
        .collect()
}

#[component]
pub fn BarGaugePanel(spec: PanelSpec, ctx: PanelContext) -> impl IntoView {
    let (result, _) = use_query(&spec, ctx, || 100);
    let field = spec.field_config.defaults.clone();
    let calcs = spec.options.reduce_options.calcs.clone();
    let mode = spec.options.display_mode;
    let vertical = spec.options.orientation == Orientation::Vertical;
    let mark = format!("lookout:render:{}", spec.key);
    let list = Memo::new(move |_| {
        measure_start(&mark);
        let out = result.with(|r| {
            r.as_ref()
                .map(|n| {
                    let values: Vec<(String, Option<f64>)> = n
                        .iter()
                        .map(|n| (n.name.clone(), reduce(&n.series.points, &calcs)))
                        .collect();
                    bars(&values, &field, mode)
                })
                .unwrap_or_default()
        });
        measure_end(&mark);
        out
    });
    let expr = spec
        .targets
        .first()
        .map(|t| t.expr.clone())
        .unwrap_or_default();
    view! {
        <section class="panel bargauge" class:vertical=vertical data-panel=spec.key.clone() data-expr=expr.clone() data-bars=move || list.with(Vec::len)>
            <h2 title=expr.clone()>{spec.title.clone()}</h2>
            <div class="bars">
                {move || list.get().into_iter().map(|b| {
                    let pct = format!("{:.2}%", b.fraction * 100.0);
                    let size = format!("{:.2}%", 100.0 / b.fraction.max(0.0001));
                    view! {
                        <div class="bar-row" data-value=b.value.map(|v| v.to_string()).unwrap_or_default()>
                            <span class="bar-name" title=b.name.clone()>{b.name.clone()}</span>
                            <span class="bar-track">
                                <span class="bar-fill" style:width=(!vertical).then(|| pct.clone()) style:height=vertical.then(|| pct.clone())
                                    style:background=b.background.clone() style:background-size=if vertical { format!("100% {size}") } else { format!("{size} 100%") }></span>
                            </span>
                            <span class="bar-value">{b.text}</span>
                        </div>
                    }
                }).collect_view()}
            </div>
            {move || result.with(|r| r.as_ref().err().cloned()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panel_options::{ThresholdStep, ThresholdsMode};

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn bars_scale_to_the_largest_value_and_take_threshold_colours() {
        let mut f = FieldDefaults::default();
        f.thresholds.mode = ThresholdsMode::Percentage;
        f.thresholds.steps = vec![
            ThresholdStep {
                color: "green".into(),
                value: None,
            },
            ThresholdStep {
                color: "red".into(),
                value: Some(50.0),
            },
        ];
        let b = bars(
            &[
                ("a".into(), Some(10.0)),
                ("b".into(), Some(40.0)),
                ("c".into(), None),
            ],
            &f,
            BarDisplayMode::Basic,
        );
        assert_eq!(b[0].fraction, 0.25);
        assert_eq!(b[1].fraction, 1.0);
        assert_eq!(b[0].background, "rgb(115,191,105)");
        assert_eq!(b[1].background, "rgb(242,73,92)");
        assert_eq!((b[2].fraction, b[2].text.as_str()), (0.0, "–"));
        let g = bars(&[("a".into(), Some(10.0))], &f, BarDisplayMode::Gradient);
        assert!(g[0].background.starts_with("linear-gradient(var(--bar-dir), rgb(115,191,105) 0.0% 50.0%, rgb(242,73,92) 50.0% 100.0%"), "{}", g[0].background);
    }
}
