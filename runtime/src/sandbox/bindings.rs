//! Host bindings of the `openclone:capture` world (`wit/capture.wit`).
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "capture-plugin",
    // The exports are called as futures, so a pass can be abandoned at its deadline while
    // the guest waits in an async WASI call. The host's own imports stay sync.
    exports: { default: async },
});

pub use openclone::capture::types::{EmitError, Event, FieldError, Receipt, SourceType};

/// The vault's source type for a WIT one.
pub fn source_type(s: SourceType) -> openclone_vault::SourceType {
    use openclone_vault::SourceType as V;
    match s {
        SourceType::AudioSystem => V::AudioSystem,
        SourceType::AudioMic => V::AudioMic,
        SourceType::ScreenOcr => V::ScreenOcr,
        SourceType::Journal => V::Journal,
        SourceType::WebBrowsing => V::WebBrowsing,
        SourceType::Music => V::Music,
        SourceType::Health => V::Health,
        SourceType::Calendar => V::Calendar,
        SourceType::Notes => V::Notes,
        SourceType::Gps => V::Gps,
        SourceType::Photos => V::Photos,
        SourceType::Email => V::Email,
        SourceType::Messaging => V::Messaging,
        SourceType::Activity => V::Activity,
        SourceType::Braindump => V::Braindump,
    }
}
