//! `cargo xtask`: the project's two commands (`run`, `test`), benchmarks, and the tool set-up
//! they share. Everything a fresh machine needs is installed from here.

mod bench;
mod shell;
mod suites;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "\
cargo xtask <command>

COMMANDS:
    run [RELAY ARGS...]   install what is missing, build the UI, start the relay with the demo fleet
    test                  install what is missing and run every test suite
    bench <area>          run a benchmark (size, store, promql, ...) and write target/bench/<area>.json
    build-ui              build the UI into dist/ (release, offline)
    setup [--browser]     only install the tools
";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => {
            let env = tools::ensure(&root, false)?;
            build_ui(&root, &env)?;
            let mut cmd = cargo();
            cmd.args([
                "run",
                "--profile",
                "fast",
                "-p",
                "lookout-relay",
                "--bin",
                "lookout",
                "--",
                "--dist",
            ])
            .arg(root.join("dist"))
            .args(relay_args(&args[1..]));
            tools::status(&mut cmd)
        }
        Some("test") => {
            let env = tools::ensure(&root, true)?;
            build_ui(&root, &env)?;
            suites::run_all(&root, &env)
        }
        Some("bench") => {
            let Some(area) = args.get(1) else {
                bail!("which bench? {}", bench::AREAS.join(", "))
            };
            bench::run(&root, area, &args[2..])
        }
        Some("build-ui") => {
            let env = tools::ensure(&root, false)?;
            build_ui(&root, &env)
        }
        Some("setup") => tools::ensure(&root, args.iter().any(|a| a == "--browser")).map(|_| ()),
        _ => {
            print!("{USAGE}");
            if args.is_empty() {
                Ok(())
            } else {
                bail!("unknown command {:?}", args[0])
            }
        }
    }
}

/// The relay's arguments: what follows `run`, without the `--` a user may put first
/// (`cargo xtask run -- --target ...`).
fn relay_args(args: &[String]) -> &[String] {
    match args.first() {
        Some(first) if first == "--" => &args[1..],
        _ => args,
    }
}

pub(crate) fn workspace_root() -> PathBuf {
    // crates/xtask -> workspace root
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `cargo`, as the one that runs us.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the UI with trunk in release mode, offline, with the tools `ensure` installed.
pub(crate) fn build_ui(root: &Path, env: &tools::ToolEnv) -> anyhow::Result<()> {
    // Trunk runs offline: every crate must already be in cargo's cache.
    tools::status(cargo().args(["fetch", "--locked"])).context("cargo fetch")?;
    let mut cmd = Command::new(&env.trunk);
    cmd.current_dir(root)
        .args(["build", "--release", "--offline"]);
    env.apply(&mut cmd);
    tools::status(&mut cmd).context("trunk build")?;
    shell::externalize_boot_script(&root.join("dist"))?;
    shell::write_embed_loader(root)?;
    shell::precompress(&root.join("dist"))
}
