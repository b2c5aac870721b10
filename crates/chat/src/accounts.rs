//! People's credentials: argon2id password hashes, what a new password must be, and the
//! secrets of a signed-in browser (the session cookie and its CSRF token).
//!
//! Hashing is CPU-heavy by design (tens of milliseconds), so it runs on the blocking pool, never
//! on a worker thread that is serving sockets.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use parley_store::{Agent, NewAgent, Role, Store};
use rand::Rng;

use crate::{error::ApiError, text, tokens};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "parley_session";
/// The header a cookie-authenticated write must carry, holding the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Shortest password accepted (NIST SP 800-63B's minimum for a chosen secret).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted: long passphrases yes, megabytes to hash no.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Password hashes computed at once, at most. Each takes 19 MiB and a core for tens of
/// milliseconds; more wait their turn, so a flood of sign-ins costs queueing, not memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// OWASP's recommended argon2id settings: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks that `password` may be set: long enough, not absurdly long.
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::Validation(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::Validation(format!(
            "the password must be at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The PHC string (`$argon2id$v=19$…`) to store for `password`.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    let _turn = HASHING
        .acquire()
        .await
        .expect("the hashing semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let salt_bytes: [u8; 16] = rand::rng().random();
        let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt");
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| ApiError::Internal(error.to_string().into()))
    })
    .await
    .map_err(|error| ApiError::Internal(Box::new(error)))?
}

/// Whether `password` matches `stored`. With no stored hash (an unknown email, an account that
/// never set a password) a hash is still computed, so the answer takes as long either way and
/// its timing does not tell which emails have accounts.
pub async fn verify_password(stored: Option<String>, password: String) -> bool {
    let Ok(_turn) = HASHING.acquire().await else {
        return false;
    };
    let outcome = tokio::task::spawn_blocking(move || {
        if password.len() > MAX_PASSWORD_BYTES {
            return false;
        }
        match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(hash)) => hasher().verify_password(password.as_bytes(), &hash).is_ok(),
            _ => {
                let salt = SaltString::encode_b64(&[0u8; 16]).expect("valid salt");
                let _ = hasher().hash_password(password.as_bytes(), &salt);
                false
            }
        }
    })
    .await;
    outcome.unwrap_or(false)
}

/// Checks an email address as accounts take it: trimmed, its ASCII letters lower-cased (as the
/// store folds them, so every way in finds the same account), one `@` with text on both sides,
/// no spaces or control characters, at most 254 bytes (RFC 5321's path limit).
pub fn check_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim();
    if email.len() > 254 {
        return Err(ApiError::Validation(
            "email must be an address like name@example.com".into(),
        ));
    }
    let email = email.to_ascii_lowercase();
    let shaped = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    if !shaped || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || text::refused(c))
    {
        return Err(ApiError::Validation(
            "email must be an address like name@example.com".into(),
        ));
    }
    Ok(email)
}

/// Creates an admin who signs in with `password` (the setup page and `parley admin create`).
/// Their API token is random and not shown: they create their own in the dashboard.
pub async fn create_admin(
    store: &dyn Store,
    email: &str,
    name: Option<&str>,
    password: String,
) -> Result<Agent, ApiError> {
    check_new_password(&password)?;
    let email = check_email(email)?;
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => {
            text::check("name", name)?;
            name.to_string()
        }
        None => email.split('@').next().unwrap_or("Admin").to_string(),
    };
    let hash = hash_password(password).await?;
    let agent = store
        .create_agent(NewAgent {
            name,
            email,
            token_hash: tokens::hash_token(&tokens::new_agent_token()),
            role: Role::Admin,
        })
        .await?;
    store.set_password(agent.id, &hash).await?;
    Ok(store.agent(agent.id).await?.unwrap_or(agent))
}

/// The one-time link `parley serve` prints while nobody can sign in: whoever holds it creates
/// the first admin. Held in memory only, so a restart makes a new one and an old one dies.
#[derive(Debug, Default)]
pub struct SetupLink {
    // A std mutex: held to swap an `Option`, never across an `.await`.
    token: std::sync::Mutex<Option<String>>,
}

impl SetupLink {
    /// Makes (or replaces) the link's token and returns it.
    pub fn offer(&self) -> String {
        let token = new_link_token();
        *self.token.lock().expect("setup lock poisoned") = Some(token.clone());
        token
    }

    /// Uses the link: `true` (and the token is gone) if `presented` is it.
    pub fn take(&self, presented: &str) -> bool {
        let mut token = self.token.lock().expect("setup lock poisoned");
        if token.as_deref().is_some_and(|t| same_secret(t, presented)) {
            *token = None;
            true
        } else {
            false
        }
    }

    /// Gives a taken token back (the form it came with was refused).
    pub fn restore(&self, token: String) {
        let mut held = self.token.lock().expect("setup lock poisoned");
        if held.is_none() {
            *held = Some(token);
        }
    }
}

/// A new session cookie value (its SHA-256 is what the store keeps).
pub fn new_session_token() -> String {
    format!("pss_{}", random_token(48))
}

/// A new CSRF token for a session.
pub fn new_csrf_token() -> String {
    random_token(32)
}

/// A new single-use link token (setup, invitation, password reset).
pub fn new_link_token() -> String {
    format!("psl_{}", random_token(40))
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Compares two secrets in time that does not depend on where they first differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(Some(hash.clone()), "correct horse".into()).await);
        assert!(!verify_password(Some(hash.clone()), "correct horsE".into()).await);
        assert!(!verify_password(None, "correct horse".into()).await);
        assert!(!verify_password(Some("not a hash".into()), "correct horse".into()).await);
        let again = hash_password("correct horse".into()).await.expect("hash");
        assert_ne!(hash, again, "each hash has its own salt");
    }

    #[test]
    fn new_passwords_have_limits() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        // Characters, not bytes: eight emoji are a fine password.
        assert!(check_new_password("🔑🔑🔑🔑🔑🔑🔑🔑").is_ok());
    }

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(
            check_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
            "ada\u{7}@x.y",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_setup_link_works_once() {
        let link = SetupLink::default();
        assert!(!link.take("anything"), "no link offered yet");
        let token = link.offer();
        assert!(!link.take("psl_wrong"));
        assert!(link.take(&token));
        assert!(!link.take(&token), "used");
        link.restore(token.clone());
        assert!(link.take(&token), "given back after a refused form");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
