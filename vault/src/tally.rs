//! The one count of events by outcome, used at every scope: a stored batch (CONTRACT.md's
//! 200 body), a plugin pass, a plugin's life in this process, its last pass on disk, and the
//! `/metrics` rows.

use serde::{Deserialize, Serialize};

/// Events counted by outcome.
///
/// `stored` were appended to the vault; `skipped` were duplicates (already in the vault or
/// earlier in the same batch); `refused` were not stored because the batch broke a rule or
/// could not be written (counted by the ways in that can see a refusal: a plugin's `emit`
/// calls). Serialized flat, as `{"stored":…,"skipped":…}`, with `refused` only when it is
/// not zero, so a batch's receipt keeps CONTRACT.md's shape.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Events newly appended to the vault.
    pub stored: u64,
    /// Events skipped as duplicates.
    pub skipped: u64,
    /// Events (or, for `emit`, calls) refused.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refused: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Tally {
    /// A tally of `stored` new and `skipped` duplicate events.
    pub fn new(stored: u64, skipped: u64) -> Self {
        Self {
            stored,
            skipped,
            refused: 0,
        }
    }

    /// Nothing counted at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::ops::AddAssign for Tally {
    /// Adds each outcome, saturating at `u64::MAX`.
    fn add_assign(&mut self, other: Self) {
        self.stored = self.stored.saturating_add(other.stored);
        self.skipped = self.skipped.saturating_add(other.skipped);
        self.refused = self.refused.saturating_add(other.refused);
    }
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn serializes_flat_and_omits_a_zero_refused() {
        let t = Tally::new(3, 1);
        assert_eq!(
            serde_json::to_string(&t).ok().as_deref(),
            Some(r#"{"stored":3,"skipped":1}"#)
        );
        let back: Tally = serde_json::from_str(r#"{"stored":3,"skipped":1}"#).unwrap_or_default();
        assert_eq!(back, t);
    }

    #[test]
    fn adds_every_outcome() {
        let mut t = Tally::new(1, 2);
        t += Tally {
            stored: 10,
            skipped: 20,
            refused: 1,
        };
        assert_eq!(
            t,
            Tally {
                stored: 11,
                skipped: 22,
                refused: 1
            }
        );
        assert!(!t.is_empty() && Tally::default().is_empty());
    }
}
