//! The PostgreSQL store, for deployments that run several Parley nodes or want a database
//! server: the pool, the PostgreSQL migrations, and a test hook that confines a store to one
//! schema. The queries themselves are shared, in `sql.rs`.

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions},
    ConnectOptions, Connection, Executor, Postgres,
};

use crate::{
    sql::{self, Backend, SqlStore},
    Result, Store, StoreError,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per node. Parley's queries are short; ten keep a node busy without exhausting
/// the server's default `max_connections` (100) when several nodes share it.
const MAX_CONNECTIONS: u32 = 10;

/// How long a caller waits for a connection (and the first connect for the server) before
/// failing, so an unreachable database is an error rather than a hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the first connection may take: a server that drops packets rather than refusing
/// them would otherwise hold start-up for the operating system's TCP timeout (minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL store.
pub(crate) type PgStore = SqlStore<Postgres>;

impl Backend for Postgres {
    // Writes in PostgreSQL wait for row locks on their own; no special BEGIN is needed.
    const BEGIN_WRITE: &'static str = "BEGIN";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const PAGE_MESSAGES: &'static str = sql::PAGE_MESSAGES_LATERAL;

    async fn migrate(pool: &PgPool) -> Result<()> {
        // sqlx's PostgreSQL migrator holds an advisory lock while it runs, so nodes starting
        // together take turns. Each migration gets its own transaction, which leaves room for
        // statements such as CREATE INDEX CONCURRENTLY in later migrations.
        MIGRATOR.run(pool).await?;
        Ok(())
    }
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names. One connection is made first, on its
    /// own and bounded by [`CONNECT_TIMEOUT`], so that a server that cannot be reached is
    /// reported with its address and the reason, not as a pool that timed out.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = first_connection(url).await?;
        let pool = pool_options().connect_with(options).await?;
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
    let options = first_connection(url).await?;
    let set_search_path: Arc<str> = format!("SET search_path TO {}", quote_ident(schema)).into();
    let pool = pool_options()
        .after_connect(move |conn, _meta| {
            let sql = Arc::clone(&set_search_path);
            Box::pin(async move {
                conn.execute(&*sql).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(Arc::new(PgStore::from_pool(pool)))
}

/// Parses `url` and makes (then closes) one connection to it; the options to build a pool with,
/// or why the server cannot be used, naming its address but never the password.
async fn first_connection(url: &str) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url)?;
    let address = address(&options);
    let unreachable = |reason| StoreError::Unreachable {
        address: address.clone(),
        reason,
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => {
            let _ = PgConnection::close(connection).await;
            Ok(options)
        }
        Ok(Err(error)) => Err(unreachable(error)),
        Err(_) => Err(unreachable(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        )))),
    }
}

/// Where a PostgreSQL server is, for messages: `host:port`, or a socket.
fn address(options: &PgConnectOptions) -> String {
    let port = options.get_port();
    match options.get_socket() {
        Some(socket) => format!("socket {} (port {port})", socket.display()),
        None if options.get_host().contains(':') => format!("[{}]:{port}", options.get_host()),
        None => format!("{}:{port}", options.get_host()),
    }
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
