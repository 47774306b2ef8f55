//! What `openclone doctor` says about the screen: can the display be read, is the OCR
//! engine there with its language data. Each check is (what, outcome); an error carries
//! the fix.

use std::process::Command;

use crate::{Settings, x11};

/// The Debian packages the OCR engine comes from.
pub const INSTALL: &str = "apt-get install tesseract-ocr tesseract-ocr-eng";

/// (what, Ok(what was found) | Err(what is wrong and the fix)) for the display and the
/// OCR engine.
pub fn run(settings: &Settings) -> Vec<(&'static str, Result<String, String>)> {
    vec![("screen display", display()), ("screen ocr", ocr(settings))]
}

fn display() -> Result<String, String> {
    let x = x11::Display::open().map_err(|e| e.to_string())?;
    let monitors = x.monitors().map_err(|e| e.to_string())?;
    let focused = match x.active_window() {
        Ok(w) => format!("focus on {:?}", w.app),
        Err(e) => e.to_string(),
    };
    Ok(format!(
        "X11 display {} readable: {} monitor(s), {focused}",
        std::env::var("DISPLAY").unwrap_or_default(),
        monitors.len()
    ))
}

fn ocr(settings: &Settings) -> Result<String, String> {
    let program = &settings.ocr.program;
    let version = Command::new(program)
        .arg("--version")
        .output()
        .map_err(|e| {
            format!(
                "{} cannot be started ({e}) — fix: {INSTALL}",
                program.display()
            )
        })?;
    let text = String::from_utf8_lossy(&version.stdout).into_owned()
        + &String::from_utf8_lossy(&version.stderr);
    let first = text.lines().next().unwrap_or("").trim().to_owned();
    let langs = Command::new(program)
        .arg("--list-langs")
        .output()
        .map_err(|e| format!("{} --list-langs failed: {e}", program.display()))?;
    let have: Vec<String> = String::from_utf8_lossy(&langs.stdout)
        .lines()
        .skip(1)
        .map(|l| l.trim().to_owned())
        .collect();
    let missing: Vec<&str> = settings
        .ocr
        .languages
        .split('+')
        .filter(|l| !have.iter().any(|h| h == l))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{first}: no language data for {} — fix: apt-get install {}",
            missing.join(", "),
            missing
                .iter()
                .map(|l| format!("tesseract-ocr-{l}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Ok(format!("{first}, languages {}", settings.ocr.languages))
}
