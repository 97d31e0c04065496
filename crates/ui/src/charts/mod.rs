//! Charts drawn with plotters on a canvas, and the data reduction that keeps them cheap.

pub mod decimate;
pub mod stack;
pub mod palette;
pub mod sparkline;
pub mod timeseries;
