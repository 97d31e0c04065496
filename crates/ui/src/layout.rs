//! The panel grid: Grafana's 24 columns, rows of 30 px; moving and resizing with collisions
//! pushed down and the layout compacted upward (as react-grid-layout does in Grafana), and rows
//! that collapse (their panels move into the row) and expand.

use crate::model::{GridPos, Panel};
use lookout_promql::sort::SortDyn;

pub const COLUMNS: u32 = 24;
/// CSS px per grid row, and the gap between cells (Grafana: 30 and 8).
pub const ROW_PX: f64 = 30.0;
pub const GAP_PX: f64 = 8.0;
const MIN_W: u32 = 2;
const MIN_H: u32 = 2;

/// Keeps a position on the grid: inside the 24 columns, at least 2×2 (rows: full width, 1 high).
pub fn clamp(pos: GridPos, row: bool) -> GridPos {
    if row {
        return GridPos::new(0, pos.y, COLUMNS, 1);
    }
    let w = pos.w.clamp(MIN_W, COLUMNS);
    GridPos::new(pos.x.min(COLUMNS - w), pos.y, w, pos.h.max(MIN_H))
}

/// Grid cells moved by a pointer delta of `(dx, dy)` CSS px on a grid `width` px wide: rounded
/// to the nearest cell, so a panel snaps as it crosses half a cell.
pub fn cells(dx: f64, dy: f64, width: f64) -> (i32, i32) {
    let col = (width + GAP_PX) / f64::from(COLUMNS);
    (
        (dx / col).round() as i32,
        (dy / (ROW_PX + GAP_PX)).round() as i32,
    )
}

fn offset(v: u32, d: i32) -> u32 {
    (i64::from(v) + i64::from(d)).max(0) as u32
}

/// `pos` moved by whole cells.
pub fn moved(pos: GridPos, d: (i32, i32)) -> GridPos {
    GridPos::new(offset(pos.x, d.0), offset(pos.y, d.1), pos.w, pos.h)
}

/// `pos` resized by whole cells (from its bottom-right corner).
pub fn resized(pos: GridPos, d: (i32, i32)) -> GridPos {
    GridPos::new(pos.x, pos.y, offset(pos.w, d.0), offset(pos.h, d.1))
}

/// Places panel `id` at `pos`; panels it lands on are pushed down below it, then everything is
/// compacted upward. The moved panel keeps its place; the order of the rest is kept.
pub fn place(panels: &mut [Panel], id: u32, pos: GridPos) {
    let Some(i) = panels.iter().position(|p| p.id == id) else {
        return;
    };
    panels[i].grid_pos = clamp(pos, panels[i].is_row());
    push_down(panels, i);
    compact(panels, None);
}

/// Pushes every panel overlapping panel `i` below it, recursively.
fn push_down(panels: &mut [Panel], i: usize) {
    let mut queue = vec![i];
    let mut guard = 0;
    while let Some(k) = queue.pop() {
        guard += 1;
        if guard > 10_000 {
            break;
        }
        let fixed = panels[k].grid_pos;
        for (j, p) in panels.iter_mut().enumerate() {
            if j != k && j != i && p.grid_pos.overlaps(&fixed) {
                p.grid_pos.y = fixed.bottom();
                queue.push(j);
            }
        }
    }
}

/// Moves every panel up as far as it goes without overlapping those above it (in `(y, x)`
/// order); `pinned` stays where it is.
pub fn compact(panels: &mut [Panel], pinned: Option<usize>) {
    let mut order: Vec<usize> = (0..panels.len()).collect();
    order.sort_by_key_dyn(|&i| (panels[i].grid_pos.y, panels[i].grid_pos.x, i));
    let mut placed: Vec<usize> = Vec::with_capacity(order.len());
    if let Some(p) = pinned {
        placed.push(p);
    }
    for i in order {
        if Some(i) == pinned {
            continue;
        }
        let mut pos = panels[i].grid_pos;
        // Drop to the lowest free y, then rise while nothing above is in the way.
        while pos.y > 0 {
            let up = GridPos {
                y: pos.y - 1,
                ..pos
            };
            if placed.iter().any(|&k| panels[k].grid_pos.overlaps(&up)) {
                break;
            }
            pos = up;
        }
        while let Some(&k) = placed.iter().find(|&&k| panels[k].grid_pos.overlaps(&pos)) {
            pos.y = panels[k].grid_pos.bottom();
        }
        panels[i].grid_pos = pos;
        placed.push(i);
    }
}

/// Collapses or expands row `id`. Collapsing moves the panels below it (up to the next row) into
/// `row.panels`; expanding puts them back under the row and pushes what follows down.
pub fn toggle_row(panels: &mut Vec<Panel>, id: u32) {
    let Some(ri) = panels.iter().position(|p| p.id == id && p.is_row()) else {
        return;
    };
    let row_y = panels[ri].grid_pos.y;
    if panels[ri].collapsed == Some(true) {
        let mut inner = panels[ri].panels.take().unwrap_or_default();
        let top = inner.iter().map(|p| p.grid_pos.y).min().unwrap_or(0);
        let height = inner
            .iter()
            .map(|p| p.grid_pos.bottom())
            .max()
            .unwrap_or(top)
            - top;
        for p in &mut panels[..] {
            if p.grid_pos.y > row_y {
                p.grid_pos.y += height;
            }
        }
        for p in &mut inner {
            p.grid_pos.y = p.grid_pos.y - top + row_y + 1;
        }
        panels[ri].collapsed = Some(false);
        panels[ri].panels = Some(Vec::new());
        panels.extend(inner);
    } else {
        let next_row = panels
            .iter()
            .filter(|p| p.is_row() && p.grid_pos.y > row_y)
            .map(|p| p.grid_pos.y)
            .min()
            .unwrap_or(u32::MAX);
        let (inside, rest): (Vec<Panel>, Vec<Panel>) = std::mem::take(panels)
            .into_iter()
            .partition(|p| !p.is_row() && p.grid_pos.y > row_y && p.grid_pos.y < next_row);
        *panels = rest;
        if let Some(r) = panels.iter_mut().find(|p| p.id == id) {
            r.collapsed = Some(true);
            r.panels = Some(inside);
        }
    }
    sort(panels);
    compact(panels, None);
}

/// Grafana's order: by `y`, then `x` (the order panels read in, and on a phone).
pub fn sort(panels: &mut [Panel]) {
    panels.sort_by_key_dyn(|p| (p.grid_pos.y, p.grid_pos.x));
}

/// A free place for a new panel `w` × `h`: at the bottom, left.
pub fn free_spot(panels: &[Panel], w: u32, h: u32) -> GridPos {
    let y = panels
        .iter()
        .map(|p| p.grid_pos.bottom())
        .max()
        .unwrap_or(0);
    GridPos::new(0, y, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn p(id: u32, x: u32, y: u32, w: u32, h: u32) -> Panel {
        Panel {
            id,
            kind: "stat".into(),
            grid_pos: GridPos::new(x, y, w, h),
            ..Panel::default()
        }
    }
    fn row(id: u32, y: u32) -> Panel {
        Panel {
            id,
            kind: "row".into(),
            grid_pos: GridPos::new(0, y, 24, 1),
            ..Panel::default()
        }
    }
    fn pos(ps: &[Panel], id: u32) -> GridPos {
        ps.iter().find(|p| p.id == id).unwrap().grid_pos
    }

    #[wasm_bindgen_test]
    fn moving_onto_a_panel_pushes_it_down_and_the_grid_compacts() {
        let mut ps = vec![p(1, 0, 0, 12, 4), p(2, 12, 0, 12, 4), p(3, 0, 4, 24, 4)];
        // Panel 2 dropped onto panel 1's place: 1 goes below 2, 3 below 1.
        place(&mut ps, 2, GridPos::new(0, 0, 12, 4));
        assert_eq!(pos(&ps, 2), GridPos::new(0, 0, 12, 4));
        assert_eq!(pos(&ps, 1), GridPos::new(0, 4, 12, 4));
        assert_eq!(pos(&ps, 3), GridPos::new(0, 8, 24, 4));
        // Dragged far down: it falls back up to the first free place (under the full-width 3).
        place(&mut ps, 2, GridPos::new(12, 40, 12, 4));
        assert_eq!(pos(&ps, 1), GridPos::new(0, 0, 12, 4));
        assert_eq!(pos(&ps, 3), GridPos::new(0, 4, 24, 4));
        assert_eq!(pos(&ps, 2), GridPos::new(12, 8, 12, 4));
        // Resized wider than the grid and thinner than allowed: clamped.
        let wider = resized(pos(&ps, 1), (30, -3));
        place(&mut ps, 1, wider);
        assert_eq!(pos(&ps, 1), GridPos::new(0, 0, 24, 2));
        assert_eq!(
            pos(&ps, 3).y,
            2,
            "risen into the space the shorter panel left"
        );
        assert_eq!(pos(&ps, 2).y, 6);
        for (i, a) in ps.iter().enumerate() {
            for b in &ps[i + 1..] {
                assert!(!a.grid_pos.overlaps(&b.grid_pos), "{a:?} / {b:?}");
            }
        }
    }

    #[wasm_bindgen_test]
    fn pointer_deltas_snap_to_cells() {
        // 24 columns over 1192 px (+ 8 px gap): 50 px a column; rows 38 px.
        assert_eq!(cells(24.0, 18.0, 1192.0), (0, 0));
        assert_eq!(cells(26.0, 20.0, 1192.0), (1, 1));
        assert_eq!(cells(-160.0, -80.0, 1192.0), (-3, -2));
        assert_eq!(
            moved(GridPos::new(1, 1, 4, 4), (-3, -2)),
            GridPos::new(0, 0, 4, 4)
        );
    }

    #[wasm_bindgen_test]
    fn rows_collapse_into_themselves_and_expand_back() {
        let mut ps = vec![
            p(1, 0, 0, 24, 4),
            row(10, 4),
            p(2, 0, 5, 12, 8),
            p(3, 12, 5, 12, 8),
            row(20, 13),
            p(4, 0, 14, 24, 6),
        ];
        toggle_row(&mut ps, 10);
        let r = ps.iter().find(|p| p.id == 10).unwrap();
        assert_eq!(r.collapsed, Some(true));
        assert_eq!(
            r.panels
                .as_ref()
                .map(|v| v.iter().map(|p| p.id).collect::<Vec<_>>()),
            Some(vec![2, 3])
        );
        assert_eq!(
            pos(&ps, 20).y,
            5,
            "the next row moves up under the collapsed one"
        );
        assert_eq!(pos(&ps, 4).y, 6);
        toggle_row(&mut ps, 10);
        assert_eq!(pos(&ps, 2), GridPos::new(0, 5, 12, 8));
        assert_eq!(pos(&ps, 3), GridPos::new(12, 5, 12, 8));
        assert_eq!(pos(&ps, 20).y, 13);
        assert_eq!(pos(&ps, 4).y, 14);
        let ids: Vec<u32> = ps.iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![1, 10, 2, 3, 20, 4]);
    }
}
