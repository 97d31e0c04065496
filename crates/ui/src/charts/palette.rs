//! Series colours: stable per label set, so a series keeps its colour across reloads and panels.

use lookout_promql::sort::SortDyn;
use lookout_tsdb::Labels;

/// A qualitative palette readable on light and dark backgrounds (Grafana's classic hues).
pub const PALETTE: [(u8, u8, u8); 16] = [
    (115, 191, 105),
    (242, 204, 12),
    (138, 184, 255),
    (255, 120, 10),
    (242, 73, 92),
    (87, 148, 242),
    (184, 119, 217),
    (112, 93, 160),
    (55, 135, 45),
    (0, 150, 136),
    (31, 120, 193),
    (150, 45, 130),
    (224, 117, 45),
    (100, 176, 200),
    (196, 22, 42),
    (10, 80, 161),
];

/// A series' preferred palette slot, from a hash of its labels (FNV-1a: stable across builds
/// and targets).
fn slot(labels: &Labels) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (n, v) in labels.iter() {
        for b in n.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    (h % PALETTE.len() as u64) as usize
}

/// Colours for the series of one panel: each takes its hashed colour unless a series before it
/// (in label order, so the result does not depend on query order) already has it, then the next
/// free one. Stable for a given set of series, and distinct while there are colours left.
pub fn assign_colors<'a>(labels: impl Iterator<Item = &'a Labels>) -> Vec<(u8, u8, u8)> {
    let labels: Vec<&Labels> = labels.collect();
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_dyn(|a, b| labels[*a].cmp(labels[*b]));
    let mut used = [0usize; PALETTE.len()];
    let mut out = vec![PALETTE[0]; labels.len()];
    for i in order {
        let start = slot(labels[i]);
        let round = *used.iter().min().unwrap_or(&0);
        let pick = (0..PALETTE.len())
            .map(|k| (start + k) % PALETTE.len())
            .find(|c| used[*c] == round)
            .unwrap_or(start);
        used[pick] += 1;
        out[i] = PALETTE[pick];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn colours_are_distinct_and_independent_of_order() {
        let ls: Vec<Labels> = ["gateway", "checkout", "payments", "inventory", "database"]
            .iter()
            .map(|j| Labels::new([("job", *j)]))
            .collect();
        let a = assign_colors(ls.iter());
        let mut uniq = a.clone();
        uniq.sort_by_dyn(Ord::cmp);
        uniq.dedup();
        assert_eq!(uniq.len(), 5);
        let b = assign_colors(ls.iter().rev());
        assert_eq!(
            a.iter().rev().collect::<Vec<_>>(),
            b.iter().collect::<Vec<_>>()
        );
    }
}

/// CSS form of a colour.
pub fn css((r, g, b): (u8, u8, u8)) -> String {
    format!("rgb({r},{g},{b})")
}
