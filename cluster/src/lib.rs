//! OpenClone beyond one machine (DESIGN.md, "Beyond one machine"; issue 23): the roles of
//! `openclone serve --role frontend|writer` on NATS JetStream.
//!
//! - A **frontend** checks and sanitizes as the single process does, then [`Publisher`]
//!   (an [`openclone_ingest::store::Store`]) publishes each batch to the stream on
//!   `openclone.batch.<tenant>.<partition>` and waits for a writer's answer.
//! - A **writer** ([`writer::run`]) holds partitions by a lease in a JetStream key-value
//!   bucket, opens their tenants' vaults, stores each batch, answers after the vault's
//!   fsync and acknowledges the JetStream message after that.
//!
//! The vault stays the source of truth; a JetStream acknowledgement is transport
//! durability only (Jepsen's NATS 2.12.1 analysis; nats-server #7564).

pub mod check;
pub mod connect;
pub mod lease;
pub mod publish;
pub mod settings;
pub mod wire;
pub mod writer;

pub use publish::Publisher;
pub use settings::NatsSettings;
