//! Stacking series as Grafana's `stacking.mode` does: `normal` puts each series on top of the
//! ones before it, `percent` scales every timestamp's stack to 0..1. Series of one query share
//! the evaluation step, so values stack by equal timestamps.

use std::collections::HashMap;

use crate::panel_options::StackingMode;

/// One drawn point: the band `bottom..top` at time `t`. Unstacked points have `bottom` 0.
pub type Band = (i64, f64, f64);

/// Bands for each series in `series` (in order; `None` entries are hidden and take no place in
/// the stack). A NaN value stacks as 0 but keeps a NaN top, so its line breaks there.
pub fn stack(series: &[Option<&[(i64, f64)]>], mode: StackingMode) -> Vec<Vec<Band>> {
    if mode == StackingMode::None {
        return series
            .iter()
            .map(|s| s.map_or_else(Vec::new, |p| p.iter().map(|&(t, v)| (t, 0.0, v)).collect()))
            .collect();
    }
    let mut totals: HashMap<i64, f64> = HashMap::new();
    if mode == StackingMode::Percent {
        for &(t, v) in series.iter().flatten().flat_map(|s| s.iter()) {
            if v.is_finite() {
                *totals.entry(t).or_default() += v;
            }
        }
    }
    let mut acc: HashMap<i64, f64> = HashMap::new();
    series
        .iter()
        .map(|s| {
            let Some(points) = s else { return Vec::new() };
            points
                .iter()
                .map(|&(t, v)| {
                    let scale = match mode {
                        StackingMode::Percent => match totals.get(&t) {
                            Some(total) if *total != 0.0 => 1.0 / total,
                            _ => 0.0,
                        },
                        _ => 1.0,
                    };
                    let below = acc.entry(t).or_default();
                    let bottom = *below;
                    let add = if v.is_finite() { v * scale } else { 0.0 };
                    *below += add;
                    (t, bottom, if v.is_nan() { f64::NAN } else { bottom + add })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn normal_stacks_by_timestamp_and_skips_hidden() {
        let a = [(0, 1.0), (10, 2.0)];
        let b = [(0, 5.0), (10, 5.0)];
        let c = [(10, 3.0), (20, 4.0)];
        let out = stack(&[Some(&a), None, Some(&b), Some(&c)], StackingMode::Normal);
        assert_eq!(out[0], vec![(0, 0.0, 1.0), (10, 0.0, 2.0)]);
        assert!(out[1].is_empty());
        assert_eq!(out[2], vec![(0, 1.0, 6.0), (10, 2.0, 7.0)]);
        // `c` has nothing below it at t=20.
        assert_eq!(out[3], vec![(10, 7.0, 10.0), (20, 0.0, 4.0)]);
    }

    #[wasm_bindgen_test]
    fn percent_sums_to_one_and_nan_breaks_the_line() {
        let a = [(0, 1.0), (10, f64::NAN)];
        let b = [(0, 3.0), (10, 2.0)];
        let out = stack(&[Some(&a), Some(&b)], StackingMode::Percent);
        assert_eq!(out[0][0], (0, 0.0, 0.25));
        assert_eq!(out[1][0], (0, 0.25, 1.0));
        assert!(out[0][1].2.is_nan());
        assert_eq!(out[1][1], (10, 0.0, 1.0));
        let none = stack(&[Some(&b)], StackingMode::None);
        assert_eq!(none[0], vec![(0, 0.0, 3.0), (10, 0.0, 2.0)]);
    }
}
