//! `parley widget create --json` prints the widget's identity secret, and `parley widget
//! identity-secret ID` replaces it (printed once, stored, the old one gone); an unknown or revoked
//! widget is refused with a message.

use serde_json::Value;

use crate::support::Scratch;

fn stored_secret(database: &str, id: i64) -> Option<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = parley_store::connect(database).await.unwrap();
        store.widget(id).await.unwrap().unwrap().identity_secret
    })
}

#[test]
fn identity_secrets_are_printed_once_and_replaced() {
    let scratch = Scratch::new();
    let database = scratch.sqlite_url();
    let made = scratch.run(&database, &["widget", "create", "--name", "Shop", "--json"]);
    assert!(made.status.success(), "{made:?}");
    let widget: Value = serde_json::from_slice(&made.stdout).unwrap();
    let id = widget["id"].as_i64().unwrap();
    let first = widget["identity_secret"].as_str().unwrap().to_string();
    assert!(first.starts_with("cbi_") && first.len() > 40, "{first}");
    assert_eq!(
        stored_secret(&database, id).as_deref(),
        Some(first.as_str())
    );
    let listed = scratch.run(&database, &["widget", "list", "--json"]);
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(&first),
        "never listed"
    );

    let id_text = id.to_string();
    let renewed = scratch.run(
        &database,
        &["widget", "identity-secret", &id_text, "--json"],
    );
    assert!(renewed.status.success(), "{renewed:?}");
    let renewed: Value = serde_json::from_slice(&renewed.stdout).unwrap();
    let second = renewed["identity_secret"].as_str().unwrap();
    assert_ne!(second, first);
    assert_eq!(renewed["id"], id);
    assert_eq!(stored_secret(&database, id).as_deref(), Some(second));

    let unknown = scratch.run(&database, &["widget", "identity-secret", "999"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no active widget with id 999"));
    assert!(scratch
        .run(&database, &["widget", "revoke", &id_text])
        .status
        .success());
    let revoked = scratch.run(&database, &["widget", "identity-secret", &id_text]);
    assert!(!revoked.status.success(), "a revoked widget gets no secret");
    assert_eq!(
        stored_secret(&database, id).as_deref(),
        Some(second),
        "unchanged"
    );
}
