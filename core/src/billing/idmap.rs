//! A map from ids to values for the lookups a run makes once per item (an item's project, then
//! its task): found by a hash of the id and, in the usual case, one comparison, where an ordered
//! map compared the id with several keys.

use crate::hash::{id_hash, same_text};

/// Ids and their values, with an open-addressing table of positions in `entries`.
pub(super) struct IdMap<'a, V> {
    entries: Vec<(&'a str, V)>,
    /// `position + 1` of an entry, 0 for an empty slot; a power of two at least twice the entries.
    slots: Vec<u32>,
}

impl<'a, V> IdMap<'a, V> {
    /// The map of `pairs`; a repeated id keeps its last value, as an ordered map's `collect` does.
    pub(super) fn new(pairs: impl IntoIterator<Item = (&'a str, V)>) -> IdMap<'a, V> {
        let mut map = IdMap {
            entries: Vec::new(),
            slots: Vec::new(),
        };
        for (id, value) in pairs {
            map.insert(id, value);
        }
        map
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, id: &'a str, value: V) {
        if let Some(pos) = self.position(id) {
            if let Some(entry) = self.entries.get_mut(pos) {
                entry.1 = value;
            }
            return;
        }
        self.entries.push((id, value));
        if self.slots.len() < self.entries.len() * 2 {
            let size = (self.entries.len() * 4).next_power_of_two();
            self.slots = vec![0; size];
            for pos in 0..self.entries.len() {
                self.place(pos);
            }
        } else {
            self.place(self.entries.len() - 1);
        }
    }

    fn place(&mut self, pos: usize) {
        let Some(&(id, _)) = self.entries.get(pos) else {
            return;
        };
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = (id_hash(id) as usize) & mask;
        // The table is at most half full, so an empty slot is always found.
        while let Some(slot) = self.slots.get_mut(i) {
            if *slot == 0 {
                *slot = u32::try_from(pos + 1).unwrap_or(u32::MAX);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Where `id` is, for [`at`](Self::at).
    pub(super) fn position(&self, id: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = (id_hash(id) as usize) & mask;
        loop {
            let pos = (*self.slots.get(i)? as usize).checked_sub(1)?;
            if self
                .entries
                .get(pos)
                .is_some_and(|(key, _)| same_text(key, id))
            {
                return Some(pos);
            }
            i = (i + 1) & mask;
        }
    }

    /// The value at `pos`.
    #[inline]
    pub(super) fn at(&self, pos: usize) -> Option<&V> {
        self.entries.get(pos).map(|(_, v)| v)
    }

    /// The value of `id`.
    #[inline]
    pub(super) fn get(&self, id: &str) -> Option<&V> {
        self.entries.get(self.position(id)?).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #[test]
        fn finds_what_an_ordered_map_finds_with_the_last_value_of_a_repeated_id(
            pairs in prop::collection::vec(("[a-c]{0,3}", any::<u8>()), 0..40),
            probes in prop::collection::vec("[a-c]{0,3}", 0..20),
        ) {
            let map = IdMap::new(pairs.iter().map(|(k, v)| (k.as_str(), *v)));
            let reference: BTreeMap<&str, u8> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            prop_assert_eq!(map.is_empty(), reference.is_empty());
            for probe in pairs.iter().map(|(k, _)| k).chain(&probes) {
                prop_assert_eq!(map.get(probe), reference.get(probe.as_str()));
            }
        }
    }
}
