//! Series colours: stable per label set, so a series keeps its colour across reloads and panels.

use lookout_tsdb::Labels;

/// A qualitative palette readable on light and dark backgrounds.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (115, 191, 105),
    (242, 204, 12),
    (138, 184, 255),
    (255, 120, 10),
    (242, 73, 92),
    (87, 148, 242),
    (184, 119, 217),
    (112, 93, 160),
    (55, 135, 45),
    (250, 222, 42),
];

/// The colour of a series, from a hash of its labels (FNV-1a: stable across builds and targets).
pub fn color_for(labels: &Labels) -> (u8, u8, u8) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (n, v) in labels.iter() {
        for b in n.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    PALETTE[(h % PALETTE.len() as u64) as usize]
}

/// CSS form of a colour.
pub fn css((r, g, b): (u8, u8, u8)) -> String {
    format!("rgb({r},{g},{b})")
}
