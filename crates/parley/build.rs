//! Builds the widget (`widget/`, bundled with esbuild through npm) so the binary can embed it:
//! a release binary is self-contained, and a fresh checkout needs only `cargo build` (with Node
//! and npm installed). `PARLEY_SKIP_WIDGET_BUILD=1` uses an existing `widget/dist` as is.

use std::{path::Path, process::Command};

fn main() {
    let widget = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../widget");
    for input in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", widget.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=PARLEY_SKIP_WIDGET_BUILD");
    let dist = widget.join("dist/chatbot-widget.js");
    if std::env::var_os("PARLEY_SKIP_WIDGET_BUILD").is_some() && dist.exists() {
        return;
    }
    let npm = |args: &[&str]| {
        let status = Command::new("npm").args(args).current_dir(&widget).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => panic!("`npm {}` in widget/ failed with {status}", args.join(" ")),
            Err(error) => panic!(
                "building the widget needs Node.js and npm (`npm {}` in widget/ could not start: {error})",
                args.join(" ")
            ),
        }
    };
    if !widget.join("node_modules").exists() {
        npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    npm(&["run", "build", "--silent"]);
    assert!(
        dist.exists(),
        "the widget build did not produce {}",
        dist.display()
    );
}
