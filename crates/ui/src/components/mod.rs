//! Components: each wires signals to the plain-Rust logic of the crate.

pub mod panel;
pub mod status;
pub mod targets;

pub use panel::TimeSeriesPanel;
pub use status::StatusBar;
pub use targets::TargetsPanel;
