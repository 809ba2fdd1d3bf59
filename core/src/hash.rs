//! Hashing and comparing ids a word at a time, and the table a run looks ids and names up in
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

/// A map from texts (ids, names) to values, for lookups made once per item: found by
/// [`id_hash`] in an open-addressing table and, in the usual case, one [`same_text`] comparison.
/// Positions are given in first-seen order; lookups never iterate the table, so nothing depends
/// on its order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextMap<K, V> {
    entries: Vec<(K, V)>,
    /// `position + 1` of an entry, 0 for an empty slot; a power of two at least twice the entries.
    slots: Vec<u32>,
}

impl<K, V> Default for TextMap<K, V> {
    fn default() -> Self {
        TextMap {
            entries: Vec::new(),
            slots: Vec::new(),
        }
    }
}

impl<K: AsRef<str>, V> TextMap<K, V> {
    /// The map of `pairs`; a repeated key keeps its last value, as an ordered map's `collect` does.
    pub(crate) fn new(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut map = TextMap::default();
        for (key, value) in pairs {
            map.insert(key, value);
        }
        map
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets the value of `key` (replacing any it had) and gives its position.
    pub(crate) fn insert(&mut self, key: K, value: V) -> usize {
        if let Some(pos) = self.position(key.as_ref()) {
            if let Some(entry) = self.entries.get_mut(pos) {
                entry.1 = value;
            }
            return pos;
        }
        self.entries.push((key, value));
        let pos = self.entries.len() - 1;
        if self.slots.len() < self.entries.len() * 2 {
            let size = (self.entries.len() * 4).next_power_of_two();
            self.slots = vec![0; size];
            for p in 0..self.entries.len() {
                self.place(p);
            }
        } else {
            self.place(pos);
        }
        pos
    }

    fn place(&mut self, pos: usize) {
        let Some((key, _)) = self.entries.get(pos) else {
            return;
        };
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = (id_hash(key.as_ref()) as usize) & mask;
        // The table is at most half full, so an empty slot is always found.
        while let Some(slot) = self.slots.get_mut(i) {
            if *slot == 0 {
                *slot = u32::try_from(pos + 1).unwrap_or(u32::MAX);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Where `key` is, for [`at`](Self::at).
    #[inline]
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = (id_hash(key) as usize) & mask;
        loop {
            let pos = (*self.slots.get(i)? as usize).checked_sub(1)?;
            if self
                .entries
                .get(pos)
                .is_some_and(|(k, _)| same_text(k.as_ref(), key))
            {
                return Some(pos);
            }
            i = (i + 1) & mask;
        }
    }

    /// The value at `pos`.
    #[inline]
    pub(crate) fn at(&self, pos: usize) -> Option<&V> {
        self.entries.get(pos).map(|(_, v)| v)
    }

    /// The value of `key`.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.at(self.position(key)?)
    }
}

#[cfg(test)]
mod tests {
    use super::{TextMap, id_hash, same_text};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #[test]
        fn a_text_map_finds_what_an_ordered_map_finds_with_the_last_value_of_a_repeated_key(
            pairs in prop::collection::vec(("[a-c]{0,3}", any::<u8>()), 0..40),
            probes in prop::collection::vec("[a-c]{0,3}", 0..20),
        ) {
            let map = TextMap::new(pairs.iter().map(|(k, v)| (k.as_str(), *v)));
            let reference: BTreeMap<&str, u8> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            prop_assert_eq!(map.is_empty(), reference.is_empty());
            for probe in pairs.iter().map(|(k, _)| k).chain(&probes) {
                prop_assert_eq!(map.get(probe), reference.get(probe.as_str()));
            }
            // Positions are in first-seen order.
            let mut seen: Vec<&str> = Vec::new();
            for (k, _) in &pairs {
                if !seen.contains(&k.as_str()) {
                    seen.push(k);
                }
            }
            for (pos, k) in seen.iter().enumerate() {
                prop_assert_eq!(map.position(k), Some(pos));
            }
        }

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
