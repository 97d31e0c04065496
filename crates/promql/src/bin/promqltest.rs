//! Runs Prometheus's PromQL test scripts against the engine:
//! `promqltest FILE_OR_DIR...` prints one line per failing eval and a final
//! `N passed, M failed, K skipped` (skipped: the eval needs native-histogram samples).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lookout_promql::Engine;
use lookout_promql::promqltest::{Status, Summary, run_script};

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.extension().is_some_and(|x| x == "test") {
                out.push(e);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_file = args.iter().any(|a| a == "--per-file");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if paths.is_empty() {
        eprintln!("usage: promqltest [--per-file] FILE_OR_DIR...");
        return ExitCode::from(2);
    }
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = collect(Path::new(p), &mut files) {
            eprintln!("{p}: {e}");
            return ExitCode::from(2);
        }
    }
    let engine = Engine::default();
    let mut total = Summary::default();
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                return ExitCode::from(2);
            }
        };
        let outcomes = run_script(&text, &engine);
        let mut stdout = std::io::stdout().lock();
        for o in &outcomes {
            if let Status::Failed(why) = &o.status {
                let line = format!(
                    "{}:{}: {}: {}",
                    f.display(),
                    o.line,
                    o.query,
                    why.replace('\n', " ")
                );
                // A closed pipe (`| head`) ends the run quietly.
                if writeln!(stdout, "{line}").is_err() {
                    return ExitCode::FAILURE;
                }
            }
        }
        let mut s = Summary::default();
        s.add(&outcomes);
        if per_file {
            println!("# {}: {s}", f.display());
        }
        total.passed += s.passed;
        total.failed += s.failed;
        total.skipped += s.skipped;
    }
    println!("{total}");
    if total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
