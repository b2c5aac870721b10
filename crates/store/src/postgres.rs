//! The PostgreSQL store, for deployments that run several Parley nodes or want a database
//! server: the pool, the PostgreSQL migrations, and a test hook that confines a store to one
//! schema. The queries themselves are shared, in `sql.rs`.

use std::{sync::Arc, time::Duration};

use sqlx::{
    migrate::Migrator,
    postgres::{PgPool, PgPoolOptions},
    Executor, Postgres,
};

use crate::{
    sql::{Backend, SqlStore},
    Result, Store,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per node. Parley's queries are short; ten keep a node busy without exhausting
/// the server's default `max_connections` (100) when several nodes share it.
const MAX_CONNECTIONS: u32 = 10;

/// How long a caller waits for a connection (and the first connect for the server) before
/// failing, so an unreachable database is an error rather than a hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL store.
pub(crate) type PgStore = SqlStore<Postgres>;

impl Backend for Postgres {
    // Writes in PostgreSQL wait for row locks on their own; no special BEGIN is needed.
    const BEGIN_WRITE: &'static str = "BEGIN";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    async fn migrate(pool: &PgPool) -> Result<()> {
        // sqlx's PostgreSQL migrator holds an advisory lock while it runs, so nodes starting
        // together take turns. Each migration gets its own transaction, which leaves room for
        // statements such as CREATE INDEX CONCURRENTLY in later migrations.
        MIGRATOR.run(pool).await?;
        Ok(())
    }
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = pool_options().connect(url).await?;
        Ok(Self::from_pool(pool))
    }

    fn from_pool(pool: PgPool) -> Self {
        // One pool serves reads and writes: the server handles concurrent writers itself.
        SqlStore::new(pool.clone(), pool)
    }
}

fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
}

/// For tests: a store whose every connection works in `schema` (which must exist), so that
/// tests sharing one database cannot see each other's tables.
#[doc(hidden)]
pub async fn connect_postgres_in_schema(url: &str, schema: &str) -> Result<Arc<dyn Store>> {
    let set_search_path: Arc<str> = format!("SET search_path TO {}", quote_ident(schema)).into();
    let pool = pool_options()
        .after_connect(move |conn, _meta| {
            let sql = Arc::clone(&set_search_path);
            Box::pin(async move {
                conn.execute(&*sql).await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(Arc::new(PgStore::from_pool(pool)))
}

/// `name` as a PostgreSQL identifier, quoted so that any text is taken literally.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::quote_ident;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("parley_test_1"), "\"parley_test_1\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
