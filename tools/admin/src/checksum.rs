//! Checksums that do not depend on the backend or on row order.
//!
//! A table's checksum is the count of its rows and the sum (mod 2^128) of one SHA-256 prefix
//! per row, each row's values read as text (`NULL` apart from the empty string) in the order
//! of the column list given. The same rows give the same checksum on SQLite and on Postgres,
//! whichever order either returns them in, so a backup can be verified after its restore and
//! a migration against its source.

use sha2::{Digest as _, Sha256};

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Size and SHA-256 of a file, read in the blocking pool.
pub async fn file_sha256(path: &std::path::Path) -> anyhow::Result<(u64, String)> {
    use anyhow::Context as _;
    use std::io::Read as _;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file =
            std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        Ok((size, hex(&h.finalize())))
    })
    .await?
}

/// Sums row digests (see the module's comment).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TableSum {
    pub rows: u64,
    sum: u128,
}

impl TableSum {
    pub fn add_row<'a>(&mut self, values: impl IntoIterator<Item = Option<&'a str>>) {
        let mut h = Sha256::new();
        for v in values {
            match v {
                None => h.update([0u8]),
                Some(s) => {
                    h.update([1u8]);
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
            }
        }
        let digest = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        self.sum = self.sum.wrapping_add(u128::from_le_bytes(first));
        self.rows += 1;
    }

    pub fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_order_does_not_matter_but_every_value_does() {
        let mut a = TableSum::default();
        a.add_row([Some("1"), None]);
        a.add_row([Some("2"), Some("")]);
        let mut b = TableSum::default();
        b.add_row([Some("2"), Some("")]);
        b.add_row([Some("1"), None]);
        assert_eq!(a, b);
        let mut c = TableSum::default();
        c.add_row([Some("1"), Some("")]);
        c.add_row([Some("2"), None]);
        assert_ne!(a.hex(), c.hex());
        let mut d = TableSum::default();
        d.add_row([Some("ab"), Some("c")]);
        let mut e = TableSum::default();
        e.add_row([Some("a"), Some("bc")]);
        assert_ne!(d, e);
    }
}
