//! Installs what the build and the tests need, when missing, with pinned versions:
//! the wasm32 target, trunk 0.21, wasm-bindgen-cli at the version in Cargo.lock, a wasm-opt
//! that works (npm binaryen@132; Debian's 108 silently breaks wasm-bindgen output), and for
//! tests Debian's chromium, chromium-driver, prometheus and prometheus-node-exporter.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

const TRUNK_VERSION: &str = "~0.21";
const BINARYEN_NPM: &str = "binaryen@132.0.0";
const WASM_OPT_VERSION: &str = "version 132";

/// Where the tools are, for commands that need them.
#[derive(Debug)]
pub struct ToolEnv {
    pub trunk: PathBuf,
    /// Directories to put first on PATH (wasm-opt, wasm-bindgen).
    pub path_prefix: Vec<PathBuf>,
    pub chromedriver: Option<PathBuf>,
}

impl ToolEnv {
    pub fn path(&self) -> OsString {
        let mut dirs = self.path_prefix.clone();
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(dirs).unwrap_or_default()
    }
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("PATH", self.path());
    }
}

/// Runs a command, inheriting output; fails with the command line if it fails.
pub fn status(cmd: &mut Command) -> anyhow::Result<()> {
    let st = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} failed with {st}");
    }
    Ok(())
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// The version of a package in Cargo.lock.
pub fn locked_version(root: &Path, package: &str) -> anyhow::Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let i = lock
        .find(&needle)
        .with_context(|| format!("{package} is not in Cargo.lock"))?
        + needle.len();
    Ok(lock[i..].split('"').next().unwrap_or_default().to_owned())
}

fn say(msg: &str) {
    eprintln!("xtask: {msg}");
}

/// Installs whatever is missing; `browser` adds Chromium and chromedriver for the tests.
pub fn ensure(root: &Path, browser: bool) -> anyhow::Result<ToolEnv> {
    let bin = cargo_bin_dir();

    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        say("installing the wasm32-unknown-unknown target");
        status(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let trunk = bin.join("trunk");
    let trunk_ok = output(trunk.to_str().unwrap_or("trunk"), &["--version"])
        .is_some_and(|v| v.starts_with("trunk 0.21"));
    if !trunk_ok {
        say("installing trunk 0.21 (about 10 minutes, once)");
        status(crate::cargo().args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))?;
    }

    // wasm-bindgen's CLI must match the library in Cargo.lock exactly, and Trunk.toml pins it.
    let wb = locked_version(root, "wasm-bindgen")?;
    let trunk_toml =
        std::fs::read_to_string(root.join("Trunk.toml")).context("reading Trunk.toml")?;
    if !trunk_toml.contains(&format!("wasm_bindgen = \"{wb}\"")) {
        bail!("Trunk.toml must pin wasm_bindgen = \"{wb}\" (the version in Cargo.lock)");
    }
    let wb_bin = bin.join("wasm-bindgen");
    let wb_ok = output(wb_bin.to_str().unwrap_or_default(), &["--version"])
        .is_some_and(|v| v.trim() == format!("wasm-bindgen {wb}"))
        && bin.join("wasm-bindgen-test-runner").exists();
    if !wb_ok {
        say(&format!(
            "installing wasm-bindgen-cli {wb} (about 2 minutes, once)"
        ));
        // Not --locked: the registry lacks one of its pinned dependencies.
        status(crate::cargo().args(["install", "wasm-bindgen-cli", "--version", &wb, "--force"]))?;
    }

    // wasm-opt from npm binaryen, in a project-local folder.
    let tools = root.join(".tools");
    let npm_bin = tools.join("node_modules").join(".bin");
    let wasm_opt = npm_bin.join("wasm-opt");
    let opt_ok = output(wasm_opt.to_str().unwrap_or_default(), &["--version"])
        .is_some_and(|v| v.contains(WASM_OPT_VERSION));
    if !opt_ok {
        say("installing wasm-opt (npm binaryen@132)");
        std::fs::create_dir_all(&tools)?;
        status(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&tools)
                .arg(BINARYEN_NPM),
        )?;
    }

    let mut chromedriver = None;
    if browser {
        // Real peers for the tests: the browser and its driver, and Prometheus and its node
        // exporter (a real target to scrape, a reference engine to compare with).
        let wanted = [
            ("/usr/bin/chromium", "chromium"),
            ("/usr/bin/chromedriver", "chromium-driver"),
            ("/usr/bin/prometheus", "prometheus"),
            (
                "/usr/bin/prometheus-node-exporter",
                "prometheus-node-exporter",
            ),
        ];
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|(path, _)| !Path::new(path).exists())
            .map(|(_, pkg)| *pkg)
            .collect();
        if !missing.is_empty() {
            say(&format!("installing Debian's {}", missing.join(", ")));
            let sudo = output("id", &["-u"]).is_some_and(|u| u.trim() != "0");
            let apt = |args: &[&str]| {
                let mut c = if sudo {
                    Command::new("sudo")
                } else {
                    Command::new("apt-get")
                };
                if sudo {
                    c.arg("apt-get");
                }
                c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
                status(&mut c)
            };
            let mut install = vec!["install", "-y", "--no-install-recommends"];
            install.extend(&missing);
            if apt(&install).is_err() {
                apt(&["update"])?;
                apt(&install)?;
            }
        }
        chromedriver = Some(PathBuf::from("/usr/bin/chromedriver"));
    }

    Ok(ToolEnv {
        trunk,
        path_prefix: vec![npm_bin, bin],
        chromedriver,
    })
}
