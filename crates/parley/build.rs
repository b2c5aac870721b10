//! Builds the widget (`widget/`) and the agents' dashboard (`dashboard/`), each bundled with
//! esbuild through npm, so the binary can embed them: a release binary is self-contained, and a
//! fresh checkout needs only `cargo build` (with Node and npm installed).
//! `PARLEY_SKIP_WIDGET_BUILD=1` uses the existing `widget/dist` and `dashboard/dist` as they are.

use std::{path::Path, process::Command};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!("cargo:rerun-if-env-changed=PARLEY_SKIP_WIDGET_BUILD");
    build(&root.join("widget"), "widget", "dist/chatbot-widget.js");
    build(&root.join("dashboard"), "dashboard", "dist/dashboard.js");
}

/// Runs `npm ci` (when there is no `node_modules`) and `npm run build` in `dir`, unless skipped
/// and `output` already exists.
fn build(dir: &Path, name: &str, output: &str) {
    for input in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", dir.join(input).display());
    }
    let dist = dir.join(output);
    if std::env::var_os("PARLEY_SKIP_WIDGET_BUILD").is_some() && dist.exists() {
        return;
    }
    let npm = |args: &[&str]| {
        let status = Command::new("npm").args(args).current_dir(dir).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => panic!("`npm {}` in {name}/ failed with {status}", args.join(" ")),
            Err(error) => panic!(
                "building the {name} needs Node.js and npm (`npm {}` in {name}/ could not start: {error})",
                args.join(" ")
            ),
        }
    };
    if !dir.join("node_modules").exists() {
        npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    npm(&["run", "build", "--silent"]);
    assert!(
        dist.exists(),
        "the {name} build did not produce {}",
        dist.display()
    );
}
