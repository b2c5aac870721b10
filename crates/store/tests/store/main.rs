//! Behaviour tests for the store. Every behaviour is one `async fn` written against
//! `Arc<dyn Store>` and runs twice: on SQLite in a temporary directory and on PostgreSQL in a
//! fresh schema (skipped, saying so, when `PARLEY_TEST_POSTGRES_URL` is not set).

mod support;

mod accounts;
mod agents;
mod assignment;
mod attachments;
mod bot_jobs;
mod conversations;
mod group_commit;
mod group_read;
mod identities;
mod mail_jobs;
mod marks;
mod messages;
mod migrate;
mod notes_labels;
mod open;
mod page;
mod previews;
mod privacy;
mod ratings;
mod reports;
mod saved_replies;
mod text;
mod urls;
mod waiting;
mod webhooks;
mod widgets;
