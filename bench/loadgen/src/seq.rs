//! Sequence bookkeeping for loss counting: which sequence numbers a receiver saw, which the sender
//! had accepted, and the difference between the two.
//!
//! Publishes run concurrently, so events may legitimately arrive out of order; a "highest seen"
//! counter would misread reordering as loss. A bitset per stream gets both right.

/// A growable set of sequence numbers, one bit each.
#[derive(Debug, Default, Clone)]
pub struct SeqSet {
    words: Vec<u64>,
    len: u64,
}

impl SeqSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `seq`; false if it was already there (a duplicate delivery).
    pub fn insert(&mut self, seq: u64) -> bool {
        let Ok(word) = usize::try_from(seq / 64) else {
            return false;
        };
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let bit = 1u64 << (seq % 64);
        if self.words[word] & bit != 0 {
            return false;
        }
        self.words[word] |= bit;
        self.len += 1;
        true
    }

    #[cfg(test)]
    pub fn contains(&self, seq: u64) -> bool {
        usize::try_from(seq / 64)
            .ok()
            .and_then(|w| self.words.get(w))
            .is_some_and(|word| word & (1u64 << (seq % 64)) != 0)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// How many of `expected`'s members are absent here: the deliveries lost.
    pub fn missing_from(&self, expected: &SeqSet) -> u64 {
        expected
            .words
            .iter()
            .enumerate()
            .map(|(i, want)| {
                let have = self.words.get(i).copied().unwrap_or(0);
                u64::from((want & !have).count_ones())
            })
            .sum()
    }

    /// How many members are not in `expected`: events that arrived although their publish was
    /// reported failed (e.g. an HTTP timeout after the server had already broadcast).
    pub fn extra_beyond(&self, expected: &SeqSet) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, have)| {
                let want = expected.words.get(i).copied().unwrap_or(0);
                u64::from((have & !want).count_ones())
            })
            .sum()
    }
}

/// What one receiver saw on one stream.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub seen: SeqSet,
    pub duplicates: u64,
    /// Deliveries whose sequence number was below one already seen.
    pub reordered: u64,
    max_seen: Option<u64>,
}

impl Received {
    /// Notes a delivery; false if it was a duplicate.
    pub fn record(&mut self, seq: u64) -> bool {
        if !self.seen.insert(seq) {
            self.duplicates += 1;
            return false;
        }
        match self.max_seen {
            Some(max) if seq < max => self.reordered += 1,
            _ => self.max_seen = Some(seq),
        }
        true
    }
}

/// Loss figures summed over every receiver of every stream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LossTally {
    /// Deliveries that should have happened: accepted events × receivers of their stream.
    pub expected: u64,
    /// Distinct expected deliveries that did happen.
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub unexpected: u64,
}

impl LossTally {
    /// Adds one receiver, given the events its stream's sender had accepted.
    pub fn add(&mut self, received: &Received, accepted: &SeqSet) {
        let lost = received.seen.missing_from(accepted);
        self.expected += accepted.len();
        self.delivered += accepted.len() - lost;
        self.lost += lost;
        self.duplicates += received.duplicates;
        self.reordered += received.reordered;
        self.unexpected += received.seen.extra_beyond(accepted);
    }

    pub fn loss_pct(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.lost as f64 * 100.0 / self.expected as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(seqs: &[u64]) -> SeqSet {
        let mut s = SeqSet::new();
        for &q in seqs {
            s.insert(q);
        }
        s
    }

    #[test]
    fn insert_reports_duplicates_and_counts_distinct() {
        let mut s = SeqSet::new();
        assert!(s.insert(0));
        assert!(s.insert(200));
        assert!(!s.insert(200));
        assert_eq!(s.len(), 2);
        assert!(s.contains(200));
        assert!(!s.contains(199));
        assert!(!s.contains(100_000));
    }

    #[test]
    fn missing_counts_gaps_across_words() {
        let expected = set(&(0..130).collect::<Vec<_>>());
        let seen = set(&(0..130)
            .filter(|q| *q != 5 && *q != 64 && *q != 129)
            .collect::<Vec<_>>());
        assert_eq!(seen.missing_from(&expected), 3);
        assert_eq!(expected.missing_from(&seen), 0);
    }

    #[test]
    fn extra_counts_unaccepted_deliveries() {
        let accepted = set(&[0, 1, 2]);
        let seen = set(&[0, 1, 2, 3, 500]);
        assert_eq!(seen.extra_beyond(&accepted), 2);
        assert_eq!(seen.missing_from(&accepted), 0);
    }

    #[test]
    fn reordering_is_not_loss() {
        let mut r = Received::default();
        let fresh: Vec<bool> = [0, 2, 1, 3, 3].iter().map(|q| r.record(*q)).collect();
        assert_eq!(fresh, [true, true, true, true, false]);
        assert_eq!(r.reordered, 1);
        assert_eq!(r.duplicates, 1);
        let mut tally = LossTally::default();
        tally.add(&r, &set(&[0, 1, 2, 3]));
        assert_eq!(tally.lost, 0);
        assert_eq!(tally.delivered, 4);
        assert_eq!(tally.expected, 4);
    }

    #[test]
    fn tally_sums_receivers() {
        let accepted = set(&[0, 1, 2, 3]);
        let mut a = Received::default();
        let mut b = Received::default();
        for q in [0, 1, 2, 3] {
            a.record(q);
        }
        b.record(1);
        let mut tally = LossTally::default();
        tally.add(&a, &accepted);
        tally.add(&b, &accepted);
        assert_eq!(tally.expected, 8);
        assert_eq!(tally.lost, 3);
        assert_eq!(tally.delivered, 5);
        assert!((tally.loss_pct() - 37.5).abs() < 1e-9);
    }
}
