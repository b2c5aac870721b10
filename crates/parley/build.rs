//! Builds the widget (`web/widget/`) and the agents' dashboard (`web/dashboard/`), both bundled
//! with esbuild through npm in `web/`, so the binary can embed them: a release binary is
//! self-contained, and a fresh checkout needs only `cargo build` (with Node and npm installed).
//! `PARLEY_SKIP_WIDGET_BUILD=1` uses the existing `web/widget/dist` and `web/dashboard/dist` as
//! they are. The full widget's file name is hashed from its bytes (`chatbot-widget/app.<hash>.js`,
//! which the loader names): this writes `$OUT_DIR/widget_app.rs`, which embeds whichever one the
//! web build made.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    println!("cargo:rerun-if-env-changed=PARLEY_SKIP_WIDGET_BUILD");
    build(
        &web,
        &[
            "widget/dist/chatbot-widget.js",
            "widget/dist/chatbot-widget",
            "dashboard/dist/dashboard.js",
        ],
    );
    embed_widget_app(&web.join("widget/dist/chatbot-widget"));
}

/// Writes `widget_app.rs`: the full widget's hashed name and its bytes (plain, gzip, brotli).
fn embed_widget_app(dir: &Path) {
    // A web build run by hand (not by this script) writes a new name here.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("app.") && name.ends_with(".js"))
        .collect();
    names.sort();
    let [name] = names.as_slice() else {
        panic!(
            "{} should hold one app.<hash>.js, not {names:?}: run `npm run build` in web/",
            dir.display()
        );
    };
    let path = |suffix: &str| {
        let file = dir.join(format!("{name}{suffix}"));
        assert!(file.exists(), "{} is missing", file.display());
        format!("{:?}", file.display().to_string())
    };
    let code = format!(
        "/// The full widget's file name under `/chatbot-widget/` (hashed from its bytes).\n\
         const APP_NAME: &str = {name:?};\n\
         /// The full widget, as built and compressed by `web/build.mjs`.\n\
         const APP: Asset = Asset {{ plain: include_bytes!({}), gzip: include_bytes!({}), brotli: include_bytes!({}) }};\n",
        path(""),
        path(".gz"),
        path(".br"),
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("widget_app.rs");
    if std::fs::read_to_string(&out).ok().as_deref() != Some(code.as_str()) {
        std::fs::write(&out, code).expect("write widget_app.rs");
    }
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
