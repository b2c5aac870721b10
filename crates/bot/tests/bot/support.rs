//! Test helpers: throw-away knowledge directories, turns, and a local HTTP server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use parley_bot::{HistoryEntry, Turn};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "parley-bot-test-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` and sets its modification time `mtime_offset_secs` after a fixed base, so a
    /// rewrite is seen as a change whatever the file system's timestamp granularity.
    pub fn write(&self, name: &str, text: &str, mtime_offset_secs: u64) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write knowledge file");
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open for set_modified");
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        file.set_modified(base + Duration::from_secs(mtime_offset_secs))
            .expect("set mtime");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A first turn in conversation 1 of widget `widget_id`.
pub fn turn(widget_id: i64, message: &str) -> Turn {
    Turn {
        conversation_id: 1,
        widget_id,
        visitor_name: Some("Ada".into()),
        message: message.into(),
        history: Vec::<HistoryEntry>::new(),
        unsure_count: 0,
        bot_turns: 0,
        locale: None,
    }
}

/// Serves `router` on 127.0.0.1:0; returns its base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// Settings from JSON, as the chat service reads them from a widget.
pub fn settings(value: serde_json::Value) -> parley_bot::BotSettings {
    parley_bot::BotSettings::from_widget_settings(&serde_json::json!({ "bot": value }))
        .expect("valid settings")
}
