//! The SQLite store, Parley's embedded default: connection settings (WAL, foreign keys, busy
//! timeout), the pools, the database file (created readable by its owner only), and the SQLite
//! migrations. The queries themselves are shared, in `sql.rs`.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    migrate::Migrator,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
    Row, Sqlite,
};

use crate::{
    sql::{self, Backend, SqlStore},
    Result, StoreError,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another connection's (or process's) write lock before it
/// fails with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for a pooled connection; writers queue here, one at a time.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the WAL is copied back into the database file. Commits do not do it themselves
/// (`wal_autocheckpoint` is off on the write connection): a checkpoint inside a commit made
/// every thousandth visitor message wait for it, which was most of the chat path's p99.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// WAL frames (pages) past which the periodic checkpoint also starts the WAL over, on the write
/// connection: 4096 frames are 16 MiB. Under a sustained stream of commits a PASSIVE checkpoint
/// never finds the WAL idle, so SQLite never starts it over: it grew past a gigabyte in a
/// 12-second burst, and every read of a page the WAL does not hold searched all of its index.
const RESTART_FRAMES: i64 = 4096;

/// How long a restart of the WAL waits for readers of the old one.
const RESTART_WAIT: Duration = Duration::from_millis(200);

/// What the WAL file is cut back to when it starts over, so a burst does not keep its disk.
const WAL_SIZE_LIMIT: &str = "67108864";

/// Connections for reads. WAL lets readers run alongside the writer and each other, so a few
/// let dashboard queries and polls proceed in parallel; more would mostly hold file handles and
/// page caches for the small machines SQLite deployments run on.
const READERS: u32 = 4;

/// The SQLite store.
pub(crate) type SqliteStore = SqlStore<Sqlite>;

impl Backend for Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const SKIP_LOCKED: &'static str = "";
    const PAGE_MESSAGES: &'static str = sql::PAGE_MESSAGES_IN;

    async fn migrate(pool: &SqlitePool) -> Result<()> {
        // sqlx's SQLite migrator takes no lock, so two runs at once would both apply the first
        // migration and one would fail. Running it inside one write transaction holds
        // SQLite's write lock throughout (its own transactions become savepoints): another
        // run, from any process, waits for the busy timeout and then finds nothing to do.
        let mut tx = pool.begin_with(Self::BEGIN_WRITE).await?;
        // `run_direct` is `run` on a plain connection; `run(&mut *tx)` trips rustc's
        // "Acquire is not general enough" when the future must be Send (sqlx documents this).
        MIGRATOR.run_direct(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database a `sqlite:` URL names: `sqlite://path`,
    /// `sqlite:path` or `sqlite::memory:`.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // With WAL, NORMAL loses at most the last commits on power loss, never integrity,
            // and saves an fsync per commit.
            .synchronous(SqliteSynchronous::Normal);

        if is_memory(url) {
            // Each in-memory database lives exactly as long as a connection to it, so there is
            // one connection, shared by reads and writes, and it is never closed for idling or
            // age. (WAL does not apply to memory databases.)
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            return Ok(SqlStore::new(pool.clone(), pool));
        }

        let path = options.get_filename().to_owned();
        let cannot_open = |reason| StoreError::CannotOpen {
            path: path.display().to_string(),
            reason,
        };
        create_private(&path).await.map_err(cannot_open)?;
        let options = options.journal_mode(SqliteJournalMode::Wal);
        // SQLite allows one writer at a time. Extra write connections would not write in
        // parallel; they would spin in the busy handler (sleep-and-retry, unfair, adding
        // latency) and risk SQLITE_BUSY past the timeout. One write connection turns that into
        // a fair queue in the pool, and makes concurrent migrations in this process take turns.
        // Statement journals (a multi-row statement inside a transaction) in memory, not in a
        // temporary file.
        let write_options = options
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", WAL_SIZE_LIMIT)
            .pragma("temp_store", "memory");
        let write = open_pool(SqlitePoolOptions::new().max_connections(1), &write_options)
            .await
            .map_err(cannot_open)?;
        let read = open_pool(SqlitePoolOptions::new().max_connections(READERS), &options)
            .await
            .map_err(cannot_open)?;
        tracing::debug!(url, "opened SQLite store");
        let checkpoints = tokio::spawn(checkpoint_periodically(read.clone(), write.clone()));
        Ok(SqlStore::new(write, read).with_maintenance(checkpoints))
    }
}

/// Creates the database file, if missing, readable and writable by its owner only: it holds
/// every conversation. SQLite gives the `-wal` and `-shm` files it creates beside it the same
/// permissions. An existing file keeps the permissions it has.
async fn create_private(path: &Path) -> sqlx::Result<()> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await?;
    Ok(())
}

/// Copies the WAL back into the database now and then, off the commit path. PASSIVE never
/// blocks the writer or readers: it copies what no reader still needs, and the writer starts
/// the WAL over once everything is copied. When the writer never pauses long enough for that
/// (a burst), the WAL keeps growing; past [`RESTART_FRAMES`] the checkpoint is made again on the
/// write connection, taking its turn between two write transactions, as RESTART: it copies what
/// is left, waits for readers of the old WAL to finish, and the next commit starts the WAL from
/// its beginning. At a steady rate the PASSIVE one keeps up and no commit ever waits for this.
async fn checkpoint_periodically(read: SqlitePool, write: SqlitePool) {
    let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if read.is_closed() {
            return;
        }
        // One row: whether it was blocked, frames in the WAL, frames copied.
        let passive = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_optional(&read)
            .await;
        let frames = match passive {
            Ok(row) => row.and_then(|row| row.try_get::<i64, _>(1).ok()),
            Err(error) => {
                tracing::warn!(%error, "SQLite checkpoint failed; will retry");
                continue;
            }
        };
        if frames.is_some_and(|frames| frames > RESTART_FRAMES) {
            if let Err(error) = restart_wal(&write).await {
                tracing::warn!(%error, "SQLite checkpoint (restart) failed; will retry");
            }
        }
    }
}

/// A RESTART checkpoint on the write connection. It waits for readers of the old WAL for
/// [`RESTART_WAIT`] at most, not the busy timeout: writes queue behind it meanwhile, and a long
/// read (a report) should cost a skipped restart, not seconds of writes.
async fn restart_wal(write: &SqlitePool) -> sqlx::Result<()> {
    let mut connection = write.acquire().await?;
    let wait = format!("PRAGMA busy_timeout = {}", RESTART_WAIT.as_millis());
    sqlx::query(&wait).execute(&mut *connection).await?;
    let restarted = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
        .execute(&mut *connection)
        .await;
    let busy = format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis());
    sqlx::query(&busy).execute(&mut *connection).await?;
    restarted.map(|_| ())
}

/// Opens a pool, retrying while another process holds the lock that switching a new database
/// file to WAL needs: SQLite reports that as SQLITE_BUSY at once, without its busy handler, so
/// two processes starting together on a fresh file (`parley serve` and `parley widget create`,
/// say) would otherwise fail.
async fn open_pool(
    pool: SqlitePoolOptions,
    options: &SqliteConnectOptions,
) -> sqlx::Result<sqlx::SqlitePool> {
    let deadline = tokio::time::Instant::now() + BUSY_TIMEOUT;
    let mut delay = Duration::from_millis(10);
    loop {
        match pool
            .clone()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
        {
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("5")
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(200));
            }
            result => return result,
        }
    }
}

/// Whether a `sqlite:` URL names an in-memory database (`sqlite::memory:` or `mode=memory`).
fn is_memory(url: &str) -> bool {
    let (database, params) = url.split_once('?').unwrap_or((url, ""));
    database.ends_with(":memory:") || params.split('&').any(|param| param == "mode=memory")
}

#[cfg(test)]
mod tests {
    use super::is_memory;

    #[test]
    fn recognises_memory_urls() {
        assert!(is_memory("sqlite::memory:"));
        assert!(is_memory("sqlite://:memory:"));
        assert!(is_memory("sqlite://?mode=memory"));
        assert!(is_memory("sqlite:shared?mode=memory&cache=shared"));
        assert!(!is_memory("sqlite://data/parley.db?mode=rwc"));
        assert!(!is_memory("sqlite:memory.db"));
    }
}
