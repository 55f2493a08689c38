//! A file's bytes in pieces of at most [`PIECE`]: how an upload is read off the wire, how
//! it is written (`attachment_chunks`, one row a piece) and how it is served. No step
//! gathers a whole file into one buffer, and the database driver copies one piece at a
//! time, so a 20 MiB upload is in memory once, not twice. Images are the exception: they
//! are decoded, which needs them whole (and their pixels besides, within the decoder's
//! limits).

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::attachment_chunks;
use crate::db::DbConnection;

/// The largest piece: big enough that a 20 MiB file is 20 rows, small enough that the
/// driver's copy of one is nothing.
pub const PIECE: usize = 1024 * 1024;

#[derive(Default)]
pub struct Pieces {
    parts: Vec<Vec<u8>>,
    len: usize,
}

impl Pieces {
    /// Appends `data`, filling the last piece up to [`PIECE`] before starting another.
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let last = match self.parts.last_mut() {
                Some(p) if p.len() < PIECE => p,
                _ => {
                    self.parts.push(Vec::new());
                    self.parts.last_mut().expect("just pushed")
                }
            };
            let n = (PIECE - last.len()).min(data.len());
            // Grow by doubling but never past a piece, so no piece over-allocates.
            if last.capacity() < last.len() + n {
                let want = (last.capacity() * 2).max(last.len() + n).min(PIECE);
                last.reserve_exact(want - last.len());
            }
            last.extend_from_slice(&data[..n]);
            self.len += n;
            data = &data[n..];
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first piece: the whole file, or its first [`PIECE`] bytes (enough to sniff).
    pub fn head(&self) -> &[u8] {
        self.parts.first().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The pieces as slices of at most [`PIECE`] (a buffer from [`From<Vec<u8>>`] is cut).
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.parts.iter().flat_map(|p| p.chunks(PIECE))
    }

    /// One buffer (for decoding an image, or an archive), the pieces freed as they go.
    pub fn into_vec(self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len);
        for p in self.parts {
            all.extend_from_slice(&p);
        }
        all
    }

    /// The pieces themselves, each a buffer that can be sent without copying.
    pub fn into_parts(self) -> Vec<Vec<u8>> {
        self.parts
    }

    /// The hex SHA-256 of all the bytes.
    pub fn sha256(&self) -> String {
        let mut hash = Sha256::new();
        for s in self.slices() {
            hash.update(s);
        }
        hex::encode(hash.finalize())
    }
}

/// The hex SHA-256 of one buffer.
pub fn sha256_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl From<Vec<u8>> for Pieces {
    fn from(v: Vec<u8>) -> Self {
        Pieces {
            len: v.len(),
            parts: if v.is_empty() { Vec::new() } else { vec![v] },
        }
    }
}

/// Writes the pieces of the content `sha256` (inside the caller's transaction).
pub fn write(conn: &mut DbConnection, sha256: &str, pieces: &Pieces) -> QueryResult<()> {
    for (seq, bytes) in pieces.slices().enumerate() {
        diesel::insert_into(attachment_chunks::table)
            .values((
                attachment_chunks::sha256.eq(sha256),
                attachment_chunks::seq.eq(seq as i32),
                attachment_chunks::bytes.eq(bytes),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The content `sha256`, in order (empty when it was purged).
pub fn read(conn: &mut DbConnection, sha256: &str) -> QueryResult<Pieces> {
    let parts: Vec<Vec<u8>> = attachment_chunks::table
        .filter(attachment_chunks::sha256.eq(sha256))
        .order(attachment_chunks::seq)
        .select(attachment_chunks::bytes)
        .load(conn)?;
    Ok(Pieces {
        len: parts.iter().map(Vec::len).sum(),
        parts,
    })
}

pub fn delete(conn: &mut DbConnection, sha256: &str) -> QueryResult<usize> {
    diesel::delete(attachment_chunks::table.filter(attachment_chunks::sha256.eq(sha256)))
        .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_fill_up_to_the_limit_and_keep_every_byte_in_order() {
        let mut p = Pieces::default();
        let data: Vec<u8> = (0..(PIECE * 2 + 300)).map(|i| (i % 251) as u8).collect();
        // Odd-sized writes, as a multipart stream delivers them.
        for chunk in data.chunks(65_537) {
            p.push(chunk);
        }
        assert_eq!(p.len(), data.len());
        let sizes: Vec<usize> = p.slices().map(<[u8]>::len).collect();
        assert_eq!(sizes, vec![PIECE, PIECE, 300]);
        assert!(p.parts.iter().all(|part| part.capacity() <= PIECE));
        assert_eq!(p.sha256(), sha256_of(&data));
        assert_eq!(p.into_vec(), data);
        // A buffer larger than a piece is cut when written.
        let big = Pieces::from(vec![7u8; PIECE + 1]);
        assert_eq!(big.slices().count(), 2);
    }
}
