//! The fixtures: a database per test, on SQLite (a file in a fresh temporary directory) or on
//! PostgreSQL (a fresh schema in the database `PARLEY_TEST_POSTGRES_URL` names), removed when
//! the test ends, passed or failed. Plus small builders for the records tests need.

use std::{future::Future, path::PathBuf, sync::Arc};

use parley_store::{
    connect, connect_postgres_in_schema, Agent, Conversation, NewAgent, NewConversation,
    NewMessage, NewWidget, Role, SenderType, Store, Widget,
};
use sqlx::{Connection, Executor, PgConnection};

/// A store handle, as the rest of Parley holds one.
pub type Db = Arc<dyn Store>;

/// Where the PostgreSQL variants find their server.
pub const POSTGRES_URL: &str = "PARLEY_TEST_POSTGRES_URL";

/// Declares each behaviour as two tests, `<behaviour>::sqlite` and `<behaviour>::postgres`.
/// The behaviour is an `async fn(Db)` on a migrated store; with `fresh:` it is an
/// `async fn(Arc<Fixture>)` that opens (and migrates) stores itself.
macro_rules! on_both {
    (fresh: $($name:ident),+ $(,)?) => {
        $crate::support::on_both!(@each fresh, $($name),+);
    };
    ($($name:ident),+ $(,)?) => {
        $crate::support::on_both!(@each migrated, $($name),+);
    };
    (@each $prepare:ident, $($name:ident),+) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let fixture = $crate::support::Fixture::sqlite().await;
                $crate::support::run(fixture, $crate::support::$prepare, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(fixture) = $crate::support::Fixture::postgres().await else {
                    println!("skipped: {} is not set", $crate::support::POSTGRES_URL);
                    return;
                };
                $crate::support::run(fixture, $crate::support::$prepare, super::$name).await;
            }
        }
    )+};
}
pub(crate) use on_both;

/// One test's database.
#[derive(Debug)]
pub enum Fixture {
    /// A directory holding the SQLite file.
    Sqlite { dir: PathBuf },
    /// A schema that every connection of the test's stores uses.
    Postgres { url: String, schema: String },
}

impl Fixture {
    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("parley-store-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self::Sqlite { dir }
    }

    /// `None` when `PARLEY_TEST_POSTGRES_URL` is not set. When it is set the server must be
    /// reachable: an unreachable server fails the test rather than skipping it.
    pub async fn postgres() -> Option<Self> {
        let url = std::env::var(POSTGRES_URL).ok()?;
        let schema = format!("parley_test_{:016x}", rand::random::<u64>());
        admin(&url, &format!("CREATE SCHEMA {schema}")).await;
        Some(Self::Postgres { url, schema })
    }

    /// A new store on this test's database, not migrated. Each call is like another node.
    pub async fn open(&self) -> Db {
        match self {
            Self::Sqlite { dir } => {
                let url = format!("sqlite://{}", dir.join("parley.db").display());
                connect(&url).await.expect("open SQLite store")
            }
            Self::Postgres { url, schema } => connect_postgres_in_schema(url, schema)
                .await
                .expect("open PostgreSQL store"),
        }
    }

    async fn remove(&self) {
        match self {
            Self::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { url, schema } => {
                admin(url, &format!("DROP SCHEMA {schema} CASCADE")).await;
            }
        }
    }
}

/// Runs one administrative statement on its own connection.
async fn admin(url: &str, sql: &str) {
    let mut conn = PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL} is set but the server is unreachable: {e}"));
    conn.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// Hands the behaviour a migrated store.
pub async fn migrated(fixture: Arc<Fixture>) -> Db {
    let db = fixture.open().await;
    db.migrate().await.expect("migrate");
    db
}

/// Hands the behaviour the fixture itself.
pub async fn fresh(fixture: Arc<Fixture>) -> Arc<Fixture> {
    fixture
}

/// Runs `behaviour` on `fixture`, then removes the database whatever the outcome.
pub async fn run<A, P, PF, B, BF>(fixture: Fixture, prepare: P, behaviour: B)
where
    P: FnOnce(Arc<Fixture>) -> PF,
    PF: Future<Output = A> + Send + 'static,
    B: FnOnce(A) -> BF + Send + 'static,
    BF: Future<Output = ()> + Send + 'static,
    A: Send + 'static,
{
    let fixture = Arc::new(fixture);
    let prepared = prepare(Arc::clone(&fixture));
    // On its own task, so a failing assertion comes back as an error and cleanup still runs.
    let outcome = tokio::spawn(async move { behaviour(prepared.await).await }).await;
    fixture.remove().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// A fresh random token hash (unique per call).
pub fn token() -> String {
    format!("{:064x}", rand::random::<u128>())
}

pub async fn widget(db: &Db, name: &str) -> Widget {
    db.create_widget(NewWidget {
        name: name.into(),
        token_hash: token(),
        allowed_origins: vec!["https://shop.example".into()],
        settings: serde_json::json!({"greeting": "Hi!", "colour": "#123456"}),
        identity_secret: None,
    })
    .await
    .expect("create widget")
}

pub async fn conversation(db: &Db, widget_id: i64) -> Conversation {
    db.create_conversation(NewConversation {
        widget_id,
        visitor_name: Some("Vera".into()),
        visitor_email: Some("vera@example.com".into()),
        visitor_token_hash: token(),
        page_url: Some("https://shop.example/cart".into()),
        user_agent: Some("Mozilla/5.0".into()),
        ..Default::default()
    })
    .await
    .expect("create conversation")
}

/// A widget and one conversation on it.
pub async fn chat(db: &Db) -> Conversation {
    let widget = widget(db, "Shop").await;
    conversation(db, widget.id).await
}

/// A visitor's text message.
pub fn text(conversation_id: i64, message: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        conversation_id,
        sender_type: SenderType::Visitor,
        sender_name: Some("Vera".into()),
        message: message.into(),
        attachment: None,
        is_voice: false,
        client_id: client_id.map(Into::into),
        bot_job: false,
    }
}

pub async fn agent(db: &Db, email: &str) -> Agent {
    db.create_agent(NewAgent {
        name: "Ada".into(),
        email: email.into(),
        token_hash: token(),
        role: Role::Agent,
    })
    .await
    .expect("create agent")
}
