//! `cargo xtask bench <area>`: runs a benchmark, prints a table, and writes
//! `target/bench/<area>.json` — rows of `{"name", "value", "unit"}` plus `"target"`, and
//! `"baseline"` and `"ratio"` where something was measured side by side.
//!
//! Benchmarks other than `size` are examples of their crates that print one JSON row per line;
//! this module runs them and renders what they print.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub const AREAS: &[&str] = &[
    "size", "store", "promql", "scrape", "stream", "ui", "offline", "embed",
];

pub fn run(root: &Path, area: &str, extra: &[String]) -> anyhow::Result<()> {
    let rows = match area {
        "size" => size(root)?,
        "ui" => {
            let mut rows = ui()?;
            // The page's download belongs to its speed: the bundle row of `bench size`.
            match size(root) {
                Ok(size) => rows.extend(size.into_iter().filter(|r| r.get("target").is_some())),
                Err(e) => eprintln!("bundle size not measured: {e:#}"),
            }
            rows
        }
        "offline" => offline(root)?,
        "embed" => embed(root)?,
        "store" => example(root, "lookout-tsdb", "bench_store", extra)?,
        "promql" => example(root, "lookout-promql", "bench_promql", extra)?,
        "scrape" => example(root, "lookout-relay", "bench_scrape", extra)?,
        "stream" => example(root, "lookout-relay", "bench_stream", extra)?,
        other => bail!("unknown bench area {other:?}; areas: {}", AREAS.join(", ")),
    };
    print_table(area, &rows);
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{area}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&Value::Array(rows))?)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn example(root: &Path, package: &str, name: &str, extra: &[String]) -> anyhow::Result<Vec<Value>> {
    if !root
        .join("crates")
        .join(package.trim_start_matches("lookout-"))
        .join("examples")
        .join(format!("{name}.rs"))
        .exists()
    {
        bail!("{package} has no {name} benchmark yet");
    }
    let out = crate::cargo()
        .args([
            "run",
            "--profile",
            "fast",
            "-p",
            package,
            "--example",
            name,
            "--",
        ])
        .args(extra)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {name}"))?;
    if !out.status.success() {
        bail!("{name} failed with {}", out.status);
    }
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v.get("name").is_some() && v.get("value").is_some())
        .collect();
    if rows.is_empty() {
        bail!("{name} printed no rows");
    }
    Ok(rows)
}

/// Drawing costs in headless Chromium: the `ui_bench` wasm test prints JSON rows.
fn ui() -> anyhow::Result<Vec<Value>> {
    let env = crate::tools::ensure(&crate::workspace_root(), true)?;
    let mut cmd = crate::cargo();
    cmd.args([
        "test",
        "--profile",
        "fast",
        "-p",
        "lookout-ui",
        "--target",
        "wasm32-unknown-unknown",
        "--test",
        "ui_bench",
        "--",
        "--nocapture",
    ])
    .env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("CHROMEDRIVER", env.chromedriver.clone().unwrap_or_default())
    .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
    .stderr(std::process::Stdio::inherit());
    env.apply(&mut cmd);
    let out = cmd.output().context("running the ui bench")?;
    if !out.status.success() {
        bail!(
            "the ui bench failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v.get("name").is_some())
        .collect();
    if rows.is_empty() {
        bail!("the ui bench printed no rows");
    }
    Ok(rows)
}

/// The offline cache in headless Chromium with a real relay: the `bench_offline` example of the
/// tests package prints JSON rows. It needs the built app (`cargo xtask build-ui`).
fn offline(root: &Path) -> anyhow::Result<Vec<Value>> {
    let rows: Vec<Value> = browser_example(root, "bench_offline")?
        .into_iter()
        .filter(|v| v.get("name").is_some() && v.get("value").is_some())
        .collect();
    if rows.is_empty() {
        bail!("bench_offline printed no rows");
    }
    Ok(rows)
}

/// An embedded panel on a cold host page (`bench_embed`), and what its frame downloaded,
/// gzipped as a static server would, beside the app's own bundle (the baseline).
fn embed(root: &Path) -> anyhow::Result<Vec<Value>> {
    let lines = browser_example(root, "bench_embed")?;
    let mut rows: Vec<Value> = lines
        .iter()
        .filter(|v| v.get("name").is_some() && v.get("value").is_some())
        .cloned()
        .collect();
    if rows.is_empty() {
        bail!("bench_embed printed no rows");
    }
    let bundle = size(root)?
        .into_iter()
        .find(|r| r["name"] == "bundle gzipped (wasm+js+css)")
        .and_then(|r| r["value"].as_f64())
        .unwrap_or(f64::NAN);
    let dist = root.join("dist");
    let mut found = false;
    for line in &lines {
        let Some(resources) = line.get("resources").and_then(Value::as_array) else {
            continue;
        };
        found = true;
        let variant = line["variant"].as_str().unwrap_or("iframe");
        let (mut gz_total, mut transferred) = (0u64, 0u64);
        for r in resources {
            let path = r[0].as_str().unwrap_or_default();
            transferred += r[1].as_u64().unwrap_or(0);
            let file = match path.trim_start_matches('/') {
                "" | "embed" => "index.html",
                p => p,
            };
            if dist.join(file).exists() {
                gz_total += served_len(&dist.join(file))?;
            }
        }
        rows.push(json!({ "name": format!("{variant} download, gzipped ({} files)", resources.len()), "value": gz_total as f64 / 1024.0, "unit": "KiB", "target": "<= app bundle", "baseline": bundle }));
        rows.push(json!({ "name": "  as transferred by the relay", "value": transferred as f64 / 1024.0, "unit": "KiB" }));
    }
    if !found {
        bail!("bench_embed printed no resources");
    }
    Ok(rows)
}

/// Runs a browser bench example of the tests package (headless Chromium, a real relay, the
/// built `dist/`) and returns every JSON line it printed.
fn browser_example(root: &Path, name: &str) -> anyhow::Result<Vec<Value>> {
    let dist = root.join("dist");
    if !dist.join("sw.js").exists() {
        bail!(
            "{} has no built app: run `cargo xtask build-ui`",
            dist.display()
        );
    }
    let env = crate::tools::ensure(root, true)?;
    let mut cmd = crate::cargo();
    // The dev profile: the example finds the `lookout` binary it builds next to itself.
    cmd.args(["run", "-p", "lookout-tests", "--example", name])
        .env("LOOKOUT_DIST", &dist)
        .env("CHROMEDRIVER", env.chromedriver.clone().unwrap_or_default())
        .stderr(std::process::Stdio::inherit());
    env.apply(&mut cmd);
    let out = cmd.output().with_context(|| format!("running {name}"))?;
    if !out.status.success() {
        bail!("{name} failed with {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .collect())
}

/// What the relay sends for `path` to a browser that accepts gzip: the `.gz` the build wrote
/// beside it, or the file itself when none was worth writing (`shell::precompress`).
fn served_len(path: &Path) -> anyhow::Result<u64> {
    let mut gz = path.as_os_str().to_owned();
    gz.push(".gz");
    let file = match std::fs::metadata(&gz) {
        Ok(_) => std::path::PathBuf::from(gz),
        Err(_) => path.to_owned(),
    };
    Ok(std::fs::metadata(&file)
        .with_context(|| format!("reading {}", file.display()))?
        .len())
}

/// `lookout-ui-0123456789abcdef_bg.wasm` -> `lookout-ui_bg.wasm`: Trunk's content hash dropped,
/// so rows keep their names from build to build.
fn unhashed(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('-') {
        let after = &rest[i + 1..];
        let hex = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 16 {
            out.push_str(&rest[..i]);
            rest = &after[16..];
        } else {
            out.push_str(&rest[..=i]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The page's download: wasm + js + css in dist/ as the relay serves them gzipped (the build's
/// Zopfli `.gz` files), beside the same files at zlib's level 9 (a server compressing on the
/// fly) as the baseline.
fn size(root: &Path) -> anyhow::Result<Vec<Value>> {
    let dist = root.join("dist");
    let entries = std::fs::read_dir(&dist)
        .with_context(|| format!("{} is missing: run `cargo xtask build-ui`", dist.display()))?;
    let mut rows = Vec::new();
    let (mut raw_total, mut gz_total, mut gz9_total) = (0u64, 0u64, 0u64);
    let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(ext, "wasm" | "js" | "css") {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let gz = served_len(&path)?;
        let gz9 = crate::shell::gzip9(&bytes)?.len() as u64;
        let name = unhashed(path.file_name().and_then(|n| n.to_str()).unwrap_or(ext));
        // `embed.js` is what a host site loads for `<lookout-panel>` (`bench embed` counts it
        // there); the app's pages never fetch it.
        if name == "embed.js" {
            rows.push(json!({ "name": "embed.js gzipped (host sites only, not counted)", "value": gz as f64 / 1024.0, "unit": "KiB", "baseline": gz9 as f64 / 1024.0 }));
            continue;
        }
        raw_total += bytes.len() as u64;
        gz_total += gz;
        gz9_total += gz9;
        rows.push(json!({ "name": format!("{name} gzipped"), "value": gz as f64 / 1024.0, "unit": "KiB", "baseline": gz9 as f64 / 1024.0 }));
    }
    if rows.is_empty() {
        bail!(
            "no wasm/js/css in {}: run `cargo xtask build-ui`",
            dist.display()
        );
    }
    rows.push(json!({ "name": "bundle raw (wasm+js+css)", "value": raw_total as f64 / 1024.0, "unit": "KiB" }));
    rows.push(json!({ "name": "bundle gzipped (wasm+js+css)", "value": gz_total as f64 / 1024.0, "unit": "KiB", "baseline": gz9_total as f64 / 1024.0, "target": "<= 600" }));
    Ok(rows)
}

fn print_table(area: &str, rows: &[Value]) {
    let cell = |v: Option<&Value>| match v {
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or_default();
            if f.abs() >= 100.0 {
                format!("{f:.0}")
            } else {
                format!("{f:.3}")
            }
        }
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                cell(r.get("name")),
                cell(r.get("value")),
                cell(r.get("unit")),
                cell(r.get("baseline")),
                cell(r.get("ratio")),
                cell(r.get("target")),
            ]
        })
        .collect();
    let head = ["benchmark", "value", "unit", "baseline", "ratio", "target"].map(String::from);
    let mut widths = head.clone().map(|h| h.len());
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    println!("\nbench {area}");
    for row in std::iter::once(&head).chain(&table) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        println!("{}", line.join("  "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_names_drop_the_content_hash() {
        assert_eq!(
            unhashed("lookout-ui-c1837bae8ccf2cc9_bg.wasm"),
            "lookout-ui_bg.wasm"
        );
        assert_eq!(unhashed("boot-3091347cabd23422.js"), "boot.js");
        assert_eq!(unhashed("embed.js"), "embed.js");
        assert_eq!(unhashed("a-b-c.css"), "a-b-c.css");
    }
}
