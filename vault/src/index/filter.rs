//! The in-memory filter in front of the index: a scalable, cache-blocked Bloom filter.
//!
//! Each layer is a blocked Bloom filter (Putze, Sanders, Singler, "Cache-, Hash- and
//! Space-Efficient Bloom Filters", 2007): a key sets 7 bits inside one 512-bit block, so a
//! lookup costs one cache miss per layer. Dedup keys are SHA-256 digests, uniformly random,
//! so their own bits pick the block and the bits; nothing is hashed again. When the newest
//! layer reaches its capacity a layer of twice the capacity is added (Almeida et al.,
//! "Scalable Bloom Filters", 2007), so the filter grows with the vault without a rebuild.
//! At 14 bits per key of capacity a full layer answers about 0.3 % of new keys "maybe"; those
//! are settled by the exact tables ([`super::run`]).

/// Bits of filter per key of capacity.
const BITS_PER_KEY: usize = 14;
/// Bits set per key, inside one block.
const PROBES: u32 = 7;
/// Smallest layer, in keys.
const MIN_CAPACITY: usize = 1 << 22;

struct Layer {
    blocks: Vec<[u64; 8]>,
    capacity: usize,
    count: usize,
}

impl Layer {
    /// An empty layer for `capacity` keys, its memory written (not left to the
    /// allocator's lazily zeroed pages): the first keys of a lazily mapped 7 MiB layer
    /// fault a page each, on the vault's writer thread.
    fn new(capacity: usize) -> Self {
        let n = (capacity * BITS_PER_KEY).div_ceil(512).max(1);
        let mut blocks = Vec::with_capacity(n);
        blocks.resize(n, [0; 8]);
        Self {
            blocks,
            capacity,
            count: 0,
        }
    }

    /// The block (from the key's high 64 bits, by multiply-shift range reduction) and the
    /// seven 9-bit probe positions (from its low 64 bits).
    fn probes(&self, key: u128) -> (usize, impl Iterator<Item = (usize, u64)> + use<>) {
        let hi = (key >> 64) as u64;
        let block = ((u128::from(hi) * self.blocks.len() as u128) >> 64) as usize;
        let lo = key as u64;
        let bits = (0..PROBES).map(move |i| {
            let bit = (lo >> (i * 9)) & 511;
            ((bit >> 6) as usize, 1u64 << (bit & 63))
        });
        (block, bits)
    }

    fn insert(&mut self, key: u128) {
        let (block, bits) = self.probes(key);
        let b = &mut self.blocks[block];
        for (word, mask) in bits {
            b[word] |= mask;
        }
        self.count += 1;
    }

    fn may_contain(&self, key: u128) -> bool {
        let (block, mut bits) = self.probes(key);
        let b = &self.blocks[block];
        bits.all(|(word, mask)| b[word] & mask != 0)
    }
}

/// A filter that answers "certainly not held" or "maybe held".
pub struct Filter {
    layers: Vec<Layer>,
    /// The next layer, made on a thread of its own once the newest is 7/8 full, so adding
    /// it does not stop the writer for the tens of milliseconds writing 14 MiB or more takes.
    next: Option<std::thread::JoinHandle<Layer>>,
}

impl Filter {
    /// A filter sized for `expected` keys (at least about four million: 7 MiB).
    pub fn with_capacity(expected: usize) -> Self {
        Self {
            layers: vec![Layer::new(expected.max(MIN_CAPACITY))],
            next: None,
        }
    }

    /// Adds a key (a dedup key's first 128 bits).
    pub fn insert(&mut self, key: u128) {
        let capacity = self.layers.last().map_or(MIN_CAPACITY, |l| l.capacity * 2);
        if self.next.is_none()
            && self
                .layers
                .last()
                .is_some_and(|l| l.count >= l.capacity / 8 * 7)
        {
            self.next = std::thread::Builder::new()
                .name("index-filter".into())
                .spawn(move || Layer::new(capacity))
                .ok();
        }
        let full = self.layers.last().is_none_or(|l| l.count >= l.capacity);
        if full {
            let layer = match self.next.take() {
                Some(made) => made.join().unwrap_or_else(|_| Layer::new(capacity)),
                None => Layer::new(capacity),
            };
            self.layers.push(layer);
        }
        if let Some(layer) = self.layers.last_mut() {
            layer.insert(key);
        }
    }

    /// False when the key was certainly never inserted.
    pub fn may_contain(&self, key: u128) -> bool {
        self.layers.iter().any(|l| l.may_contain(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> u128 {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 17);
        (u128::from(h.wrapping_mul(0xBF58_476D_1CE4_E5B9)) << 64) | u128::from(h.rotate_left(29))
    }

    #[test]
    fn inserted_keys_are_always_found_and_the_filter_grows() {
        let mut f = Filter::with_capacity(0);
        for i in 0..5_000_000 {
            f.insert(key(i));
        }
        assert!((0..5_000_000).all(|i| f.may_contain(key(i))));
        assert_eq!(f.layers.len(), 2);
        let false_hits = (20_000_000..20_100_000)
            .filter(|&i| f.may_contain(key(i)))
            .count();
        assert!(false_hits < 4_000, "{false_hits} false hits in 100,000");
    }
}
