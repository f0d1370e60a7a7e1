//! Bearer tokens: JSON Web Tokens signed with HMAC-SHA256 (`jsonwebtoken`) under a 256-bit
//! random key that the server makes on first start and keeps in the data folder (`token.key`,
//! 64 hex digits, mode 0600). Claims: the user (`sub`), expiry (`exp`), issue time (`iat`) and a
//! random token id (`jti`, for logs). Anyone holding the key can mint tokens: back it up like a
//! password; replacing it invalidates every token issued (decision 0017).

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The key file's name in the data folder.
pub const KEY_FILE: &str = "token.key";

/// Bytes of the signing key (HS256 wants at least the hash's size).
pub const KEY_BYTES: usize = 32;

/// What a token says.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch: the token is refused from this second on.
    pub exp: u64,
    /// When it was issued, seconds since the Unix epoch.
    pub iat: u64,
    /// A random id (32 hex digits), to tell tokens apart in logs.
    pub jti: String,
}

/// The server's signing key.
pub struct TokenKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

fn key_error(path: &Path, detail: impl Into<String>) -> Error {
    Error::TokenKey { path: path.to_owned(), detail: detail.into() }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

impl TokenKey {
    /// The key with this secret.
    pub fn from_secret(secret: &[u8]) -> Result<Self> {
        let signing = |e: jsonwebtoken::errors::Error| Error::Signing(e.to_string());
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is exact: a token for 30 seconds is not good for 90.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        validation.validate_aud = false;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(signing)?,
            decoding: DecodingKey::from_secret(secret).map_err(signing)?,
            validation,
        })
    }

    /// Reads the key at `path`, or makes a new random one there if there is none. The file is
    /// created complete with mode 0600 and linked into place, so a reader never sees half of it
    /// and two processes starting at once end up with the same key.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match fs::read_to_string(path) {
            Ok(text) => return Self::parse(path, &text),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(key_error(path, e.to_string())),
        }
        let mut secret = [0u8; KEY_BYTES];
        getrandom::fill(&mut secret).map_err(|e| key_error(path, e.to_string()))?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| key_error(path, e.to_string()))?;
        let staging = PathBuf::from(format!("{}.{}.new", path.display(), hex(&suffix)));
        let written = (|| {
            let mut file =
                OpenOptions::new().write(true).create_new(true).mode(0o600).open(&staging)?;
            file.write_all(format!("{}\n", hex(&secret)).as_bytes())?;
            file.sync_all()?;
            fs::hard_link(&staging, path)
        })();
        let _ = fs::remove_file(&staging);
        match written {
            Ok(()) => {
                tracing::info!(path = %path.display(), "made a new token signing key");
                Self::from_secret(&secret)
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(path).map_err(|e| key_error(path, e.to_string()))?;
                Self::parse(path, &text)
            }
            Err(e) => Err(key_error(path, e.to_string())),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Self> {
        if let Ok(meta) = fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the token key is readable by other users; run chmod 600 on it"
                );
            }
        }
        match unhex(text.trim()) {
            Some(secret) if secret.len() == KEY_BYTES => Self::from_secret(&secret),
            _ => Err(key_error(path, format!("not a key of {KEY_BYTES} bytes in hex"))),
        }
    }

    /// A token for `user`, valid for `valid_for` from now.
    pub fn issue(&self, user: &str, valid_for: Duration) -> Result<String> {
        let iat = now_secs();
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| Error::Signing(e.to_string()))?;
        let claims = Claims {
            sub: user.to_owned(),
            exp: iat.saturating_add(valid_for.as_secs()),
            iat,
            jti: hex(&id),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Signing(e.to_string()))
    }

    /// The claims of `token` if it was signed with this key and has not expired; `None` for
    /// anything else (the reason is not told to the device).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let claims =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        // The library accepts a token during its `exp` second; refuse it from that second on.
        (claims.exp > now_secs()).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_under_its_key_only_and_until_it_expires() {
        let key = TokenKey::from_secret(&[7; KEY_BYTES]).expect("key");
        let token = key.issue("alice", Duration::from_secs(60)).expect("issue");
        let claims = key.verify(&token).expect("valid");
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.exp, claims.iat + 60);
        assert_eq!(claims.jti.len(), 32);
        let other = TokenKey::from_secret(&[8; KEY_BYTES]).expect("key");
        assert!(other.verify(&token).is_none());
        assert!(key.verify(&key.issue("alice", Duration::ZERO).expect("issue")).is_none());
        assert!(key.verify("not a token").is_none());
        assert!(key.verify("").is_none());
    }

    #[test]
    fn the_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(KEY_FILE);
        let first = TokenKey::load_or_create(&path).expect("create");
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let token = first.issue("bob", Duration::from_secs(60)).expect("issue");
        let again = TokenKey::load_or_create(&path).expect("load");
        assert!(again.verify(&token).is_some());
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1, "no staging file left");
        fs::write(&path, "abcd\n").expect("damage");
        assert!(matches!(TokenKey::load_or_create(&path), Err(Error::TokenKey { .. })));
    }
}
