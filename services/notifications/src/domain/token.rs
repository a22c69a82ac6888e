//! Signed tokens for links in mail: one-click unsubscribe (a user and a kind). HMAC-SHA256
//! under `NOTIFY_SIGNING_KEY`, truncated to 128 bits, compared in constant time; a token
//! says what it is for (`purpose`), so one kind of token never passes as another.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::Kind;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer([redacted])")
    }
}

impl Signer {
    pub fn new(key: &str) -> Self {
        Self {
            key: key.as_bytes().to_vec(),
        }
    }

    fn mac(&self, purpose: &str, payload: &str) -> Vec<u8> {
        // A key of any length is accepted by HMAC, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }

    fn sign(&self, purpose: &str, payload: &str) -> String {
        format!(
            "{payload}.{}",
            URL_SAFE_NO_PAD.encode(self.mac(purpose, payload))
        )
    }

    fn verify<'a>(&self, purpose: &str, token: &'a str) -> Option<&'a str> {
        let (payload, sig) = token.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let want = self.mac(purpose, payload);
        let diff = (sig.len() ^ want.len())
            | sig
                .iter()
                .zip(&want)
                .fold(0usize, |acc, (a, b)| acc | usize::from(a ^ b));
        (diff == 0).then_some(payload)
    }

    /// The token of a one-click unsubscribe link: this user, this kind of mail.
    pub fn unsubscribe(&self, user: Uuid, kind: Kind) -> String {
        self.sign(
            "unsubscribe",
            &format!("{}.{}", user.simple(), kind.as_str()),
        )
    }

    pub fn verify_unsubscribe(&self, token: &str) -> Option<(Uuid, Kind)> {
        let payload = self.verify("unsubscribe", token)?;
        let (user, kind) = payload.split_once('.')?;
        Some((Uuid::parse_str(user).ok()?, Kind::parse(kind)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsubscribe_token_round_trips_and_a_changed_byte_or_key_fails() {
        let s = Signer::new("k".repeat(32).as_str());
        let user = Uuid::now_v7();
        let t = s.unsubscribe(user, Kind::Reply);
        assert_eq!(s.verify_unsubscribe(&t), Some((user, Kind::Reply)));
        let forged = t.replacen("reply", "resolved", 1);
        assert_eq!(s.verify_unsubscribe(&forged), None);
        assert_eq!(Signer::new(&"x".repeat(32)).verify_unsubscribe(&t), None);
        assert_eq!(s.verify_unsubscribe("garbage"), None);
        assert_eq!(s.verify_unsubscribe(""), None);
    }
}
