//! Stable sorts that cost the page one copy of the sort code per element type.
//!
//! Every `sort_by`/`sort_by_key` closure is its own type, so each call site monomorphises a whole
//! driftsort (~4.5 KiB of wasm): 31 of them were 149 KiB of the page's 1.3 MiB. In wasm32 the
//! comparator goes through `&mut dyn FnMut`, so call sites sharing an element type share one
//! sort; natively the closure is passed as is and the sort stays fully inlined.
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
        self.sort_by(&mut cmp as &mut dyn FnMut(&T, &T) -> Ordering);
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
}
