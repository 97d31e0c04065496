//! Prometheus's own PromQL test scripts, through the same library entry point the `promqltest`
//! binary uses. They live beside the checkout (`../shared/promql/testdata`) and are never copied
//! into the project; without them this test says so and checks nothing else.

#![allow(clippy::unwrap_used)] // Tests state their expectations with unwrap.

use std::path::PathBuf;

use lookout_promql::Engine;
use lookout_promql::promqltest::{Status, Summary, run_script};

/// The files where every eval must pass (those that need native histograms are skipped).
const MUST_PASS: &[&str] = &[
    "aggregators",
    "at_modifier",
    "collision",
    "functions",
    "histograms",
    "limit",
    "literals",
    "name_label_dropping",
    "operators",
    "range_queries",
    "selectors",
    "staleness",
    "subquery",
    "trig_functions",
    "duration_expression",
    "fill-modifier",
    "type_and_unit",
    "info",
    "native_histograms",
    "extended_vectors",
];

#[test]
fn prometheus_test_scripts_pass() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promql/testdata");
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let engine = Engine::default();
    let mut failures = Vec::new();
    let mut total = Summary::default();
    for name in MUST_PASS {
        let path = dir.join(format!("{name}.test"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcomes = run_script(&text, &engine);
        total.add(&outcomes);
        for o in outcomes {
            if let Status::Failed(why) = o.status {
                failures.push(format!("{name}.test:{}: {}: {why}", o.line, o.query));
            }
        }
    }
    assert!(failures.is_empty(), "{total}\n{}", failures.join("\n"));
    assert!(total.passed > 900, "{total}");
}

#[test]
fn runner_reports_mismatches() {
    let script = "load 1m\n  up{job=\"a\"} 1 2 3\n\neval instant at 2m up\n  up{job=\"a\"} 4\n\neval instant at 2m up\n  up{job=\"a\"} 3\n";
    let outcomes = run_script(script, &Engine::default());
    assert!(
        matches!(&outcomes[0].status, Status::Failed(why) if why.contains("expected 4")),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1].status, Status::Passed);
    assert_eq!(outcomes[0].line, 4);
}
