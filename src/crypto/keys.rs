//! The data key: sealing personal text at rest and keying receipt hashes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::{Receipt, fill_random, hex_decode_32, hex_encode, hmac_sha256, unrecoverable};

const KEY_FILE: &str = "signpost.key";
const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Any well-formed receipt; only its cost matters.
const DUMMY_RECEIPT: &str = "00000000000000000000";

/// Subkeys derived from one master key, so a seal key can never double as a MAC key.
#[derive(Clone)]
pub struct Keys {
    seal: [u8; 32],
    receipt: [u8; 32],
    idempotency: [u8; 32],
    recovery: [u8; 32],
    csrf: [u8; 32],
}

/// Where the master key came from, for a startup log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File { path: PathBuf, created: bool },
}

/// Deliberately carries no detail: messages must never include plaintext or key material.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Format,
    #[error("sealed value could not be decrypted")]
    Decrypt,
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Self {
        Self {
            seal: hmac_sha256(master, b"signpost seal v1"),
            receipt: hmac_sha256(master, b"signpost receipt v1"),
            idempotency: hmac_sha256(master, b"signpost idempotency v1"),
            recovery: hmac_sha256(master, b"signpost recovery codes v1"),
            csrf: hmac_sha256(master, b"signpost console csrf v1"),
        }
    }

    /// `data_key` is SIGNPOST_DATA_KEY's value if set; otherwise the key lives in
    /// `data_dir/signpost.key`, created on first run.
    pub fn load(data_key: Option<&str>, data_dir: &Path) -> anyhow::Result<(Self, KeySource)> {
        if let Some(value) = data_key {
            // Errors name the variable but never echo the value: it may be a real key.
            let master = parse_env_key(value).ok_or_else(|| {
                anyhow!("SIGNPOST_DATA_KEY must be 64 hex characters or base64 of 32 bytes")
            })?;
            return Ok((Self::from_master(&master), KeySource::Env));
        }
        let path = data_dir.join(KEY_FILE);
        let (master, created) = load_or_create_key_file(data_dir, &path)?;
        Ok((
            Self::from_master(&master),
            KeySource::File { path, created },
        ))
    }

    /// XChaCha20-Poly1305 with a fresh random nonce (192 bits, so random nonces never
    /// collide in practice). `aad` binds the ciphertext to its context, e.g. a row id and
    /// column, so a sealed value cannot be moved to another row.
    pub fn seal(&self, plaintext: &str, aad: &[u8]) -> String {
        seal_with(&self.seal, plaintext, aad)
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<String, SealError> {
        open_with(&self.seal, sealed, aad)
    }

    /// Where a stored answer for `key` in `scope` is found: a keyed hash, so the table
    /// never holds the key itself.
    pub fn idempotency_lookup(&self, scope: &str, key: &str) -> String {
        hex_encode(&hmac_sha256(
            &self.idempotency,
            format!("lookup\0{scope}\0{key}").as_bytes(),
        ))
    }

    /// Seals a stored answer under a key derived from the idempotency key. The server
    /// never keeps that key, so it cannot open the answer (which may hold a receipt)
    /// unless the client sends the same key again.
    pub fn idempotency_seal(&self, scope: &str, key: &str, plaintext: &str) -> String {
        let k = self.idempotency_seal_key(scope, key);
        seal_with(
            &k,
            plaintext,
            self.idempotency_lookup(scope, key).as_bytes(),
        )
    }

    pub fn idempotency_open(
        &self,
        scope: &str,
        key: &str,
        sealed: &str,
    ) -> Result<String, SealError> {
        let k = self.idempotency_seal_key(scope, key);
        open_with(&k, sealed, self.idempotency_lookup(scope, key).as_bytes())
    }

    fn idempotency_seal_key(&self, scope: &str, key: &str) -> [u8; 32] {
        hmac_sha256(
            &self.idempotency,
            format!("seal\0{scope}\0{key}").as_bytes(),
        )
    }

    /// The console's anti-forgery token for a form: an HMAC of what the form is bound to
    /// (a session id, or a pre-session cookie), so only a page this server rendered for
    /// that browser carries it.
    pub fn csrf_token(&self, binding: &str) -> String {
        hex_encode(&hmac_sha256(&self.csrf, binding.as_bytes()))
    }

    /// How a youth worker's second-factor recovery code is stored: keyed, and bound to the
    /// worker, so a stolen database alone cannot be used to test guessed codes.
    pub fn recovery_code_hash(&self, worker_id: &[u8], normalised: &str) -> String {
        let mut data = Vec::with_capacity(worker_id.len() + 1 + normalised.len());
        data.extend_from_slice(worker_id);
        data.push(0);
        data.extend_from_slice(normalised.as_bytes());
        hex_encode(&hmac_sha256(&self.recovery, &data))
    }

    /// Keyed, so a stolen database alone cannot be used to test guessed receipts.
    pub fn receipt_hash(&self, receipt: &Receipt) -> String {
        self.hash_normalised(receipt.as_normalised())
    }

    /// Same work as `receipt_hash`, so a malformed receipt is not faster to reject.
    pub fn dummy_receipt_hash(&self) -> String {
        self.hash_normalised(DUMMY_RECEIPT)
    }

    fn hash_normalised(&self, normalised: &str) -> String {
        hex_encode(&hmac_sha256(&self.receipt, normalised.as_bytes()))
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(redacted)")
    }
}

/// XChaCha20-Poly1305 with a fresh random nonce (192 bits, so random nonces never
/// collide in practice). `aad` binds the ciphertext to its context, e.g. a row id and
/// column, so a sealed value cannot be moved to another row.
fn seal_with(key: &[u8; 32], plaintext: &str, aad: &[u8]) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.into());
    let payload = Payload {
        msg: plaintext.as_bytes(),
        aad,
    };
    // Encryption fails only for messages over ~256 GiB.
    let ct = cipher
        .encrypt(&XNonce::from(nonce), payload)
        .unwrap_or_else(|_| unrecoverable("XChaCha20-Poly1305 encryption failed"));
    let mut blob = Vec::with_capacity(NONCE_LEN + ct.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ct);
    format!("{PREFIX}{}", STANDARD.encode(blob))
}

fn open_with(key: &[u8; 32], sealed: &str, aad: &[u8]) -> Result<String, SealError> {
    let b64 = sealed.strip_prefix(PREFIX).ok_or(SealError::Format)?;
    let blob = STANDARD.decode(b64).map_err(|_| SealError::Format)?;
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Format);
    }
    let (nonce, ct) = blob.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Format)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let pt = cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad })
        .map_err(|_| SealError::Decrypt)?;
    // Authentic but not UTF-8 can only mean it was not sealed by `seal`.
    String::from_utf8(pt).map_err(|_| SealError::Format)
}

fn parse_env_key(value: &str) -> Option<[u8; 32]> {
    let value = value.trim();
    if let Some(key) = hex_decode_32(value) {
        return Some(key);
    }
    STANDARD.decode(value).ok()?.try_into().ok()
}

fn load_or_create_key_file(dir: &Path, path: &Path) -> anyhow::Result<([u8; 32], bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok((parse_key_file(&text, path)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }

    create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut master = [0u8; 32];
    getrandom::fill(&mut master).map_err(|e| anyhow!("OS random number generator failed: {e}"))?;

    // create_new: if another process won a race to create it, use theirs rather than
    // overwriting a key that may already have sealed data.
    let mut file = match open_private_new(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok((parse_key_file(&text, path)?, false));
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(format!("{}\n", hex_encode(&master)).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((master, true))
}

fn parse_key_file(text: &str, path: &Path) -> anyhow::Result<[u8; 32]> {
    let body = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text);
    match hex_decode_32(body) {
        Some(key) => Ok(key),
        // Never include the contents: a near-miss is still mostly key.
        None => bail!(
            "{} must contain exactly 64 hex characters (optionally followed by a newline)",
            path.display()
        ),
    }
}

#[cfg(unix)]
fn open_private_new(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Mode is applied at creation, so the file is never readable by others, even briefly.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private_new(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Only directories created here get 0700; an existing directory is left alone.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> Keys {
        Keys::from_master(&[byte; 32])
    }

    #[test]
    fn seal_open_round_trip() {
        let k = keys(1);
        for text in [
            "",
            "hello",
            "I need help with — ünïcödé 🙂",
            &"x".repeat(10_000),
        ] {
            let sealed = k.seal(text, b"referral:42:body");
            assert!(sealed.starts_with("v1:"));
            assert!(!sealed.contains('\n'));
            assert_eq!(k.open(&sealed, b"referral:42:body").unwrap(), text);
        }
    }

    #[test]
    fn seals_differ() {
        let k = keys(1);
        assert_ne!(k.seal("same", b""), k.seal("same", b""));
    }

    #[test]
    fn tampering_wrong_aad_or_key_fails_to_decrypt() {
        let k = keys(1);
        let sealed = k.seal("secret text", b"aad");
        assert!(matches!(k.open(&sealed, b"other"), Err(SealError::Decrypt)));
        assert!(matches!(
            keys(2).open(&sealed, b"aad"),
            Err(SealError::Decrypt)
        ));

        let mut blob = STANDARD.decode(&sealed[3..]).unwrap();
        for i in [0, NONCE_LEN, blob.len() - 1] {
            blob[i] ^= 1;
            let tampered = format!("v1:{}", STANDARD.encode(&blob));
            assert!(matches!(k.open(&tampered, b"aad"), Err(SealError::Decrypt)));
            blob[i] ^= 1;
        }
    }

    #[test]
    fn malformed_sealed_is_format_error() {
        let k = keys(1);
        let sealed = k.seal("secret text", b"");
        for bad in [
            "",
            "v1:",
            "v2:AAAA",
            "v1:not base64!",
            "v1:AAAA",
            &sealed[3..],
            &sealed.replace("v1:", "V1:"),
        ] {
            assert!(matches!(k.open(bad, b""), Err(SealError::Format)), "{bad}");
        }
        // Error text never includes plaintext.
        let err = k.open(&sealed, b"x").unwrap_err().to_string();
        assert!(!err.contains("secret"));
    }

    #[test]
    fn receipt_hash_is_deterministic_and_keyed() {
        let r = Receipt::parse("ABCD-EFGH-JKMN-PQRS-TVWX").unwrap();
        let h = keys(1).receipt_hash(&r);
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(h, keys(1).receipt_hash(&r));
        let same = Receipt::parse("abcd efgh jkmn pqrs tvwx").unwrap();
        assert_eq!(h, keys(1).receipt_hash(&same));
        assert_ne!(h, keys(2).receipt_hash(&r));
        assert_ne!(h, keys(1).receipt_hash(&Receipt::generate()));
        assert_eq!(keys(1).dummy_receipt_hash().len(), 64);
    }

    #[test]
    fn idempotent_answers_open_only_with_the_same_key_and_scope() {
        let k = keys(7);
        let sealed = k.idempotency_seal("referral", "key-1", "the answer");
        assert_eq!(
            k.idempotency_open("referral", "key-1", &sealed).unwrap(),
            "the answer"
        );
        assert!(k.idempotency_open("referral", "key-2", &sealed).is_err());
        assert!(k.idempotency_open("message:x", "key-1", &sealed).is_err());
        // The ordinary seal key cannot open it either.
        assert!(
            k.open(
                &sealed,
                k.idempotency_lookup("referral", "key-1").as_bytes()
            )
            .is_err()
        );
        assert!(
            keys(8)
                .idempotency_open("referral", "key-1", &sealed)
                .is_err()
        );
        // Lookups are keyed and scoped, and never contain the key.
        let a = k.idempotency_lookup("referral", "key-1");
        assert_ne!(a, k.idempotency_lookup("message:x", "key-1"));
        assert_ne!(a, keys(8).idempotency_lookup("referral", "key-1"));
        assert!(!a.contains("key-1"));
    }

    #[test]
    fn subkeys_are_distinct() {
        let k = keys(7);
        assert_ne!(k.seal, k.receipt);
        assert_ne!(k.seal, [7; 32]);
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", keys(0xab)), "Keys(redacted)");
    }

    #[test]
    fn load_creates_key_file_then_reloads_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("data");
        let (k1, src1) = Keys::load(None, &dir).unwrap();
        let path = dir.join("signpost.key");
        assert_eq!(
            src1,
            KeySource::File {
                path: path.clone(),
                created: true
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let (k2, src2) = Keys::load(None, &dir).unwrap();
        assert_eq!(
            src2,
            KeySource::File {
                path,
                created: false
            }
        );
        let sealed = k1.seal("persisted", b"");
        assert_eq!(k2.open(&sealed, b"").unwrap(), "persisted");
    }

    #[test]
    fn load_rejects_corrupt_key_file_without_echoing_it() {
        let tmp = tempfile::tempdir().unwrap();
        let bad = "deadbeefcafe";
        std::fs::write(tmp.path().join("signpost.key"), bad).unwrap();
        let err = format!("{:#}", Keys::load(None, tmp.path()).unwrap_err());
        assert!(!err.contains(bad), "{err}");
    }

    #[test]
    fn load_from_env_hex_and_base64() {
        let tmp = tempfile::tempdir().unwrap();
        let master = [9u8; 32];
        let hex = hex_encode(&master);
        let b64 = STANDARD.encode(master);
        let (a, src) = Keys::load(Some(&hex), tmp.path()).unwrap();
        assert!(matches!(src, KeySource::Env));
        let (b, _) = Keys::load(Some(&b64), tmp.path()).unwrap();
        let sealed = a.seal("x", b"");
        assert_eq!(b.open(&sealed, b"").unwrap(), "x");
        assert_eq!(
            Keys::from_master(&master)
                .receipt_hash(&Receipt::generate())
                .len(),
            64
        );
        // The env key never touches the filesystem.
        assert!(!tmp.path().join("signpost.key").exists());
    }

    #[test]
    fn load_rejects_bad_env_key_without_echoing_it() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in [
            "not-a-key-s3cr3t-value",
            "abcd1234",
            &"g".repeat(64),
            &STANDARD.encode([1u8; 31]),
            "",
        ] {
            let err = Keys::load(Some(bad), tmp.path()).unwrap_err();
            let msg = format!("{err:#} {err:?}");
            assert!(msg.contains("SIGNPOST_DATA_KEY"), "{msg}");
            if !bad.is_empty() {
                assert!(!msg.contains(bad), "{msg}");
            }
        }
    }
}
