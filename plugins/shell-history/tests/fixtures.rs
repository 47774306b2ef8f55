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

#[test]
fn commands_without_a_recorded_time_are_counted_not_stored() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("shell-untimed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // A bash history written without HISTTIMEFORMAT, then two commands with it.
    std::fs::write(
        dir.join(".bash_history"),
        "ls -la\ncd ~/src\ngit status\n#1717999200\ncargo test\n#1717999260\ngit push\n",
    )?;
    let mut host = Harness::new().input(&dir);
    let report = host.capture::<ShellHistory>()?;
    std::fs::remove_dir_all(&dir)?;
    let times: Vec<f64> = host.events().iter().map(|e| e.timestamp).collect();
    assert_eq!(
        times,
        [1_717_999_200.0, 1_717_999_260.0],
        "only the timed ones"
    );
    assert_eq!(
        report.problems,
        [
            ".bash_history: 3 command(s) without a recorded time not stored: turn on the shell's timestamps (export HISTTIMEFORMAT='%F %T ')"
        ]
    );
    Ok(())
}
