//! M4 decimation: per pixel column keep the first, last, min and max point, so a line drawn from
//! the result is pixel-identical to one drawn from all points, with at most 4 points per column.

/// Reduces `points` (time-ordered) to at most 4 per pixel column of a `width`-pixel plot of
/// `[start, end]`.
pub fn m4(points: &[(i64, f64)], start: i64, end: i64, width: u32) -> Vec<(i64, f64)> {
    let width = i128::from(width.max(1));
    let span = i128::from((end - start).max(1));
    if points.len() as i128 <= width * 4 {
        return points.to_vec();
    }
    // Column `c` holds times in [start + c*span/width, start + (c+1)*span/width). Walking the
    // boundaries instead of dividing per point keeps this to one comparison per point.
    let column = |t: i64| (i128::from(t - start) * width).div_euclid(span);
    let boundary = |c: i128| (i128::from(start) + ((c + 1) * span + width - 1) / width) as i64;
    let mut out = Vec::with_capacity(width as usize * 4);
    let mut i = 0;
    while i < points.len() {
        let next = boundary(column(points[i].0));
        // The column's points found by binary search, then one pass over a slice: no bounds
        // checks or index juggling in the per-point loop.
        let first = i;
        let len = points[i..].partition_point(|p| p.0 < next).max(1);
        let col = &points[i..i + len];
        let (mut min, mut max) = (0, 0);
        let (mut lo, mut hi) = (col[0].1, col[0].1);
        for (k, p) in col.iter().enumerate().skip(1) {
            if p.1 < lo {
                lo = p.1;
                min = k;
            }
            if p.1 > hi {
                hi = p.1;
                max = k;
            }
        }
        let (min, max) = (first + min, first + max);
        i += len;
        let last = i - 1;
        let keep = sort4([first, min, max, last]);
        let mut prev = usize::MAX;
        for k in keep {
            if k != prev {
                out.push(points[k]);
                prev = k;
            }
        }
    }
    out
}

/// Four indices in order, by a sorting network: a general sort here would be one more copy of
/// the sort code in the page for four numbers.
fn sort4(mut k: [usize; 4]) -> [usize; 4] {
    for (a, b) in [(0, 1), (2, 3), (0, 2), (1, 3), (1, 2)] {
        if k[a] > k[b] {
            k.swap(a, b);
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_sorting_network_orders_every_arrangement_of_four() {
        for n in 0..256usize {
            // Every 4-tuple of values 0..4 (duplicates included).
            let k = [n & 3, (n >> 2) & 3, (n >> 4) & 3, (n >> 6) & 3];
            let mut want = k;
            want.sort_unstable();
            assert_eq!(sort4(k), want, "{k:?}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn keeps_extremes_and_bounds_the_count() {
        let pts: Vec<(i64, f64)> = (0..10_000)
            .map(|i| (i, if i == 5_123 { 1e9 } else { (i % 7) as f64 }))
            .collect();
        let out = m4(&pts, 0, 10_000, 100);
        assert!(out.len() <= 400, "{}", out.len());
        assert!(out.contains(&(5_123, 1e9)));
        assert_eq!(out.first(), pts.first());
        assert_eq!(out.last(), pts.last());
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn every_column_keeps_its_own_extremes() {
        // Two points per column for 1,000 columns, values alternating: each column's min and max.
        let pts: Vec<(i64, f64)> = (0..10_000)
            .map(|i| (i * 10, if i % 2 == 0 { -(i as f64) } else { i as f64 }))
            .collect();
        let out = m4(&pts, 0, 100_000, 1_000);
        for c in 0..1_000i64 {
            let inside: Vec<_> = pts.iter().filter(|p| p.0 * 1_000 / 100_000 == c).collect();
            let lo = inside.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let hi = inside.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            assert!(
                out.iter().any(|p| p.1 == lo) && out.iter().any(|p| p.1 == hi),
                "column {c}"
            );
        }
    }
}
