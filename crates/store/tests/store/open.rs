//! Opening a database: the SQLite file is private to its owner, and a database that cannot be
//! opened or reached is reported with where it is and why (never a PostgreSQL password), at once.

use std::os::unix::fs::PermissionsExt;

use parley_store::connect;

use crate::support::{chat, text};

fn temp_dir() -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("parley-store-open-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn a_new_sqlite_database_and_its_wal_are_readable_by_their_owner_only() {
    let dir = temp_dir();
    let file = dir.join("parley.db");
    let db = connect(&format!("sqlite://{}?mode=rwc", file.display()))
        .await
        .expect("open");
    db.migrate().await.expect("migrate");
    let chat = chat(&db).await;
    db.insert_message(text(chat.id, "private", None))
        .await
        .expect("insert");
    for name in ["parley.db", "parley.db-wal", "parley.db-shm"] {
        assert_eq!(format!("{:o}", mode(&dir.join(name))), "600", "{name}");
    }
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_sqlite_database_that_cannot_be_created_says_which_file_and_why() {
    let dir = temp_dir();
    // A path under a regular file: refused even to root, which ignores permission bits.
    let blocker = dir.join("not-a-directory");
    std::fs::write(&blocker, "").expect("write");
    let file = blocker.join("parley.db");
    let error = connect(&format!("sqlite://{}?mode=rwc", file.display()))
        .await
        .expect_err("cannot be created")
        .to_string();
    assert!(
        error.contains(&format!(
            "cannot open the SQLite database at {}",
            file.display()
        )),
        "{error}"
    );
    assert!(error.contains("Not a directory"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unreachable_postgres_is_named_with_its_address_and_cause() {
    // A port that was just free: nothing listens there, so connecting is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let error = connect(&format!(
        "postgres://parley:hunter2@127.0.0.1:{port}/parley"
    ))
    .await
    .expect_err("nothing listens there")
    .to_string();
    assert!(
        error.contains(&format!("cannot connect to PostgreSQL at 127.0.0.1:{port}")),
        "{error}"
    );
    assert!(
        error.to_lowercase().contains("connection refused"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "the password is shown: {error}");
}
