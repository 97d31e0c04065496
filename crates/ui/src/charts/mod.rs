//! Charts drawn with plotters on a canvas, and the data reduction that keeps them cheap.

pub mod decimate;
pub mod gauge;
pub mod heatmap;
pub mod palette;
pub mod sparkline;
pub mod stack;
pub mod timeseries;
