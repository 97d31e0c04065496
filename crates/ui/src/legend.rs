//! What a legend shows and what clicking it does, as in Grafana: a click isolates a series
//! (clicking the only visible one shows all again); a ctrl/cmd-click toggles just that series.
//! Series are keyed by their label set, so hiding survives new samples and new series.

use lookout_tsdb::sort::SortDyn;

use crate::panel_options::Calc;

/// The keys of the series a legend hides: a sorted list (a few keys; a `BTreeSet` would be one
/// more B-tree instance in the page's wasm).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden(Vec<String>);

impl Hidden {
    pub fn of<S: AsRef<str>>(keys: &[S]) -> Hidden {
        let mut v: Vec<String> = keys.iter().map(|k| k.as_ref().to_owned()).collect();
        v.sort_by_dyn(String::cmp);
        v.dedup();
        Hidden(v)
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|k| k.as_str().cmp(key))
    }

    pub fn contains(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The series keys hidden after a click on `clicked`, given every key the legend lists.
pub fn click(hidden: &Hidden, all: &[String], clicked: &str, toggle: bool) -> Hidden {
    if toggle {
        let mut next = hidden.clone();
        match next.find(clicked) {
            Ok(i) => {
                next.0.remove(i);
            }
            Err(i) => next.0.insert(i, clicked.to_owned()),
        }
        return next;
    }
    let only_visible =
        !hidden.contains(clicked) && all.iter().all(|k| k == clicked || hidden.contains(k));
    if only_visible {
        Hidden::default()
    } else {
        let others: Vec<&String> = all.iter().filter(|k| k.as_str() != clicked).collect();
        Hidden::of(&others)
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
    fn set(k: &[&str]) -> Hidden {
        Hidden::of(k)
    }

    #[wasm_bindgen_test]
    fn click_isolates_and_a_second_click_shows_all() {
        let h = click(&Hidden::default(), &keys(), "b", false);
        assert_eq!(h, set(&["a", "c"]));
        assert_eq!(click(&h, &keys(), "b", false), Hidden::default());
        // Clicking a hidden series isolates that one instead.
        assert_eq!(click(&h, &keys(), "a", false), set(&["b", "c"]));
    }

    #[wasm_bindgen_test]
    fn ctrl_click_toggles_one() {
        let h = click(&Hidden::default(), &keys(), "c", true);
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
