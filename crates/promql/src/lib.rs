//! `lookout-promql`: the PromQL parser and evaluator of Lookout (being built in issue #4).
