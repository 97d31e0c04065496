//! Parser behaviour a user sees: canonical printing (round trips), error positions and wording,
//! and robustness against arbitrary input.

#![allow(clippy::unwrap_used)] // Tests state their expectations with unwrap.

use lookout_promql::{Engine, ErrorKind, parse};
use lookout_tsdb::{Labels, Store};

/// (input, canonical text).
const ROUND_TRIPS: &[(&str, &str)] = &[
    ("foo", "foo"),
    ("foo{a=\"b\",c=~\"d.*\"}", "foo{a=\"b\", c=~\"d.*\"}"),
    ("{__name__=\"foo\"}", "{__name__=\"foo\"}"),
    ("{\"foo.bar\", a=\"b\"}", "{\"foo.bar\", a=\"b\"}"),
    ("foo{\"a.b\"=\"c\"}", "foo{\"a.b\"=\"c\"}"),
    ("rate(foo[5m])", "rate(foo[5m])"),
    ("foo offset -5m @ 100", "foo @ 100.000 offset -5m"),
    ("foo @ start()", "foo @ start()"),
    ("foo @ end() offset 1h30m", "foo @ end() offset 1h30m"),
    (
        "sum by (a, b) (rate(x[1h30m]))",
        "sum by (a, b) (rate(x[1h30m]))",
    ),
    ("sum(x) without (a)", "sum without (a) (x)"),
    ("SUM BY (on) (x)", "sum by (on) (x)"),
    ("topk(5, x)", "topk(5, x)"),
    ("count_values(\"v\", x)", "count_values(\"v\", x)"),
    ("a + on(b) group_left(c) d", "a + on (b) group_left (c) d"),
    (
        "a * ignoring(b) group_right d",
        "a * ignoring (b) group_right () d",
    ),
    ("a > bool b", "a > bool b"),
    ("a and ignoring(x) b", "a and ignoring (x) b"),
    ("-a ^ 2", "-a ^ 2"),
    ("2 ^ 3 ^ 2", "2 ^ 3 ^ 2"),
    ("(a + b) * c", "(a + b) * c"),
    ("a unless b or c and d", "a unless b or c and d"),
    ("x[5m:1m]", "x[5m:1m]"),
    ("x[5m:]", "x[5m:]"),
    (
        "rate(x[5m])[30m:1m] offset 1m",
        "rate(x[5m])[30m:1m] offset 1m",
    ),
    ("x[1800]", "x[30m]"),
    ("foo[1h+5m]", "foo[1h + 5m]"),
    ("foo offset (1m + 2m)", "foo offset (1m + 2m)"),
    ("foo[step()*2]", "foo[step() * 2]"),
    ("0x1F", "31"),
    ("Inf", "+Inf"),
    ("-inf", "-Inf"),
    ("nan", "NaN"),
    ("- -1", "1"),
    ("'single'", "\"single\""),
    ("`raw\\s`", "\"raw\\\\s\""),
    ("\"a\\nb\"", "\"a\\nb\""),
    ("# comment\nfoo", "foo"),
    ("1h", "1h"),
    ("min_of(1,2)", "min_of(1, 2)"),
    (
        "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")",
        "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")",
    ),
    (
        "histogram_quantiles(x, \"q\", 0.5, 0.9)",
        "histogram_quantiles(x, \"q\", 0.5, 0.9)",
    ),
];

#[test]
fn canonical_text_round_trips() {
    for (input, want) in ROUND_TRIPS {
        let e = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(e.to_string(), *want, "printing {input:?}");
        let again = parse(want).unwrap_or_else(|e| panic!("{want:?}: {e}"));
        assert_eq!(again.to_string(), *want, "re-printing {want:?}");
    }
}

#[test]
fn precedence_and_associativity() {
    // `^` is right-associative and binds tighter than unary minus; `-` is left-associative.
    let eval = |q: &str| {
        let e = parse(q).unwrap();
        let r = Engine::default().instant(&Store::default(), &e, 0).unwrap();
        match r.value {
            lookout_promql::Value::Scalar { v, .. } => v,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(eval("2 ^ 3 ^ 2"), 512.0);
    assert_eq!(eval("-2 ^ 2"), -4.0);
    assert_eq!(eval("10 - 3 - 2"), 5.0);
    assert_eq!(eval("1 + 2 * 3 % 4"), 3.0);
    assert_eq!(eval("1 < bool 2 == bool 1"), 1.0);
}

/// (input, byte range, message) of the first error.
const ERRORS: &[(&str, (usize, usize), &str)] = &[
    (
        "rate(foo)",
        (5, 8),
        "expected type range vector in call to function \"rate\", got instant vector",
    ),
    (
        "1 > 2",
        (0, 5),
        "comparisons between scalars must use BOOL modifier",
    ),
    (
        "{a=\"\"}",
        (0, 6),
        "vector selector must contain at least one non-empty matcher",
    ),
    ("foo{", (3, 4), "unexpected end of input inside braces"),
    ("sum(rate(x[5m])", (3, 15), "unclosed left parenthesis"),
    ("x)", (1, 2), "unexpected right parenthesis \")\""),
    (
        "foo{a=\"b\"",
        (3, 9),
        "unexpected end of input inside braces",
    ),
    (
        "unknown_fn(x)",
        (0, 10),
        "unknown function with name \"unknown_fn\"",
    ),
    (
        "sum(1, x)",
        (3, 9),
        "wrong number of arguments for aggregate expression provided, expected 1, got 2",
    ),
    (
        "foo[5m][5m]",
        (0, 11),
        "ranges only allowed for vector selectors",
    ),
    (
        "a and 1",
        (0, 7),
        "set operator \"and\" not allowed in binary scalar expression",
    ),
    (
        "1 + bool 2",
        (4, 8),
        "bool modifier can only be used on comparison operators",
    ),
];

#[test]
fn errors_carry_ranges_and_prometheus_wording() {
    for (input, (s, e), msg) in ERRORS {
        let errs = parse(input).expect_err(input);
        let first = errs.first().expect("at least one error");
        assert_eq!(
            (first.span.start, first.span.end),
            (*s, *e),
            "span for {input:?}: {first}"
        );
        assert_eq!(first.message, *msg, "message for {input:?}");
    }
    let e = parse("foo{").unwrap_err();
    assert_eq!(
        e.to_string(),
        "1:4: parse error: unexpected end of input inside braces"
    );
}

#[test]
fn several_errors_are_reported_at_once() {
    let errs = parse("rate(a) + rate(b)").unwrap_err();
    assert_eq!(errs.0.len(), 2, "{errs}");
    assert_eq!(errs.0[1].span.start, 15);
}

/// A small deterministic generator, so the test needs no dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const CORPUS: &[&str] = &[
    "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset 1m)) / ignoring(code) group_left sum(x)",
    "histogram_quantile(0.9, sum by (le) (rate(req_bucket[5m] @ 100)))",
    "topk(3, max_over_time(foo[1h:5m] offset -30s)) and on(a) bar",
    "label_replace(up, \"x\", \"$1\", \"job\", \"(.*)\") > bool 0.5",
    "count_values(\"v\", {__name__=~\"a|b\", \"x.y\"!=\"\"}) unless absent(nope)",
    "-(1 + 2) ^ 3 % 0x10 atan2 Inf",
    "quantile_over_time(0.5, rate(x[1m])[10m:30s]) * on() group_right(l) vector(time())",
    "changes(http_requests[2m*(10+5)] offset min_of(step(), 1s)) @ end()",
    "sort_by_label_desc(limitk(2, x), \"a\", \"b\") or limit_ratio(-0.5, y)",
    "'a\\x41\\u00e9' + `raw`",
    "increase(x[5m] anchored) + on(job) fill_left(0) rate(y[1m] offset 1m smoothed)",
    "info(up @ 100 smoothed, {__name__=~\".+_info\", data=~\".*\"}) </ 2",
];

const ALPHABET: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "@",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "</",
    ">/",
    "anchored ",
    " smoothed",
    "fill(1)",
    "==",
    "!=",
    "=~",
    "!~",
    "=",
    "<",
    ">=",
    "\"",
    "'",
    "`",
    "\\",
    "#",
    " ",
    "5m",
    "0x",
    "1e",
    "by",
    "on",
    "offset",
    "bool",
    "sum",
    "rate",
    "é",
    "\n",
    "\u{0}",
];

#[test]
fn mutated_queries_never_panic() {
    let mut rng = Lcg(0x5eed);
    let mut store = Store::default();
    for (i, name) in ["http_requests_total", "x", "foo", "up", "req_bucket"]
        .iter()
        .enumerate()
    {
        let id = store.series_id(&Labels::new([
            ("__name__", *name),
            ("job", "api"),
            ("le", "1"),
        ]));
        for t in 0..20 {
            store
                .append(id, t * 15_000, (t * (i as i64 + 1)) as f64)
                .unwrap();
        }
    }
    let engine = Engine {
        max_samples: 100_000,
        ..Engine::default()
    };
    let mut parsed_ok = 0;
    for round in 0..3000 {
        let base = CORPUS[rng.below(CORPUS.len())];
        let mut q: Vec<char> = base.chars().collect();
        for _ in 0..1 + rng.below(3) {
            match rng.below(4) {
                0 => q.truncate(rng.below(q.len() + 1)),
                1 if !q.is_empty() => {
                    let at = rng.below(q.len());
                    q.remove(at);
                }
                2 => {
                    let at = rng.below(q.len() + 1);
                    let ins: Vec<char> = ALPHABET[rng.below(ALPHABET.len())].chars().collect();
                    for (k, c) in ins.into_iter().enumerate() {
                        q.insert(at + k, c);
                    }
                }
                _ if q.len() > 2 => {
                    let (a, b) = (rng.below(q.len()), rng.below(q.len()));
                    q.swap(a, b);
                }
                _ => {}
            }
        }
        let text: String = q.into_iter().collect();
        if let Ok(expr) = parse(&text) {
            parsed_ok += 1;
            let printed = expr.to_string();
            let again = parse(&printed)
                .unwrap_or_else(|e| panic!("round {round}: {text:?} printed as {printed:?}: {e}"));
            assert_eq!(again.to_string(), printed, "round {round}: {text:?}");
            // Evaluation must not panic either; errors are fine.
            let _ = engine.instant(&store, &expr, 200_000);
            if matches!(
                expr.value_type(),
                lookout_promql::ValueType::Scalar | lookout_promql::ValueType::Vector
            ) {
                let _ = engine.range(&store, &expr, 0, 300_000, 30_000);
            }
        }
    }
    assert!(
        parsed_ok > 100,
        "mutations should leave many valid queries, got {parsed_ok}"
    );
}

#[test]
fn limits_and_cancellation_are_clear_errors() {
    let mut store = Store::default();
    let id = store.series_id(&Labels::new([("__name__", "x")]));
    for t in 0..100 {
        store.append(id, t * 1000, t as f64).unwrap();
    }
    let expr = parse("sum_over_time(x[100s])").unwrap();
    let small = Engine {
        max_samples: 10,
        ..Engine::default()
    };
    let err = small.instant(&store, &expr, 100_000).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::TooManySamples { limit: 10 }),
        "{err}"
    );
    assert!(err.to_string().contains("too many samples"));
    let cancel = || true;
    let err = Engine::default()
        .query(
            &store,
            &expr,
            lookout_promql::QueryRange {
                start: 0,
                end: 0,
                step: 0,
            },
            Some(&cancel),
        )
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Canceled), "{err}");
}
