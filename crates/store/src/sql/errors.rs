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
