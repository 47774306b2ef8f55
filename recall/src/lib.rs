//! Recall: what the vault holds, found again. A tenant's search index is a SQLite database
//! beside its vault (`<data>/state/<tenant>/search.sqlite`): an `entries` table (day, time,
//! source type, folder, plugin, device, title, text, and the vault path and line of each
//! entry) with an FTS5 index over title and text (external content, so the text is kept
//! once).
//!
//! The index is a cache of the vault's daily files, never on the acknowledgement path: the
//! vault's writer hands it the files it has fsynced through a bounded queue ([`feed`]) and
//! never waits; whatever the queue misses, a scan of the vault's files finds ([`sync`]), at
//! start, every few minutes and on `openclone vault reindex`. A missing or damaged index is
//! rebuilt from the files. Both the host's entries and the person's own text in daily files
//! are indexed ([`openclone_vault::read`]).
//!
//! Why SQLite FTS5: rusqlite (with its bundled SQLite, FTS5 compiled in) is already how the
//! host keeps plugin state, so the index adds no engine to the build; figures in
//! BENCHMARKS.md, "Recall".

pub mod feed;
pub mod query;
pub mod rank;
pub mod schema;
pub mod sync;
pub mod words;

pub use feed::Feed;
pub use query::{Hit, Item, Query, QueryError};
pub use schema::{IndexError, open};
