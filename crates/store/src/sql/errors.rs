//! Which database failures mean something to callers: a broken unique rule is a
//! [`StoreError::Conflict`], a reference to a missing row is a [`StoreError::NotFound`]. Both
//! drivers report these through sqlx's portable error kinds, so one check serves both.

use crate::StoreError;

/// Whether `err` is a unique (or primary key) violation, in either database.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Whether `err` is a foreign key violation, in either database.
pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_foreign_key_violation())
}

/// Classifies a failed write. `taken` describes what already exists, `missing` what a
/// reference pointed at; both are only built when needed.
pub(crate) fn write_error(
    err: sqlx::Error,
    taken: impl FnOnce() -> String,
    missing: impl FnOnce() -> String,
) -> StoreError {
    if is_unique_violation(&err) {
        StoreError::Conflict(taken())
    } else if is_foreign_key_violation(&err) {
        StoreError::NotFound(missing())
    } else {
        StoreError::Database(err)
    }
}

/// The same failure again, for each caller of a batch that one failure ended (sqlx's errors
/// cannot be cloned). What callers look at survives: an I/O error's kind, a pool's state, a
/// database's code and message, so [`StoreError::is_transient`] answers alike.
pub(crate) fn replicate(error: &sqlx::Error) -> sqlx::Error {
    match error {
        sqlx::Error::Io(io) => sqlx::Error::Io(std::io::Error::new(io.kind(), io.to_string())),
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::WorkerCrashed => sqlx::Error::WorkerCrashed,
        sqlx::Error::Database(database) => sqlx::Error::Database(Box::new(Replicated {
            message: database.message().to_owned(),
            code: database.code().map(|code| code.into_owned()),
        })),
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// A database's error, copied.
#[derive(Debug)]
struct Replicated {
    message: String,
    code: Option<String>,
}

impl std::fmt::Display for Replicated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Replicated {}

impl sqlx::error::DatabaseError for Replicated {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.code.as_deref().map(std::borrow::Cow::Borrowed)
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        sqlx::error::ErrorKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::replicate;
    use crate::StoreError;

    #[test]
    fn replicated_failures_stay_transient_or_not() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        for error in [
            sqlx::Error::Io(io),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
        ] {
            assert!(StoreError::Database(replicate(&error)).is_transient());
        }
        assert!(!StoreError::Database(replicate(&sqlx::Error::RowNotFound)).is_transient());
    }
}
