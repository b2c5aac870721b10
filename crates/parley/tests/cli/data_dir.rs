//! The data directory, through the real `parley` binary: created (0700) whatever else is
//! configured, its tokens, secrets and SQLite database written 0600 (and made so when an
//! earlier version left them readable), the demo agent's token
//! printed only when it is created, and a directory or database that cannot be created named
//! with the reason.

use std::{os::unix::fs::PermissionsExt, path::Path};

use crate::support::{parley, Scratch, Serve};

/// `parley check-config` with `data` as the data directory, which must succeed.
fn check_config(scratch: &Scratch, data: &Path) {
    let data = data.display().to_string();
    let output = parley(
        &scratch.0,
        &["check-config"],
        &[("PARLEY_DATA_DIR", data.as_str())],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn mode(path: &Path) -> String {
    let metadata = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:o}", metadata.permissions().mode() & 0o777)
}

#[test]
fn a_new_data_dir_is_created_private_with_a_reverb_app_configured() {
    let scratch = Scratch::new();
    let data = scratch.0.join("new/nested/data");
    let data_str = data.display().to_string();
    let vars = [
        ("PARLEY_DATA_DIR", data_str.as_str()),
        ("REVERB_APP_ID", "601452"),
        ("REVERB_APP_KEY", "data-dir-key"),
        ("REVERB_APP_SECRET", "data-dir-secret"),
    ];

    let first = Serve::start(&scratch.0, &vars);
    assert!(
        first.printed("Demo agent token: cba_"),
        "{:#?}",
        first.printed
    );
    assert!(first.printed("Demo widget token: cbw_"));
    drop(first);

    assert_eq!(mode(&data), "700", "the data directory");
    for file in [
        "parley.db",
        "demo-agent-token",
        "demo-widget-token",
        "link-secret",
    ] {
        assert_eq!(mode(&data.join(file)), "600", "{file}");
    }
    for file in ["parley.db-wal", "parley.db-shm"] {
        if data.join(file).exists() {
            assert_eq!(mode(&data.join(file)), "600", "{file}");
        }
    }

    // The next start finds the agent: the token is not printed again, only where it is.
    let again = Serve::start(&scratch.0, &vars);
    assert!(
        !again.printed("Demo agent token:"),
        "printed again: {:#?}",
        again.printed
    );
    assert!(
        again.printed("The demo agent's token is in "),
        "{:#?}",
        again.printed
    );
    assert!(again.printed("Demo widget token: cbw_"));
}

#[test]
fn files_an_earlier_version_left_readable_are_made_private() {
    let scratch = Scratch::new();
    let data = scratch.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let secret = data.join("link-secret");
    std::fs::write(&secret, "an-old-secret-written-world-readable").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    check_config(&scratch, &data);
    assert_eq!(mode(&secret), "600");
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "an-old-secret-written-world-readable",
        "made private, not rewritten"
    );
}

#[test]
fn the_generated_app_is_kept_private() {
    let scratch = Scratch::new();
    let data = scratch.0.join("data");
    check_config(&scratch, &data);
    assert_eq!(mode(&data), "700");
    assert_eq!(mode(&data.join("realtime-app.json")), "600");
}

#[test]
fn a_data_dir_or_database_that_cannot_be_created_is_named_with_the_reason() {
    let scratch = Scratch::new();
    // Under a regular file: refused even to root, which ignores permission bits.
    let blocker = scratch.0.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let data = blocker.join("data");
    let data_str = data.display().to_string();
    let app = [
        ("REVERB_APP_ID", "601452"),
        ("REVERB_APP_KEY", "data-dir-key"),
        ("REVERB_APP_SECRET", "data-dir-secret"),
    ];

    for args in [&["serve"][..], &["migrate"][..]] {
        let mut vars = vec![("PARLEY_DATA_DIR", data_str.as_str())];
        vars.extend(app);
        let output = parley(&scratch.0, args, &vars).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot create the data directory {data_str}")),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("Not a directory"), "{args:?}: {stderr}");
    }

    let usable = scratch.0.join("data");
    let usable_str = usable.display().to_string();
    let database = blocker.join("parley.db");
    let url = format!("sqlite://{}?mode=rwc", database.display());
    let mut vars = vec![
        ("PARLEY_DATA_DIR", usable_str.as_str()),
        ("DATABASE_URL", url.as_str()),
    ];
    vars.extend(app);
    let output = parley(&scratch.0, &["serve"], &vars).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot open the SQLite database at {}",
            database.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Not a directory"), "{stderr}");
}
