//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds the SQL files, but on
//! stable Rust it cannot tell Cargo it read them.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
