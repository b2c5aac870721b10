//! Secrets handed to clients: widget tokens (`cbw_` + 60 alphanumerics), visitor tokens and
//! agent tokens. Only their SHA-256 is stored, so a leaked database does not leak live tokens;
//! lookups go by hash, so comparing is an index lookup, not a string compare in our code.

use rand::{distr::Alphanumeric, Rng};
use sha2::{Digest, Sha256};

/// The prefix that marks a widget token.
pub const WIDGET_TOKEN_PREFIX: &str = "cbw_";

fn random_alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A new widget token: `cbw_` and 60 random alphanumerics (~357 bits).
pub fn new_widget_token() -> String {
    format!("{WIDGET_TOKEN_PREFIX}{}", random_alphanumeric(60))
}

/// A new visitor token, secret to one conversation's visitor.
pub fn new_visitor_token() -> String {
    format!("cbv_{}", random_alphanumeric(40))
}

/// A new agent API token.
pub fn new_agent_token() -> String {
    format!("cba_{}", random_alphanumeric(48))
}

/// A new identity secret, which a site's backend uses to sign its user tokens. Unlike the
/// tokens above it is stored as it is, since checking a signature needs the key itself.
pub fn new_identity_secret() -> String {
    format!("cbi_{}", random_alphanumeric(48))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_tokens_have_the_seed_shape() {
        let token = new_widget_token();
        assert_eq!(token.len(), 64);
        assert!(token.starts_with("cbw_"));
        assert!(token[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(token, new_widget_token());
        assert_eq!(hash_token(&token).len(), 64);
        assert_ne!(hash_token(&token), hash_token(&new_widget_token()));
    }
}
