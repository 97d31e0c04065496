//! Components: each wires signals to the plain-Rust logic of the crate.

pub mod dashboard_list;
pub mod dashboard_settings;
pub mod dashboard_view;
pub mod offline_banner;
pub mod panel;
pub mod panel_editor;
pub mod query_bar;
pub mod settings;
pub mod shortcuts;
pub mod stat;
pub mod status;
pub mod table_view;
pub mod targets;
pub mod theme_toggle;
pub mod time_picker;
pub mod variable_bar;
pub mod token_setting;

pub use dashboard_list::DashboardList;
pub use dashboard_view::DashboardView;
pub use offline_banner::OfflineBanner;
pub use panel::TimeSeriesPanel;
pub use query_bar::QueryBar;
pub use settings::CacheSettings;
pub use shortcuts::Shortcuts;
pub use stat::StatPanel;
pub use status::StatusBar;
pub use table_view::TableView;
pub use targets::TargetsPanel;
pub use theme_toggle::ThemeToggle;
pub use time_picker::TimePicker;
pub use variable_bar::VariableBar;
pub use token_setting::TokenSetting;
