//! Login tokens and passwords.

use std::sync::LazyLock;

use anyhow::anyhow;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::{fill_random, hex_encode};

/// A new login token (32 random bytes, base64url without padding) and its stored form.
/// Only the hash is stored, so a database leak does not hand out live sessions.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// Hex SHA-256 of the token string. A plain hash suffices: tokens carry 256 bits of entropy.
pub fn token_hash(token: &str) -> String {
    hex_encode(&Sha256::digest(token.as_bytes()))
}

/// argon2id with the crate's default parameters, as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow!("OS random number generator failed: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow!("encoding salt: {e}"))?;
    let phc = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("hashing password: {e}"))?;
    Ok(phc.to_string())
}

/// False on a wrong password or an unparseable hash; never panics.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Computed once, on first use, so it has the same cost parameters as real hashes.
static DUMMY_HASH: LazyLock<Option<String>> =
    LazyLock::new(|| hash_password("signpost dummy password").ok());

/// Spends the same time as a real check, so an unknown email is indistinguishable by
/// timing from a wrong password.
pub fn burn_password_check(password: &str) {
    if let Some(phc) = DUMMY_HASH.as_deref() {
        let _ = verify_password(password, phc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_hash() {
        let (token, hash) = new_token();
        assert_eq!(token.len(), 43);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(hash, token_hash(&token));
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_ne!(new_token().0, token);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn password_hash_and_verify() {
        let phc = hash_password("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &phc));
        assert!(!verify_password("correct horse battery stapler", &phc));
        assert!(!verify_password("", &phc));
        // Fresh salt each time.
        assert_ne!(phc, hash_password("correct horse battery staple").unwrap());
    }

    #[test]
    fn malformed_hash_is_false() {
        assert!(!verify_password("x", ""));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password(
            "x",
            "$argon2id$v=19$m=19456,t=2,p=1$!!!$???"
        ));
        assert!(!verify_password("x", "$argon2id$"));
    }

    #[test]
    fn burn_does_not_panic() {
        burn_password_check("anything");
        burn_password_check("");
    }
}
