//! The first admin: `parley admin create` reading the password from standard input, and the
//! one-time setup link `parley serve` prints while nobody can sign in with a password.

use std::{io::Write, process::Stdio};

use crate::support::{parley, Scratch, Serve};

/// `parley admin create ARGS` with `input` piped to standard input.
fn admin_create(scratch: &Scratch, args: &[&str], input: &str) -> std::process::Output {
    let data = scratch.0.join("data").display().to_string();
    let mut command = parley(
        &scratch.0,
        &[&["admin", "create"], args].concat(),
        &[("PARLEY_DATA_DIR", data.as_str())],
    );
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn admin_create_reads_a_piped_password_and_refuses_bad_input() {
    let scratch = Scratch::new();
    let short = admin_create(&scratch, &["--email", "boss@example.com"], "short\n");
    assert!(!short.status.success());
    assert!(
        text(&short.stderr).contains("at least 8 characters"),
        "{short:?}"
    );

    let made = admin_create(
        &scratch,
        &["--email", "Boss@Example.com", "--name", "Boss"],
        "a long passphrase\n",
    );
    assert!(made.status.success(), "{made:?}");
    assert!(
        text(&made.stdout).contains("Created admin 1 (boss@example.com)"),
        "{made:?}"
    );

    let again = admin_create(
        &scratch,
        &["--email", "BOSS@example.com"],
        "a long passphrase\n",
    );
    assert!(!again.status.success(), "the email is taken in any case");
    let bad_email = admin_create(
        &scratch,
        &["--email", "not-an-email"],
        "a long passphrase\n",
    );
    assert!(!bad_email.status.success());
    assert!(text(&bad_email.stderr).contains("email"), "{bad_email:?}");
}

#[test]
fn serve_prints_a_setup_link_until_someone_has_a_password() {
    let scratch = Scratch::new();
    let data = scratch.0.join("data").display().to_string();
    let vars = [("PARLEY_DATA_DIR", data.as_str())];
    let link = {
        let first = Serve::start(&scratch.0, &vars);
        first
            .printed
            .iter()
            .find_map(|line| {
                line.split_once("#setup=")
                    .map(|(_, token)| token.to_string())
            })
            .unwrap_or_else(|| panic!("no setup link: {:#?}", first.printed))
    };
    assert!(link.starts_with("psl_"), "{link}");
    let made = admin_create(
        &scratch,
        &["--email", "boss@example.com"],
        "a long passphrase\n",
    );
    assert!(made.status.success(), "{made:?}");
    let second = Serve::start(&scratch.0, &vars);
    assert!(
        !second.printed.iter().any(|line| line.contains("#setup=")),
        "{:#?}",
        second.printed
    );
}
