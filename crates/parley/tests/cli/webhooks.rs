//! `parley webhook create --json` prints `{"id","secret"}` (the secret stored, never listed),
//! `--events` and `--widget` narrow what it gets, `list` shows them, `delete` removes one;
//! a bad URL, an unknown event or widget is refused with a message and stores nothing; each
//! change is audited as the command line.

use serde_json::Value;

use crate::support::Scratch;

fn store<T>(database: &str, read: impl AsyncFnOnce(&dyn parley_store::Store) -> T) -> T {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = parley_store::connect(database).await.unwrap();
        read(store.as_ref()).await
    })
}

#[test]
fn webhooks_are_created_listed_and_deleted() {
    let scratch = Scratch::new();
    let database = scratch.sqlite_url();
    let widget = scratch.run(&database, &["widget", "create", "--name", "Shop", "--json"]);
    assert!(widget.status.success(), "{widget:?}");
    let widget: Value = serde_json::from_slice(&widget.stdout).unwrap();
    let widget_id = widget["id"].as_i64().unwrap().to_string();

    let made = scratch.run(
        &database,
        &[
            "webhook",
            "create",
            "--url",
            "https://crm.example/hooks/parley",
            "--events",
            "message.created,conversation.rated",
            "--widget",
            &widget_id,
            "--json",
        ],
    );
    assert!(made.status.success(), "{made:?}");
    let made: Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(
        made.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "secret"]
    );
    let id = made["id"].as_i64().unwrap();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    let stored = store(&database, async |store| {
        store.webhook(id).await.unwrap().unwrap()
    });
    assert_eq!(stored.secret, secret);
    assert_eq!(stored.url, "https://crm.example/hooks/parley");
    assert_eq!(stored.events, ["message.created", "conversation.rated"]);
    assert_eq!(stored.widget_id, Some(widget_id.parse().unwrap()));

    // Every event of every widget, and plain output.
    let every = scratch.run(
        &database,
        &["webhook", "create", "--url", "http://10.0.0.7:8080/in"],
    );
    assert!(every.status.success(), "{every:?}");
    let said = String::from_utf8_lossy(&every.stdout);
    assert!(
        said.contains("Signing secret (shown only now): whsec_"),
        "{said}"
    );

    let listed = scratch.run(&database, &["webhook", "list", "--json"]);
    assert!(listed.status.success(), "{listed:?}");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(!text.contains(&secret), "never listed");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[1]["all_events"], true);
    let plain = scratch.run(&database, &["webhook", "list"]);
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.contains("every event\tevery widget"), "{plain}");
    assert!(plain.contains(&format!("widget {widget_id}")), "{plain}");

    // Refusals, with what was wrong, and nothing stored.
    for (args, said) in [
        (
            vec!["--url", "ftp://crm.example/in"],
            "url must start with https:// or http://",
        ),
        (
            vec!["--url", "https://user:pw@crm.example/in"],
            "user name or password",
        ),
        (
            vec![
                "--url",
                "https://crm.example/in",
                "--events",
                "message.deleted",
            ],
            "unknown event \"message.deleted\"",
        ),
        (
            vec!["--url", "https://crm.example/in", "--widget", "999"],
            "no active widget with id 999",
        ),
    ] {
        let mut all = vec!["webhook", "create"];
        all.extend(args.iter().copied());
        let refused = scratch.run(&database, &all);
        assert!(!refused.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
    assert_eq!(
        store(&database, async |store| store
            .webhooks()
            .await
            .unwrap()
            .len()),
        2
    );

    let id_text = id.to_string();
    let deleted = scratch.run(&database, &["webhook", "delete", &id_text]);
    assert!(deleted.status.success(), "{deleted:?}");
    let again = scratch.run(&database, &["webhook", "delete", &id_text]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains(&format!("no webhook with id {id}")));

    let actions = store(&database, async |store| {
        store
            .audit_log(None, 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action.starts_with("webhook."))
            .map(|e| (e.action, e.target.unwrap_or_default(), e.actor_id))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        actions,
        [
            ("webhook.delete".to_string(), format!("webhook:{id}"), None),
            (
                "webhook.create".to_string(),
                format!("webhook:{}", id + 1),
                None
            ),
            ("webhook.create".to_string(), format!("webhook:{id}"), None),
        ]
    );
}
