//! Entry point of the page: everything lives in the library so tests can reach it.

fn main() {
    lookout_ui::start();
}
