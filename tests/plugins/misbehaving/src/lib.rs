//! One component, fourteen behaviours (`mode` in its config; each drop-in folder's
//! plugin.json sets the default):
//!
//! - `good`: emits one braindump event per pass, numbered by a state counter;
//! - `loop`: never returns from `capture`;
//! - `memory`: allocates until its memory limit stops it;
//! - `trap`: panics in `capture`;
//! - `big-emit`: emits one 100 MB event;
//! - `undeclared`: emits a `music` event while declaring only `braindump`;
//! - `escape`: tries to read outside its preopens, the environment and the network, and
//!   emits `ESCAPED: …` for anything that worked;
//! - `sleep`: sleeps an hour in `capture` (blocked in a WASI call, not computing);
//! - `fifo`: reads `/input/0/fifo`, a named pipe no one writes (blocked in the host);
//! - `log-flood`: logs 10,000 lines, then emits one event;
//! - `stdout-flood`: prints 200 KB to stdout, then emits one event;
//! - `state-flood`: writes 1 KB values into ever new namespaces until the host refuses;
//! - `bench`: emits `count` new `audio_system` events (the benchmark's emit path);
//! - `screen-spin`: calls `active-window` and then `read-active-window` until the host
//!   refuses (asking for monitor 99 in between), and emits one event saying what the host answered.

use openclone_guest::prelude::*;

/// The test component.
pub struct Misbehaving;

const NOW: f64 = 1_708_258_800.0;

/// Spins on the screen until the host refuses: how many metadata calls and reads went
/// through, what stopped them, and what monitor 99 answered.
fn screen_spin(ctx: &mut Ctx) -> String {
    let spin = |ctx: &mut Ctx, read: bool| {
        let mut n = 0u32;
        loop {
            let r = if read {
                ctx.read_screen(openclone_guest::screen::Target::ActiveWindow)
                    .map(drop)
            } else {
                ctx.active_window().map(drop)
            };
            match r {
                Ok(()) => n += 1,
                Err(e) => return format!("{n} then {e}"),
            }
            if n > 100_000 {
                return format!("{n} and never refused");
            }
        }
    };
    let calls = spin(ctx, false);
    let monitor = match ctx.read_screen(openclone_guest::screen::Target::Monitor(99)) {
        Ok(_) => "read".to_owned(),
        Err(e) => e.to_string(),
    };
    let reads = spin(ctx, true);
    format!("metadata: {calls}; reads: {reads}; monitor 99: {monitor}")
}

fn escape_attempts(ctx: &mut Ctx) -> Vec<String> {
    let mut escaped = Vec::new();
    for path in [
        "/etc/passwd",
        "/input/0/../../etc/passwd",
        "../etc/passwd",
        "/",
        ".",
        "/proc/self/environ",
    ] {
        if let Ok(entries) = std::fs::read_dir(path) {
            escaped.push(format!("listed {path} ({} entries)", entries.count()));
        }
        if let Ok(text) = std::fs::read_to_string(path) {
            escaped.push(format!("read {path} ({} bytes)", text.len()));
        }
    }
    for dir in ctx.inputs() {
        let target = dir.join("written-by-plugin.txt");
        if std::fs::write(&target, "x").is_ok() {
            escaped.push(format!("wrote {}", target.display()));
        }
    }
    if let Some((k, _)) = std::env::vars().next() {
        escaped.push(format!("saw environment variable {k}"));
    }
    let port: u16 = ctx.config_or("port", 80).unwrap_or(80);
    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        escaped.push(format!("connected to 127.0.0.1:{port}"));
    }
    escaped
}

impl Plugin for Misbehaving {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Braindump];
    const ID_FROM_CONFIG: Option<&'static str> = Some("plugin_id");

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let mode: String = ctx.config_or("mode", "good".to_owned())?;
        match mode.as_str() {
            "good" => {
                let n: u64 = ctx.state("counter").get("passes")?.unwrap_or(0) + 1;
                ctx.state("counter").set("passes", &n)?;
                ctx.emit(
                    Braindump {
                        text: format!("well-behaved pass {n}"),
                    }
                    .at(NOW + n as f64)
                    .raw_ref(format!("pass-{n}")),
                )?;
                println!("well-behaved plugin finished pass {n}");
            }
            "screen-spin" => {
                let text = screen_spin(ctx);
                ctx.emit(Braindump { text }.at(NOW).raw_ref("screen-spin"))?;
            }
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 8 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("deliberate panic in capture"),
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(3600)),
            "log-flood" | "stdout-flood" => {
                for i in 0..10_000 {
                    if mode == "log-flood" {
                        ctx.log(Level::Info, &format!("flood line {i}"));
                    } else if i < 2_000 {
                        println!("{i:>99}");
                    }
                }
                ctx.emit(
                    Braindump {
                        text: format!("{mode} survived"),
                    }
                    .at(NOW)
                    .raw_ref(mode.clone()),
                )?;
            }
            "state-flood" => {
                let value = "x".repeat(1024);
                for i in 0..100_000 {
                    ctx.state(&format!("ns-{i}")).set("k", &value)?;
                }
            }
            "fifo" => {
                let text = std::fs::read_to_string("/input/0/fifo").unwrap_or_default();
                println!("read {} bytes from the fifo", text.len());
            }
            "big-emit" => {
                ctx.emit(
                    Braindump {
                        text: "x".repeat(100 << 20),
                    }
                    .at(NOW)
                    .raw_ref("big"),
                )?;
            }
            "undeclared" => {
                ctx.emit(
                    Music {
                        track: "Not allowed".into(),
                        ..Default::default()
                    }
                    .at(NOW)
                    .raw_ref("undeclared"),
                )?;
            }
            "escape" => {
                for line in escape_attempts(ctx) {
                    ctx.emit(
                        Braindump {
                            text: format!("ESCAPED: {line}"),
                        }
                        .at(NOW)
                        .raw_ref(line),
                    )?;
                }
                ctx.emit(
                    Braindump {
                        text: "escape attempts done".into(),
                    }
                    .at(NOW)
                    .raw_ref("escape-done"),
                )?;
            }
            "bench" => {
                let count: u64 = ctx.config_or("count", 10_000)?;
                let run: u64 = ctx.state("counter").get("runs")?.unwrap_or(0) + 1;
                ctx.state("counter").set("runs", &run)?;
                for i in 0..count {
                    let e = AudioSystem {
                        text: format!(
                            "We discussed the product roadmap for Q2, item {i} of run {run}."
                        ),
                        duration: Some(60.0),
                        app_name: Some("Google Meet".into()),
                        confidence: Some(0.95),
                    };
                    ctx.emit(e.at(NOW + (i * 7) as f64).raw_ref(format!("r{run}-e{i}")))?;
                }
            }
            other => return Err(Error::Config(format!("unknown mode {other:?}"))),
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(Misbehaving);
