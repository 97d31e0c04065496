//! Components: each wires signals to the plain-Rust logic of the crate.

pub mod panel;
pub mod query_bar;
pub mod shortcuts;
pub mod stat;
pub mod status;
pub mod table_view;
pub mod targets;
pub mod theme_toggle;
pub mod time_picker;
pub mod token_setting;

pub use panel::TimeSeriesPanel;
pub use query_bar::QueryBar;
pub use shortcuts::Shortcuts;
pub use stat::StatPanel;
pub use status::StatusBar;
pub use targets::TargetsPanel;
pub use theme_toggle::ThemeToggle;
pub use time_picker::TimePicker;
pub use token_setting::TokenSetting;
