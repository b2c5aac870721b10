//! Builds the widget (`web/widget/`) and the agents' dashboard (`web/dashboard/`), both bundled
//! with esbuild through npm in `web/`, so the binary can embed them: a release binary is
//! self-contained, and a fresh checkout needs only `cargo build` (with Node and npm installed).
//! `PARLEY_SKIP_WIDGET_BUILD=1` uses the existing `web/widget/dist` and `web/dashboard/dist` as
//! they are.

use std::{path::Path, process::Command};

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    println!("cargo:rerun-if-env-changed=PARLEY_SKIP_WIDGET_BUILD");
    build(
        &web,
        &[
            "widget/dist/chatbot-widget.js",
            "dashboard/dist/dashboard.js",
        ],
    );
}

/// Runs `npm ci` (when there is no `node_modules`) and `npm run build` in `dir`, unless skipped
/// and every one of `outputs` already exists.
fn build(dir: &Path, outputs: &[&str]) {
    for input in [
        "shared",
        "widget/src",
        "dashboard/src",
        "build.mjs",
        "package.json",
        "package-lock.json",
    ] {
        println!("cargo:rerun-if-changed={}", dir.join(input).display());
    }
    let dists: Vec<_> = outputs.iter().map(|output| dir.join(output)).collect();
    if std::env::var_os("PARLEY_SKIP_WIDGET_BUILD").is_some() && dists.iter().all(|d| d.exists()) {
        return;
    }
    let npm = |args: &[&str]| {
        let status = Command::new("npm").args(args).current_dir(dir).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => panic!("`npm {}` in web/ failed with {status}", args.join(" ")),
            Err(error) => panic!(
                "building the widget and the dashboard needs Node.js and npm (`npm {}` in web/ could not start: {error})",
                args.join(" ")
            ),
        }
    };
    if !dir.join("node_modules").exists() {
        npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    npm(&["run", "build", "--silent"]);
    for dist in dists {
        assert!(
            dist.exists(),
            "the web build did not produce {}",
            dist.display()
        );
    }
}
