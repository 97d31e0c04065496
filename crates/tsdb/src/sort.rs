//! Stable sorts that cost the page one copy of the sort code, whatever the element type.
//!
//! Every `sort_by`/`sort_by_key` closure is its own type, so each call site monomorphises a whole
//! driftsort (~4.5 KiB of wasm): 31 of them were 149 KiB of the page's 1.3 MiB. In wasm32 these
//! sort a permutation of indices with a `&mut dyn FnMut` comparator (one sort for every call
//! site) and then move the elements along its cycles; natively the closure is passed as is and
//! the sort stays fully inlined.
use std::cmp::Ordering;

/// `sort_by_dyn`/`sort_by_key_dyn`: the same stable sorts as `sort_by`/`sort_by_key`.
pub trait SortDyn<T> {
    fn sort_by_dyn(&mut self, cmp: impl FnMut(&T, &T) -> Ordering);
    fn sort_by_key_dyn<K: Ord>(&mut self, key: impl FnMut(&T) -> K);
}

impl<T> SortDyn<T> for [T] {
    #[inline]
    fn sort_by_dyn(&mut self, mut cmp: impl FnMut(&T, &T) -> Ordering) {
        #[cfg(target_arch = "wasm32")]
        {
            let mut order: Vec<usize> = (0..self.len()).collect();
            sort_indices(&mut order, &mut |a, b| cmp(&self[*a], &self[*b]));
            permute(self, order);
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.sort_by(&mut cmp);
    }

    #[inline]
    fn sort_by_key_dyn<K: Ord>(&mut self, mut key: impl FnMut(&T) -> K) {
        self.sort_by_dyn(|a, b| {
            let ka = key(a);
            ka.cmp(&key(b))
        });
    }
}

/// The one instance of the stable sort that `sort_by_dyn` uses in wasm32: over indices.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
#[inline(never)]
fn sort_indices(order: &mut [usize], cmp: &mut dyn FnMut(&usize, &usize) -> Ordering) {
    order.sort_by(cmp);
}

/// Rearranges `v` so that `v[k]` becomes the old `v[order[k]]`, following each cycle once.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut cur = start;
        while order[cur] != usize::MAX {
            let next = std::mem::replace(&mut order[cur], usize::MAX);
            if next == start {
                break;
            }
            v.swap(cur, next);
            cur = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SortDyn;

    #[test]
    fn sorts_are_stable_and_ordered() {
        let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (0, 'd'), (1, 'e')];
        v.sort_by_key_dyn(|p| p.0);
        assert_eq!(v, [(0, 'd'), (1, 'b'), (1, 'e'), (2, 'a'), (2, 'c')]);
        v.sort_by_dyn(|a, b| b.0.cmp(&a.0));
        assert_eq!(v, [(2, 'a'), (2, 'c'), (1, 'b'), (1, 'e'), (0, 'd')]);
    }

    #[test]
    fn the_wasm32_path_sorts_through_a_permutation() {
        // `sort_indices` + `permute` run natively here, on every permutation of 6 elements.
        let base: Vec<u32> = (0..6).collect();
        let mut perms = vec![base.clone()];
        for _ in 0..719 {
            let mut p = perms.last().cloned().unwrap_or_default();
            // next lexicographic permutation
            let i = (0..5).rev().find(|&i| p[i] < p[i + 1]).unwrap_or(0);
            let j = (i + 1..6).rev().find(|&j| p[j] > p[i]).unwrap_or(i);
            p.swap(i, j);
            p[i + 1..].reverse();
            perms.push(p);
        }
        for p in perms {
            let mut v: Vec<(u32, usize)> = p.iter().map(|&x| (x / 2, x as usize)).collect();
            let mut order: Vec<usize> = (0..v.len()).collect();
            super::sort_indices(&mut order, &mut |a, b| v[*a].0.cmp(&v[*b].0));
            super::permute(&mut v, order);
            let mut want: Vec<(u32, usize)> = p.iter().map(|&x| (x / 2, x as usize)).collect();
            want.sort_by_key(|e| e.0);
            assert_eq!(v, want, "from {p:?}");
        }
    }
}
