//! A component of a future `openclone:capture@1.0.0` world (its own copy of the WIT with the
//! version bumped): the host must refuse it by name instead of failing to link.
//!
//! It uses wit-bindgen directly (the SDK speaks only the current version), whose export
//! glue is `unsafe` code expanded here.
#![allow(unsafe_code)]

#[allow(missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "capture-plugin" });
}

use bindings::openclone::capture::types::{CaptureReport, PluginInfo, SourceType};

/// The component.
pub struct FutureWorld;

impl bindings::Guest for FutureWorld {
    fn describe() -> PluginInfo {
        PluginInfo {
            id: "future-world".into(),
            version: "0.1.0".into(),
            source_types: vec![SourceType::Braindump],
        }
    }

    fn init() -> Result<(), String> {
        Ok(())
    }

    fn capture() -> Result<CaptureReport, String> {
        bindings::openclone::capture::log::log(
            bindings::openclone::capture::log::Level::Info,
            "future world",
        );
        Ok(CaptureReport {
            emitted: 0,
            stored: 0,
            skipped: 0,
            problems: Vec::new(),
        })
    }
}

bindings::export!(FutureWorld with_types_in bindings);
