//! The `lookout` binary.
fn main() {}
