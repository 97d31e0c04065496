//! Components: each wires signals to the plain-Rust logic of the crate.

pub mod bar_gauge;
pub mod explore;
pub mod gauge;
pub mod heatmap;
pub mod panel;
pub mod panel_view;
pub mod query_bar;
pub mod shortcuts;
pub mod stat;
pub mod status;
pub mod table_panel;
pub mod table_view;
pub mod targets;
pub mod targets_page;
pub mod theme_toggle;
pub mod time_picker;

pub use bar_gauge::BarGaugePanel;
pub use explore::ExplorePage;
pub use gauge::GaugePanel;
pub use heatmap::HeatmapPanel;
pub use panel::TimeSeriesPanel;
pub use panel_view::{PanelContext, PanelView};
pub use query_bar::QueryBar;
pub use shortcuts::Shortcuts;
pub use stat::StatPanel;
pub use status::StatusBar;
pub use table_panel::TablePanel;
pub use targets::TargetsPanel;
pub use targets_page::TargetsPage;
pub use theme_toggle::ThemeToggle;
pub use time_picker::TimePicker;
