//! Process limits: `parley serve` lifts its soft open-files limit to the hard one, so a shell's
//! or a supervisor's low default does not cap the sockets it can hold.

use std::process::Command;

use crate::support::{parley, Scratch, Serve};

/// The soft and hard "Max open files" of process `pid`.
fn open_files(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut fields = line["Max open files".len()..].split_whitespace();
    (
        fields.next().unwrap().to_owned(),
        fields.next().unwrap().to_owned(),
    )
}

#[test]
fn serve_lifts_its_soft_open_files_limit_to_the_hard_one() {
    let scratch = Scratch::new();
    let data = scratch.0.join("data").display().to_string();
    // A shell lowers the soft limit (the hard one stays) and then becomes `parley serve`, whose
    // environment is the one `parley` gives every test.
    let template = parley(&scratch.0, &["serve"], &[("PARLEY_DATA_DIR", &data)]);
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -Sn 256 && exec \"$0\" serve"])
        .arg(template.get_program())
        .current_dir(&scratch.0);
    for (name, value) in template.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let serve = Serve::from(command);

    let (soft, hard) = open_files(serve.child.id());
    assert_eq!(soft, hard, "the soft limit lifted to the hard one");
    assert_ne!(soft, "256");
}
