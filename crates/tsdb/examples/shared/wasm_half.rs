//! Runs a crate's in-browser bench half (`tests/web_bench.rs`, compiled to wasm and run in
//! headless Chromium by `wasm-bindgen-test-runner`) and collects the JSON rows it prints.
//! Shared by `bench_store` and `bench_promql` (`#[path]`-included), so both spawn it alike.

use std::path::Path;
use std::process::Command;

/// `(name, value)` of every row the wasm half printed, or why it could not run.
/// `LOOKOUT_BENCH_WASM=0` skips it.
pub fn rows(package: &str) -> Result<Vec<(String, f64)>, String> {
    if std::env::var("LOOKOUT_BENCH_WASM").is_ok_and(|v| v == "0") {
        return Err("skipped (LOOKOUT_BENCH_WASM=0)".into());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args([
        "test",
        "--profile",
        "fast",
        "-p",
        package,
        "--target",
        "wasm32-unknown-unknown",
        "--test",
        "web_bench",
        "--",
        "--nocapture",
    ]);
    let defaults = [
        (
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        ),
        ("CHROMEDRIVER", "/usr/bin/chromedriver"),
        ("WASM_BINDGEN_TEST_TIMEOUT", "300"),
    ];
    for (k, v) in defaults {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
    }
    // `cargo xtask setup --browser` installs the runner into ~/.cargo/bin.
    if let (Some(home), Some(path)) = (std::env::var_os("HOME"), std::env::var_os("PATH")) {
        let mut dirs = vec![Path::new(&home).join(".cargo/bin")];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(dirs) {
            cmd.env("PATH", joined);
        }
    }
    eprintln!("running the wasm half in headless Chromium ({package}, tests/web_bench.rs)...");
    let out = cmd.output().map_err(|e| format!("cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<(String, f64)> = stdout.lines().filter_map(parse_row).collect();
    if !out.status.success() || rows.is_empty() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "wasm half failed ({}):\n{}",
            out.status,
            tail.join("\n")
        ));
    }
    Ok(rows)
}

/// `name` and `value` of a `{"name": "...", "value": N, ...}` line.
fn parse_row(line: &str) -> Option<(String, f64)> {
    let line = line.trim();
    if !line.starts_with("{\"name\"") {
        return None;
    }
    let after = |key: &str| {
        let i = line.find(&format!("\"{key}\""))? + key.len() + 2;
        Some(line[i..].trim_start().strip_prefix(':')?.trim_start())
    };
    let name = after("name")?.strip_prefix('"')?;
    let name = &name[..name.find('"')?];
    let value = after("value")?;
    let end = value.find([',', '}']).unwrap_or(value.len());
    Some((name.to_string(), value[..end].trim().parse().ok()?))
}
