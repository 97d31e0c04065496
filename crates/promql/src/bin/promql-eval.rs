//! Evaluates a query over an OpenMetrics file and prints Prometheus's API JSON.
fn main() {}
