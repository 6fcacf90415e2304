//! Keys, sealing, receipts and secrets.
//!
//! All randomness comes from the OS CSPRNG via `getrandom`.

mod keys;
mod receipt;
mod secrets;

pub use keys::{KeySource, Keys, SealError};
pub use receipt::{Receipt, new_reference};
pub use secrets::{burn_password_check, hash_password, new_token, token_hash, verify_password};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stops the process on a failure that leaves no safe way to continue: the OS CSPRNG
/// failing, or a primitive rejecting input it accepts by definition. Carrying on would
/// mean predictable nonces or secrets, which is worse than crashing. The single panic
/// site in this module, used only where the public signature cannot return an error.
#[cold]
#[inline(never)]
fn unrecoverable(what: &str) -> ! {
    panic!("unrecoverable cryptographic failure: {what}")
}

/// Fills `buf` from the OS CSPRNG, for callers that cannot return an error.
fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        unrecoverable("OS random number generator failed");
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this error branch cannot be taken.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unrecoverable("HMAC rejected its key"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes exactly 64 hex characters (either case) into 32 bytes.
fn hex_decode_32(s: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 8 + 3) as u8);
        let hex = hex_encode(&bytes);
        assert_eq!(hex.len(), 64);
        assert_eq!(hex_decode_32(&hex), Some(bytes));
        assert_eq!(hex_decode_32(&hex.to_uppercase()), Some(bytes));
        assert_eq!(hex_decode_32(&hex[..62]), None);
        assert_eq!(hex_decode_32(&format!("{}zz", &hex[..62])), None);
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex_encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
