//! `cargo xtask test`: every suite — native, wasm in headless Chromium, PromQL conformance, end
//! to end — with one total at the end.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::tools::ToolEnv;

/// The conformance files the engine must pass without a failure (issue #4).
const PROMQL_TARGET_FILES: &[&str] = &[
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
];

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    passed: u64,
    failed: u64,
}

/// Runs a command, echoing its stdout, and adds up what the lines it prints report.
/// A command that fails without reporting a failure counts as one failure, so a suite that
/// cannot even build is never a silent pass.
fn run_suite(name: &str, cmd: &mut Command, parse: fn(&str, &mut Tally)) -> anyhow::Result<Tally> {
    eprintln!("\nxtask: === {name} ===");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let mut tally = Tally::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.unwrap_or_default();
            println!("{line}");
            parse(&line, &mut tally);
        }
    }
    let status = child.wait()?;
    if !status.success() && tally.failed == 0 {
        eprintln!(
            "xtask: {name} exited with {status} without reporting a failed test; counting it as one failure"
        );
        tally.failed += 1;
    }
    eprintln!(
        "xtask: {name}: {} passed, {} failed",
        tally.passed, tally.failed
    );
    Ok(tally)
}

/// libtest's `test result: ok. 5 passed; 0 failed; ...` (wasm-bindgen-test-runner prints it too).
fn parse_libtest(line: &str, t: &mut Tally) {
    let Some(rest) = line.trim().strip_prefix("test result: ") else {
        return;
    };
    for part in rest.split(';') {
        let mut words = part.split_whitespace().rev();
        let (Some(what), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => t.passed += n,
            "failed" => t.failed += n,
            _ => {}
        }
    }
}

/// promqltest's last line: `N passed, M failed, K skipped`.
fn parse_promqltest(line: &str, t: &mut Tally) {
    let parts: Vec<&str> = line.split(", ").collect();
    if parts.len() != 3 || !line.ends_with(" skipped") {
        return;
    }
    let num = |p: &str, what: &str| {
        p.strip_suffix(what)
            .and_then(|n| n.trim().parse::<u64>().ok())
    };
    if let (Some(p), Some(f)) = (num(parts[0], " passed"), num(parts[1], " failed")) {
        t.passed += p;
        t.failed += f;
    }
}

pub fn run_all(root: &Path, env: &ToolEnv) -> anyhow::Result<()> {
    let mut total = Tally::default();
    let mut add = |t: Tally| {
        total.passed += t.passed;
        total.failed += t.failed;
    };

    // Native: every crate but the page, which only runs in a browser.
    let mut native = crate::cargo();
    native.args([
        "test",
        "--workspace",
        "--exclude",
        "lookout-ui",
        "--no-fail-fast",
    ]);
    add(run_suite("native tests", &mut native, parse_libtest)?);

    // Wasm in headless Chromium.
    let webdriver_json = root.join("target").join("webdriver.json");
    std::fs::create_dir_all(root.join("target"))?;
    std::fs::write(
        &webdriver_json,
        serde_json::json!({ "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage"
        ] } })
        .to_string(),
    )?;
    let chromedriver = env
        .chromedriver
        .clone()
        .context("chromedriver was not set up")?;
    let wasm = |args: &[&str]| {
        let mut c = crate::cargo();
        c.args(["test", "--target", "wasm32-unknown-unknown"])
            .args(args);
        c.env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", &chromedriver)
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver_json)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
        env.apply(&mut c);
        c
    };
    add(run_suite(
        "wasm tests (page logic, headless Chromium)",
        &mut wasm(&["-p", "lookout-ui", "--lib"]),
        parse_libtest,
    )?);
    for krate in ["tsdb", "wire", "promql"] {
        if root
            .join("crates")
            .join(krate)
            .join("tests")
            .join("web.rs")
            .exists()
        {
            let pkg = format!("lookout-{krate}");
            add(run_suite(
                &format!("wasm tests ({pkg}, headless Chromium)"),
                &mut wasm(&["-p", &pkg, "--test", "web"]),
                parse_libtest,
            )?);
        }
    }

    // PromQL conformance on Prometheus's own test scripts, when the shared folder is present.
    // The files of the engine's target (issue #4) count; the others — experimental syntax and
    // native histograms, not supported yet — run as a report so their numbers stay visible.
    let testdata = root
        .join("..")
        .join("shared")
        .join("promql")
        .join("testdata");
    if testdata.is_dir() && root.join("crates/promql/src/bin/promqltest.rs").exists() {
        let mut counted = Vec::new();
        let mut reported = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(&testdata)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "test"))
        {
            let stem = f
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            if PROMQL_TARGET_FILES.contains(&stem.as_str()) {
                counted.push(f)
            } else {
                reported.push(f)
            }
        }
        let promqltest = |files: &[std::path::PathBuf]| {
            let mut c = crate::cargo();
            c.args([
                "run",
                "--release",
                "-p",
                "lookout-promql",
                "--bin",
                "promqltest",
                "--",
            ])
            .args(files);
            c
        };
        add(run_suite(
            "PromQL conformance (promqltest, target files)",
            &mut promqltest(&counted),
            parse_promqltest,
        )?);
        if !reported.is_empty() {
            let names: Vec<_> = reported
                .iter()
                .filter_map(|f| f.file_name()?.to_str())
                .collect();
            let report = run_suite(
                &format!("PromQL conformance, report only ({})", names.join(", ")),
                &mut promqltest(&reported),
                parse_promqltest,
            )?;
            eprintln!(
                "xtask: (report only, not counted: {} passed, {} failed)",
                report.passed, report.failed
            );
        }
    } else {
        eprintln!(
            "\nxtask: PromQL conformance not run: {} or the promqltest runner is missing",
            testdata.display()
        );
    }

    // End to end: relay + real targets + the built page in headless Chromium. Every
    // tests/e2e*.rs target (feature `browser`) runs here, once.
    let mut e2e = crate::cargo();
    // Every e2e file runs even when an earlier one fails.
    e2e.args([
        "test",
        "-p",
        "lookout-tests",
        "--features",
        "browser",
        "--no-fail-fast",
    ]);
    let mut e2e_files: Vec<String> = std::fs::read_dir(root.join("tests"))?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("e2e") && n.ends_with(".rs"))
        .collect();
    e2e_files.sort();
    for f in &e2e_files {
        e2e.args(["--test", f.trim_end_matches(".rs")]);
    }
    e2e.args(["--", "--test-threads=1"])
        .env("LOOKOUT_DIST", root.join("dist"))
        .env("CHROMEDRIVER", &chromedriver);
    add(run_suite(
        "end-to-end tests (relay + headless Chromium)",
        &mut e2e,
        parse_libtest,
    )?);

    println!("{} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        bail!("{} test(s) failed", total.failed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_summaries() {
        let mut t = Tally::default();
        parse_libtest(
            "test result: FAILED. 3 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.1s",
            &mut t,
        );
        parse_promqltest("10 passed, 1 failed, 4 skipped", &mut t);
        parse_promqltest("some query 10 passed, whatever", &mut t);
        assert_eq!((t.passed, t.failed), (13, 3));
    }
}
