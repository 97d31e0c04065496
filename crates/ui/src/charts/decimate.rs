//! M4 decimation: per pixel column keep the first, last, min and max point, so a line drawn from
//! the result is pixel-identical to one drawn from all points, with at most 4 points per column.

/// Reduces `points` (time-ordered) to at most 4 per pixel column of a `width`-pixel plot of
/// `[start, end]`.
pub fn m4(points: &[(i64, f64)], start: i64, end: i64, width: u32) -> Vec<(i64, f64)> {
    let width = width.max(1) as i64;
    let span = (end - start).max(1);
    if points.len() as i64 <= width * 4 {
        return points.to_vec();
    }
    let column = |t: i64| ((t - start) as i128 * width as i128 / span as i128) as i64;
    let mut out = Vec::with_capacity(width as usize * 4);
    let mut i = 0;
    while i < points.len() {
        let col = column(points[i].0);
        let first = i;
        let (mut min, mut max) = (i, i);
        while i < points.len() && column(points[i].0) == col {
            if points[i].1 < points[min].1 {
                min = i;
            }
            if points[i].1 > points[max].1 {
                max = i;
            }
            i += 1;
        }
        let last = i - 1;
        let mut keep = [first, min, max, last];
        keep.sort_unstable();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
