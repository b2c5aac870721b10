//! What the command's tests share: a scratch directory, the real `parley` binary with only the
//! environment a test gives it, and a running `parley serve` with what it printed.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// A scratch directory, removed at the end.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "parley-data-dir-{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Scratch {
    /// A SQLite database in this directory, as `DATABASE_URL` names it.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("parley.db").display())
    }

    /// `parley ARGS` run to its end on `database`, with its data directory in here.
    pub fn run(&self, database: &str, args: &[&str]) -> std::process::Output {
        let data = self.0.join("data").display().to_string();
        parley(
            &self.0,
            args,
            &[
                ("PARLEY_DATA_DIR", data.as_str()),
                ("DATABASE_URL", database),
            ],
        )
        .output()
        .unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `parley ARGS` in `cwd` (so no developer's `.env` is read), with only `vars` of Parley's own.
pub fn parley(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
    command.args(args).current_dir(cwd);
    for (name, _) in std::env::vars() {
        let ours = [
            "REVERB_",
            "PARLEY_",
            "PUSHER_",
            "BROADCAST_",
            "DATABASE_URL",
            "REDIS_URL",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        if ours {
            command.env_remove(name);
        }
    }
    command.envs([
        ("PARLEY_HTTP_ADDR", "127.0.0.1:0"),
        ("REVERB_SERVER_PORT", "0"),
        ("PARLEY_BOT_WORKER", "false"),
        ("RUST_LOG", "warn"),
    ]);
    command.envs(vars.iter().copied());
    command
}

/// A running `parley serve` and what it printed until it was ready.
pub struct Serve {
    pub child: Child,
    pub printed: Vec<String>,
}

impl Serve {
    /// Starts `parley serve` and reads its output until it prints the dashboard's address (the
    /// last line of start-up), failing if it exits or has not got there within a minute.
    pub fn start(cwd: &Path, vars: &[(&str, &str)]) -> Self {
        Self::from(parley(cwd, &["serve"], vars))
    }

    /// Starts `command`, a `parley serve` built by [`parley`] (perhaps run through a shell),
    /// and reads its output until it is ready, as [`Serve::start`] does.
    pub fn from(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start parley serve");
        let (lines, received) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if lines.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        // Only the readers hold senders now: when the process exits, the channel disconnects.
        drop(lines);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut printed = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.starts_with("Dashboard: ");
                    printed.push(line);
                    if ready {
                        return Self { child, printed };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("parley serve did not get ready: {printed:#?}");
                }
            }
        }
    }

    pub fn printed(&self, prefix: &str) -> bool {
        self.printed.iter().any(|line| line.starts_with(prefix))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
