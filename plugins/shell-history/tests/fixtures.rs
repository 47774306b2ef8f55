//! shell-history on zsh, bash and fish samples, through the native harness.

use openclone_guest::testing::Harness;
use shell_history::ShellHistory;

fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/shell")
}

#[test]
fn commands_of_all_three_shells() -> openclone_guest::Result<()> {
    let mut host = Harness::new().input(samples());
    let report = host.capture::<ShellHistory>()?;
    assert_eq!(
        report.stored,
        10,
        "5 zsh + 3 bash + 2 fish: {:?}",
        host.events()
    );
    let events = host.events();
    let by_text = |t: &str| {
        events
            .iter()
            .find(|e| e.data["text"].as_str().is_some_and(|x| x.starts_with(t)))
            .unwrap_or_else(|| panic!("{t}"))
    };
    let build = by_text("cargo build");
    assert_eq!(
        (
            build.data["app_name"].clone(),
            build.data["duration"].clone(),
            build.timestamp
        ),
        ("cargo".into(), 42.0.into(), 1_718_000_012.0)
    );
    assert_eq!(by_text("sudo systemctl").data["app_name"], "systemctl");
    assert_eq!(
        by_text("git commit").data["text"],
        "git commit -m \"first \n  draft\""
    );
    assert_eq!(by_text("FOO=1 python3").data["app_name"], "python3");
    assert_eq!(by_text("cargo test").data["shell"], "fish");
    assert!(events.iter().all(|e| e.data["category"] == "shell"));
    assert_eq!(host.capture::<ShellHistory>()?.emitted, 0);
    Ok(())
}

#[test]
fn only_appended_commands_are_emitted() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("shell-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let hist = dir.join(".zsh_history");
    std::fs::write(&hist, ": 1718000000:0;ls\n")?;
    let mut host = Harness::new().input(&dir);
    assert_eq!(host.capture::<ShellHistory>()?.stored, 1);
    std::fs::write(&hist, ": 1718000000:0;ls\n: 1718000050:2;make test\n")?;
    let second = host.capture::<ShellHistory>()?;
    std::fs::write(dir.join("random.history"), "just some words\n")?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(
        (second.emitted, second.stored),
        (1, 1),
        "exactly the new command"
    );
    Ok(())
}
