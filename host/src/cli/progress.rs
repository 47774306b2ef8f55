//! Progress for long commands (indicatif): a spinner per plugin pass with its events so
//! far, a spinner while an index is rebuilt; plain lines on stderr when it is not a
//! terminal (logs, CI, pipes).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use openclone_runtime::sandbox::context::PluginContext;
use openclone_runtime::supervisor::Outcome;

fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner with `message` (ticking) on a terminal; elsewhere one plain line.
pub fn spinner(message: &str) -> ProgressBar {
    if !on_terminal() {
        eprintln!("{message} …");
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(message.to_owned());
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// The display of `openclone capture`: one spinner at a time, counting events emitted.
pub struct Passes {
    current: Option<(ProgressBar, Arc<AtomicBool>)>,
}

impl Passes {
    /// No pass running yet.
    pub fn new() -> Self {
        Self { current: None }
    }

    /// A pass of `id` starts; its context's `emitted` counter is shown as it grows.
    pub fn start(&mut self, id: &str, ctx: &Arc<PluginContext>) {
        let pb = spinner(&format!("{id}: capturing"));
        let stop = Arc::new(AtomicBool::new(false));
        if on_terminal() {
            let (pb, ctx, stop, id) = (pb.clone(), ctx.clone(), stop.clone(), id.to_owned());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    pb.set_message(format!(
                        "{id}: {} events emitted",
                        ctx.emitted.load(Ordering::Relaxed)
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        self.current = Some((pb, stop));
    }

    /// The pass ended.
    pub fn finish(&mut self, outcome: &Outcome) {
        if let Some((pb, stop)) = self.current.take() {
            stop.store(true, Ordering::Relaxed);
            pb.finish_and_clear();
        }
        if !on_terminal() {
            match &outcome.result {
                Ok(r) => eprintln!(
                    "{}: done, {} stored, {} skipped",
                    outcome.id, r.tally.stored, r.tally.skipped
                ),
                Err(e) => eprintln!("{}: failed: {e}", outcome.id),
            }
        }
    }
}
