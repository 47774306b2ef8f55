//! Exclusions (`[screen] exclude_apps`, `exclude_titles`): windows the screen capability
//! never reads. They are checked on window metadata alone, before any pixel is read; the
//! defaults always apply and the user's entries are added to them.

use regex::Regex;

use crate::Window;

/// Applications never read, matched case-insensitively against either part of `WM_CLASS`:
/// password managers and the desktop's secret prompts.
pub const DEFAULT_APPS: &[&str] = &[
    "keepassxc",
    "keepass2",
    "keepass",
    "bitwarden",
    "1password",
    "enpass",
    "lastpass",
    "proton pass",
    "gcr-prompter",
    "gnome-keyring-prompt",
    "seahorse",
    "pinentry",
    "pinentry-gtk-2",
    "pinentry-qt",
    "kwalletmanager5",
    "kwalletd5",
    "ksshaskpass",
    "ssh-askpass",
    "polkit-gnome-authentication-agent-1",
];

/// Window titles never read (regexes, case-insensitive): private and incognito browser
/// windows (Firefox's "Private Browsing", Chromium's "(Incognito)", Edge's "InPrivate")
/// and windows naming a password manager.
pub const DEFAULT_TITLES: &[&str] = &[
    r"(?i)private browsing",
    r"(?i)\bincognito\b",
    r"(?i)\binprivate\b",
    r"(?i)\b(keepassxc|bitwarden|1password)\b",
];

/// The compiled rules.
#[derive(Debug, Clone)]
pub struct Rules {
    apps: Vec<String>,
    titles: Vec<Regex>,
}

impl Rules {
    /// The defaults plus `apps` (names) and `titles` (compiled regexes).
    pub fn new(apps: &[String], titles: Vec<Regex>) -> Self {
        let mut all_apps: Vec<String> = DEFAULT_APPS.iter().map(|a| (*a).to_owned()).collect();
        all_apps.extend(apps.iter().map(|a| a.to_lowercase()));
        let mut all_titles: Vec<Regex> = DEFAULT_TITLES
            .iter()
            .filter_map(|t| Regex::new(t).ok())
            .collect();
        all_titles.extend(titles);
        Self {
            apps: all_apps,
            titles: all_titles,
        }
    }

    /// The rule `w` matches (`exclude_apps: keepassxc`, `exclude_titles: (?i)incognito`).
    pub fn matches(&self, w: &Window) -> Option<String> {
        let class = w.app.to_lowercase();
        let instance = w.instance.to_lowercase();
        if let Some(a) = self.apps.iter().find(|a| **a == class || **a == instance) {
            return Some(format!("exclude_apps: {a}"));
        }
        self.titles
            .iter()
            .find(|t| t.is_match(&w.title))
            .map(|t| format!("exclude_titles: {}", t.as_str()))
    }

    /// Marks `w` excluded (and empties its title) when it matches a rule.
    pub fn apply(&self, w: &mut Window) {
        if let Some(rule) = self.matches(w) {
            w.excluded = Some(rule);
            w.title.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(app: &str, title: &str) -> Window {
        Window {
            app: app.into(),
            instance: app.to_lowercase(),
            title: title.into(),
            ..Window::default()
        }
    }

    #[test]
    fn defaults_and_additions_exclude_by_class_and_title() {
        let r = Rules::new(
            &["Signal".into()],
            vec![Regex::new("(?i)bank").expect("re")],
        );
        let mut w = window("KeePassXC", "Passwords.kdbx - KeePassXC");
        r.apply(&mut w);
        assert_eq!(w.excluded.as_deref(), Some("exclude_apps: keepassxc"));
        assert_eq!(w.title, "");
        assert!(
            r.matches(&window("firefox", "Mozilla Firefox Private Browsing"))
                .is_some()
        );
        assert!(
            r.matches(&window("Chromium", "New Tab - Chromium (Incognito)"))
                .is_some()
        );
        assert!(r.matches(&window("signal", "Signal")).is_some());
        assert!(
            r.matches(&window("firefox", "My Bank — Mozilla Firefox"))
                .is_some()
        );
        assert!(r.matches(&window("XTerm", "Quarterly plan")).is_none());
        assert!(
            r.matches(&window("firefox", "Privately held companies"))
                .is_none()
        );
    }
}
