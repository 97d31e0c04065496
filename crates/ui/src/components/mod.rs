//! Components: each wires signals to the plain-Rust logic of the crate.

pub mod panel;
pub mod panel_view;
pub mod query_bar;
pub mod shortcuts;
pub mod stat;
pub mod status;
pub mod table_view;
pub mod targets;
pub mod theme_toggle;
pub mod time_picker;

pub use panel::TimeSeriesPanel;
pub use panel_view::{PanelContext, PanelView};
pub use query_bar::QueryBar;
pub use shortcuts::Shortcuts;
pub use stat::StatPanel;
pub use status::StatusBar;
pub use targets::TargetsPanel;
pub use theme_toggle::ThemeToggle;
pub use time_picker::TimePicker;
