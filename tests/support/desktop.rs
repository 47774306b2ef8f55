//! A real X11 desktop for the screen tests: Xvfb (1280×800, 24-bit) with the openbox
//! window manager, xterm windows showing known text, focus switched with xdotool. Every
//! process is killed when the [`Desktop`] is dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{capture_with, wait_for};

/// Display numbers handed out in this test run (each test its own server).
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A running Xvfb + openbox.
pub struct Desktop {
    /// `:N`.
    pub display: String,
    children: Vec<Child>,
}

/// An xterm window on a [`Desktop`].
pub struct Term {
    /// Its X11 window id (decimal, as xdotool prints it).
    pub id: String,
}

impl Desktop {
    /// Starts Xvfb on a free display and openbox on it. Panics (naming the package) when
    /// Xvfb or openbox is missing: `.ci/run` installs them.
    pub fn start() -> Self {
        let base = 40 + (std::process::id() % 200) * 10;
        for _ in 0..20 {
            let n = base + NEXT.fetch_add(1, Ordering::Relaxed);
            if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let display = format!(":{n}");
            let mut xvfb = Command::new("Xvfb")
                .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb runs (apt-get install xvfb)");
            let socket = format!("/tmp/.X11-unix/X{n}");
            let up = wait_for(10, || {
                Path::new(&socket).exists()
                    && Command::new("xdotool")
                        .arg("getdisplaygeometry")
                        .env("DISPLAY", &display)
                        .stderr(Stdio::null())
                        .output()
                        .is_ok_and(|o| o.status.success())
            });
            if !up {
                let _ = xvfb.kill();
                let _ = xvfb.wait();
                continue;
            }
            let mut desktop = Self {
                display,
                children: vec![xvfb],
            };
            desktop.window_manager(n);
            return desktop;
        }
        panic!("no free X display for Xvfb");
    }

    /// Starts openbox and waits until it manages the screen (it sets
    /// `_NET_SUPPORTING_WM_CHECK` on the root). openbox now and then exits at once with
    /// status 1 and no message when several start together (seen under a loaded test run;
    /// never alone): it is started again, up to three times, before the test fails.
    fn window_manager(&mut self, n: u32) {
        let log = std::env::temp_dir().join(format!("openclone-openbox-{n}.log"));
        let mut last = None;
        for _ in 0..3 {
            let mut wm = Command::new("openbox")
                .env("DISPLAY", &self.display)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).map_or_else(|_| Stdio::null(), Stdio::from))
                .spawn()
                .expect("openbox runs (apt-get install openbox)");
            let mut exited = None;
            let managed = wait_for(20, || {
                exited = wm.try_wait().ok().flatten();
                exited.is_some() || self.root_has("_NET_SUPPORTING_WM_CHECK")
            });
            if managed && exited.is_none() {
                self.children.push(wm);
                return;
            }
            let _ = wm.kill();
            let _ = wm.wait();
            last = exited;
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!(
            "openbox did not manage {} ({last:?}): {}",
            self.display,
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// True if the root window has property `atom` (xprop, from x11-utils).
    fn root_has(&self, atom: &str) -> bool {
        Command::new("xprop")
            .args(["-root", atom])
            .env("DISPLAY", &self.display)
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("window id"))
    }

    /// Runs xdotool; its stdout when it succeeded.
    pub fn xdotool(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .stderr(Stdio::null())
            .output()
            .expect("xdotool runs (apt-get install xdotool)");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Opens an xterm of class `class` titled `title` at (`x`, `y`), `cols`×`rows`
    /// characters of DejaVu Sans Mono 14, showing `text`, and waits until it is mapped and
    /// has focus.
    pub fn xterm(
        &mut self,
        class: &str,
        title: &str,
        at: (u32, u32),
        size: (u32, u32),
        text: &str,
    ) -> Term {
        let geometry = format!("{}x{}+{}+{}", size.0, size.1, at.0, at.1);
        let child = Command::new("xterm")
            .args(["-class", class, "-T", title, "-geometry", &geometry])
            .args([
                "-fa",
                "DejaVu Sans Mono",
                "-fs",
                "14",
                "-bg",
                "white",
                "-fg",
                "black",
            ])
            .args([
                "+sb",
                "-e",
                "sh",
                "-c",
                "printf '%s' \"$SHOWN\"; exec sleep 100000",
            ])
            .env("DISPLAY", &self.display)
            .env("SHOWN", text)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xterm runs (apt-get install xterm)");
        self.children.push(child);
        let mut id = None;
        assert!(
            wait_for(15, || {
                id = self
                    .xdotool(&[
                        "search",
                        "--onlyvisible",
                        "--name",
                        &format!("^{}$", regex_escape(title)),
                    ])
                    .and_then(|s| s.lines().next().map(str::to_owned));
                id.is_some()
            }),
            "xterm {title:?} did not appear"
        );
        let term = Term {
            id: id.unwrap_or_default(),
        };
        self.focus(&term);
        // Let the shell draw its text.
        std::thread::sleep(Duration::from_millis(800));
        term
    }

    /// Gives `term` the focus and waits until the window manager says it has it.
    pub fn focus(&self, term: &Term) {
        assert!(
            wait_for(10, || {
                let _ = self.xdotool(&["windowactivate", &term.id]);
                self.xdotool(&["getactivewindow"]).as_deref() == Some(term.id.as_str())
            }),
            "window {} did not take the focus",
            term.id
        );
    }

    /// Runs `openclone capture ARGS` in `dir` on this display; (success, stdout).
    pub fn capture(&self, dir: &Path, extra: &[&str]) -> (bool, String) {
        capture_with(
            dir,
            extra,
            &[
                ("DISPLAY", Some(self.display.as_str())),
                ("WAYLAND_DISPLAY", None),
            ],
        )
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

impl Drop for Desktop {
    /// Stops every process with SIGTERM (Xvfb then removes its lock file and socket), and
    /// SIGKILL for one still running after 5 s.
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            if !wait_for(5, || c.try_wait().ok().flatten().is_some()) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}
