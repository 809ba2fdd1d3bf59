//! Hashing and comparing ids a word at a time, for the tables a run looks ids and names up in
//! (ids are short: a call to the C library's `memcpy` or `memcmp` cost more than the work).

/// The bytes of `tail` (fewer than 8) as a little-endian word, zero-padded, read with at most
/// two loads instead of a copy.
#[inline]
fn tail_word(tail: &[u8]) -> u64 {
    let n = tail.len();
    let u32_at = |at: usize| {
        tail.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
    };
    let byte_at = |at: usize| tail.get(at).map_or(0, |&b| u64::from(b));
    if n >= 4 {
        // Bytes 0-3, then bytes 4..n: the top ones of the 4 bytes ending the tail.
        u32_at(0) | ((u32_at(n - 4) >> (8 * 8usize.saturating_sub(n))) << 32)
    } else {
        byte_at(0) | (byte_at(1) << 8) | (byte_at(2) << 16)
    }
}

/// An 8-byte chunk as a little-endian word.
#[inline]
fn word(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default())
}

/// A 64-bit hash of an id, eight bytes at a time: each word is folded in by a 128-bit multiply.
/// Deterministic; it only groups ids and finds them in tables, never orders output.
#[inline]
pub(crate) fn id_hash(id: &str) -> u64 {
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    const MUL: u64 = 0xbf58_476d_1ce4_e5b9;
    let fold = |a: u64, b: u64| {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    };
    let bytes = id.as_bytes();
    let mut h = SEED ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        h = fold(h ^ word(chunk), MUL);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        h = fold(h ^ tail_word(rest), MUL);
    }
    fold(h, SEED)
}

/// Whether two texts are equal, compared a word at a time.
#[inline]
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        if word(p) != word(q) {
            return false;
        }
    }
    tail_word(x.remainder()) == tail_word(y.remainder())
}

#[cfg(test)]
mod tests {
    use super::{id_hash, same_text};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn texts_are_the_same_exactly_when_equal_and_equal_texts_hash_alike(
            a in "[a-c\\-]{0,20}",
            b in "[a-c\\-]{0,20}",
        ) {
            // Same-length pairs, which reach the word comparison.
            let b = if b.len() % 3 == 0 { a.chars().rev().collect() } else { b };
            prop_assert_eq!(same_text(&a, &b), a == b);
            prop_assert!(same_text(&a, &a));
            if a == b {
                prop_assert_eq!(id_hash(&a), id_hash(&b));
            }
        }
    }

    #[test]
    fn every_pair_of_short_texts_over_two_letters_is_told_apart() {
        let texts: Vec<String> = (0..=9usize)
            .flat_map(|n| {
                (0..1usize << n).map(move |bits| {
                    (0..n)
                        .map(|i| if bits >> i & 1 == 1 { 'b' } else { 'a' })
                        .collect()
                })
            })
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same_text(a, b), a == b, "{a} {b}");
            }
        }
        let hashes: std::collections::BTreeSet<u64> = texts.iter().map(|t| id_hash(t)).collect();
        assert_eq!(hashes.len(), texts.len());
    }

    #[test]
    fn a_tail_is_its_bytes_zero_padded() {
        for n in 0..8 {
            let bytes: Vec<u8> = (1..=n).map(|b| b as u8 * 17).collect();
            let mut padded = [0u8; 8];
            padded[..n].copy_from_slice(&bytes);
            assert_eq!(super::tail_word(&bytes), u64::from_le_bytes(padded));
        }
    }

    #[test]
    fn a_text_and_the_same_text_with_trailing_zero_bytes_differ() {
        assert!(!same_text("ab", "ab\0"));
        assert_ne!(id_hash("ab"), id_hash("ab\0"));
    }
}
