//! `parley visitor export|erase`: the JSON of everything stored about a visitor (on standard
//! output or in a private file), an erasure that asks for `--yes`, removes the files and is
//! audited, and the selections the command refuses.

use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use parley_store::{NewAttachment, NewConversation, NewMessage, SenderType, Store};
use serde_json::Value;

use crate::support::{parley, Scratch};

struct Setup {
    scratch: Scratch,
    data: String,
    database: String,
}

impl Setup {
    fn new() -> Self {
        let scratch = Scratch::new();
        let data = scratch.0.join("data").display().to_string();
        let database = format!(
            "sqlite://{}?mode=rwc",
            scratch.0.join("parley.db").display()
        );
        Self {
            scratch,
            data,
            database,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        parley(
            &self.scratch.0,
            args,
            &[
                ("PARLEY_DATA_DIR", self.data.as_str()),
                ("DATABASE_URL", self.database.as_str()),
            ],
        )
        .output()
        .unwrap()
    }

    fn attachments(&self) -> PathBuf {
        PathBuf::from(&self.data).join("attachments")
    }

    fn store(&self) -> (tokio::runtime::Runtime, std::sync::Arc<dyn Store>) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = runtime
            .block_on(parley_store::connect(&self.database))
            .unwrap();
        runtime.block_on(store.migrate()).unwrap();
        (runtime, store)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A widget (made by the command) with two conversations of Vera, one with a file, and one of
/// Otto's: (widget id, Vera's ids, Otto's id, the file's path).
fn populate(setup: &Setup) -> (i64, Vec<i64>, i64, PathBuf) {
    let made = setup.run(&["widget", "create", "--name", "Shop", "--json"]);
    assert!(made.status.success(), "{made:?}");
    let widget: Value = serde_json::from_slice(&made.stdout).unwrap();
    let widget_id = widget["id"].as_i64().unwrap();
    std::fs::create_dir_all(setup.attachments()).unwrap();
    let file = setup.attachments().join("0123456789abcdef0123456789abcdef");
    std::fs::write(&file, b"%PDF-1.7\n").unwrap();

    let (runtime, store) = setup.store();
    let conversation = |email: &str, token: &str| {
        runtime
            .block_on(store.create_conversation(NewConversation {
                widget_id,
                visitor_name: Some("Someone".into()),
                visitor_email: Some(email.into()),
                visitor_token_hash: token.into(),
                ..Default::default()
            }))
            .unwrap()
            .id
    };
    let first = conversation("Vera@Example.com", "a");
    let second = conversation("vera@example.com", "b");
    let otto = conversation("otto@example.com", "c");
    for (id, with_file) in [(first, true), (second, false), (otto, false)] {
        runtime
            .block_on(store.insert_message(NewMessage {
                conversation_id: id,
                sender_type: SenderType::Visitor,
                sender_name: None,
                message: format!("hello from {id}"),
                attachment: with_file.then(|| NewAttachment {
                    storage_name: "0123456789abcdef0123456789abcdef".into(),
                    original_name: "invoice.pdf".into(),
                    content_type: "application/pdf".into(),
                    size_bytes: 9,
                }),
                is_voice: false,
                client_id: None,
                bot_job: false,
            }))
            .unwrap();
    }
    (widget_id, vec![first, second], otto, file)
}

#[test]
fn export_prints_everything_about_a_visitor_or_writes_it_privately() {
    let setup = Setup::new();
    let (widget_id, vera, _, _) = populate(&setup);

    let exported = setup.run(&["visitor", "export", "--email", "VERA@example.com"]);
    assert!(exported.status.success(), "{exported:?}");
    let export: Value = serde_json::from_slice(&exported.stdout).unwrap();
    let ids: Vec<i64> = export["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversation"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vera);
    let first = &export["conversations"][0];
    assert_eq!(
        first["messages"][0]["message"],
        format!("hello from {}", vera[0])
    );
    assert_eq!(first["attachments"][0]["original_name"], "invoice.pdf");
    assert!(
        !text(&exported.stdout).contains("0123456789abcdef"),
        "no names on disk"
    );

    let widget = widget_id.to_string();
    let output = setup.scratch.0.join("vera.json");
    let written = setup.run(&[
        "visitor",
        "export",
        "--email",
        "vera@example.com",
        "--widget",
        &widget,
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(written.status.success(), "{written:?}");
    assert!(
        text(&written.stderr).contains("Exported 2 conversation(s)"),
        "{written:?}"
    );
    let mode = std::fs::metadata(&output).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        format!("{mode:o}"),
        "600",
        "someone's data, readable by its owner only"
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    assert_eq!(saved["conversations"].as_array().unwrap().len(), 2);

    let one = setup.run(&["visitor", "export", "--conversation", &vera[1].to_string()]);
    let one: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(one["conversations"].as_array().unwrap().len(), 1);
    let none = setup.run(&["visitor", "export", "--email", "nobody@example.com"]);
    assert!(none.status.success());
    let none: Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(none["conversations"], serde_json::json!([]));
}

#[test]
fn erase_asks_for_yes_then_removes_everything_and_the_files() {
    let setup = Setup::new();
    let (_, vera, otto, file) = populate(&setup);

    let asked = setup.run(&["visitor", "erase", "--email", "vera@example.com"]);
    assert!(!asked.status.success(), "{asked:?}");
    assert!(
        text(&asked.stdout).contains("Would erase 2 conversation(s)"),
        "{asked:?}"
    );
    assert!(text(&asked.stderr).contains("--yes"), "{asked:?}");
    assert!(file.exists(), "nothing erased without --yes");

    let erased = setup.run(&[
        "visitor",
        "erase",
        "--email",
        "vera@example.com",
        "--yes",
        "--json",
    ]);
    assert!(erased.status.success(), "{erased:?}");
    let answer: Value = serde_json::from_slice(&erased.stdout).unwrap();
    let counts = &answer["erased"];
    let ids: Vec<i64> = counts["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vera);
    assert_eq!(counts["messages"], 2);
    assert_eq!(counts["attachments"], 1);
    assert_eq!(counts["files_removed"], 1);
    assert!(!file.exists(), "the file is gone");

    let (runtime, store) = setup.store();
    for id in &vera {
        assert_eq!(runtime.block_on(store.conversation(*id)).unwrap(), None);
    }
    assert!(runtime
        .block_on(store.conversation(otto))
        .unwrap()
        .is_some());
    let audit = runtime.block_on(store.audit_log(None, 10)).unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "visitor.erase")
        .expect("audited");
    assert_eq!(entry.actor_id, None);
    let detail = entry.detail.clone().unwrap();
    assert_eq!(detail["via"], "cli");
    assert_eq!(detail["by"], "email");
    assert_eq!(detail["conversations"], serde_json::json!(vera));
    assert!(!detail.to_string().contains("vera@"), "{detail}");

    let plain = setup.run(&[
        "visitor",
        "erase",
        "--conversation",
        &otto.to_string(),
        "--yes",
    ]);
    assert!(plain.status.success(), "{plain:?}");
    assert!(
        text(&plain.stdout).starts_with(&format!(
            "Erased 1 conversation(s) (ids {otto}): 1 message(s)"
        )),
        "{plain:?}"
    );
}

#[test]
fn selections_are_refused_unless_exactly_one_and_complete() {
    let setup = Setup::new();
    for (args, says) in [
        (&["visitor", "export"][..], "required"),
        (
            &[
                "visitor",
                "export",
                "--email",
                "a@b.c",
                "--conversation",
                "1",
            ],
            "cannot be used with",
        ),
        (&["visitor", "export", "--user", "u1"], "--widget"),
        (
            &["visitor", "export", "--conversation", "1", "--widget", "1"],
            "cannot be used with",
        ),
        (
            &["visitor", "export", "--email", "a@b.c", "--widget", "999"],
            "no widget with id 999",
        ),
        (
            &["visitor", "erase", "--email", " ", "--yes"],
            "must not be empty",
        ),
    ] {
        let output = setup.run(args);
        assert!(!output.status.success(), "{args:?}");
        assert!(text(&output.stderr).contains(says), "{args:?}: {output:?}");
    }
}
