//! Asking the person at the terminal before something that cannot be undone.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// Prints `question` with ` [y/N] ` and reads the answer from the terminal: `Ok(true)` for
/// `y`/`yes`. Errors: stdin is not a terminal (then `refusal`, which names the flag that
/// confirms without asking), or it cannot be read.
pub fn confirm(question: &str, refusal: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{refusal}");
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
