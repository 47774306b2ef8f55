//! `[screen]` in openclone.toml: exclusions and the OCR engine (CONTRACT.md, "The screen
//! capability"). Which plugin may use the screen is `[plugins.<id>] screen = true`.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use crate::ocr::Ocr;
use crate::rules::Rules;

/// Longest `ocr_timeout_s` honoured, seconds.
const MAX_OCR_TIMEOUT_S: i64 = 600;

/// A `[screen]` key that breaks a rule.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("openclone.toml: [screen] {key}: {message}")]
pub struct SettingsError {
    /// The key (`exclude_titles[2]`).
    pub key: String,
    /// The rule.
    pub message: String,
}

/// The checked `[screen]` table.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Exclusions: the defaults plus `exclude_apps` and `exclude_titles`.
    pub rules: Rules,
    /// The OCR engine.
    pub ocr: Ocr,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rules: Rules::new(&[], Vec::new()),
            ocr: Ocr {
                program: PathBuf::from("tesseract"),
                languages: "eng".into(),
                timeout: Duration::from_secs(30),
                scale: 2,
            },
        }
    }
}

fn err(key: impl Into<String>, message: impl Into<String>) -> SettingsError {
    SettingsError {
        key: key.into(),
        message: message.into(),
    }
}

fn strings(t: &toml::Table, key: &str) -> Result<Vec<String>, SettingsError> {
    match t.get(key) {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| err(format!("{key}[{i}]"), "must be a string"))
            })
            .collect(),
        Some(_) => Err(err(key, "must be an array of strings")),
    }
}

impl Settings {
    /// Reads `[screen]`: `exclude_apps` (names, added to [`crate::rules::DEFAULT_APPS`]),
    /// `exclude_titles` (regexes, added to [`crate::rules::DEFAULT_TITLES`]), `tesseract`
    /// (program), `ocr_languages` (`eng`, `eng+deu`), `ocr_timeout_s` (1–600, default 30),
    /// `ocr_scale` (1–4, default 2).
    ///
    /// Errors: an unknown key, a value of the wrong type, a regex that does not compile
    /// (named with its index), a number out of range.
    pub fn from_table(t: &toml::Table) -> Result<Self, SettingsError> {
        const KEYS: [&str; 6] = [
            "exclude_apps",
            "exclude_titles",
            "tesseract",
            "ocr_languages",
            "ocr_timeout_s",
            "ocr_scale",
        ];
        if let Some(k) = t.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(err(
                k.as_str(),
                format!("unknown key (known: {})", KEYS.join(", ")),
            ));
        }
        let d = Self::default();
        let apps = strings(t, "exclude_apps")?;
        let titles = strings(t, "exclude_titles")?
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Regex::new(s)
                    .map_err(|e| err(format!("exclude_titles[{i}]"), format!("not a regex: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let text = |key: &str, default: &str| match t.get(key) {
            None => Ok(default.to_owned()),
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(_) => Err(err(key, "must be a non-empty string")),
        };
        let number = |key: &str, default: i64, max: i64| match t.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(n)) if (1..=max).contains(n) => Ok(*n),
            Some(_) => Err(err(key, format!("must be a whole number from 1 to {max}"))),
        };
        let languages = text("ocr_languages", &d.ocr.languages)?;
        if !languages
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '_')
        {
            return Err(err(
                "ocr_languages",
                "must be Tesseract language codes joined by + (eng, eng+deu)",
            ));
        }
        Ok(Self {
            rules: Rules::new(&apps, titles),
            ocr: Ocr {
                program: PathBuf::from(text("tesseract", "tesseract")?),
                languages,
                timeout: Duration::from_secs(number("ocr_timeout_s", 30, MAX_OCR_TIMEOUT_S)? as u64),
                scale: number("ocr_scale", 2, 4)? as u32,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> toml::Table {
        s.parse().expect("toml")
    }

    #[test]
    fn bad_keys_are_named() {
        let e = Settings::from_table(&table("exclude_titles = [\"ok\", \"(\"]"))
            .expect_err("bad regex");
        assert_eq!(e.key, "exclude_titles[1]");
        let e = Settings::from_table(&table("ocr_scale = 9")).expect_err("range");
        assert_eq!(e.key, "ocr_scale");
        let e = Settings::from_table(&table("exclude_app = []")).expect_err("unknown");
        assert_eq!(e.key, "exclude_app");
        let e = Settings::from_table(&table("ocr_languages = \"eng; rm\"")).expect_err("langs");
        assert_eq!(e.key, "ocr_languages");
        let s = Settings::from_table(&table("exclude_apps = [\"Signal\"]\nocr_timeout_s = 5"))
            .expect("good");
        assert_eq!(s.ocr.timeout, Duration::from_secs(5));
    }
}
