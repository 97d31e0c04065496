//! What a legend shows and what clicking it does, as in Grafana: a click isolates a series
//! (clicking the only visible one shows all again); a ctrl/cmd-click toggles just that series.
//! Series are keyed by their label set, so hiding survives new samples and new series.

use std::collections::BTreeSet;

use crate::panel_options::Calc;

/// The series keys hidden after a click on `clicked`, given every key the legend lists.
pub fn click(
    hidden: &BTreeSet<String>,
    all: &[String],
    clicked: &str,
    toggle: bool,
) -> BTreeSet<String> {
    let mut next = hidden.clone();
    if toggle {
        if !next.remove(clicked) {
            next.insert(clicked.to_owned());
        }
        return next;
    }
    let only_visible =
        !hidden.contains(clicked) && all.iter().all(|k| k == clicked || hidden.contains(k));
    if only_visible {
        BTreeSet::new()
    } else {
        all.iter()
            .filter(|k| k.as_str() != clicked)
            .cloned()
            .collect()
    }
}

/// The legend's values for one series: each calc in order.
pub fn values(points: &[(i64, f64)], calcs: &[Calc]) -> Vec<Option<f64>> {
    calcs.iter().map(|c| c.reduce(points)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn keys() -> Vec<String> {
        ["a", "b", "c"].map(String::from).to_vec()
    }
    fn set(k: &[&str]) -> BTreeSet<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[wasm_bindgen_test]
    fn click_isolates_and_a_second_click_shows_all() {
        let h = click(&BTreeSet::new(), &keys(), "b", false);
        assert_eq!(h, set(&["a", "c"]));
        assert_eq!(click(&h, &keys(), "b", false), BTreeSet::new());
        // Clicking a hidden series isolates that one instead.
        assert_eq!(click(&h, &keys(), "a", false), set(&["b", "c"]));
    }

    #[wasm_bindgen_test]
    fn ctrl_click_toggles_one() {
        let h = click(&BTreeSet::new(), &keys(), "c", true);
        assert_eq!(h, set(&["c"]));
        let h = click(&h, &keys(), "a", true);
        assert_eq!(h, set(&["a", "c"]));
        assert_eq!(click(&h, &keys(), "c", true), set(&["a"]));
    }

    #[wasm_bindgen_test]
    fn values_follow_the_calcs() {
        let p = [(0, 1.0), (1, 3.0)];
        assert_eq!(
            values(&p, &[Calc::Mean, Calc::Max, Calc::LastNotNull]),
            vec![Some(2.0), Some(3.0), Some(3.0)]
        );
    }
}
