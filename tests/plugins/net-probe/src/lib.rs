//! `net-probe`: a test component for `net-http`. Each pass it GETs every URL of its `urls`
//! setting (plainly, not conditionally) and emits one braindump event per answer, whatever
//! its status: `"<url> <status> <body, trimmed, first 200 characters>"`, with `raw_ref`
//! `<url>#<FNV-1a 64 of the body>`. A URL that fails (denied, unreachable, over the
//! response cap) is logged at warn and listed in the pass's problems; the pass fails, with
//! the first failure's text, only when every URL failed.

use openclone_guest::prelude::*;

/// The test component.
pub struct NetProbe;

/// Characters of the body kept in the event's text.
const BODY_CHARS: usize = 200;

/// FNV-1a, 64 bits: a stable fingerprint of a body for `raw_ref`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Plugin for NetProbe {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Braindump];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let urls: Vec<String> = ctx.config_or("urls", Vec::new())?;
        let mut first_failure = None;
        let mut answered = 0;
        for url in &urls {
            match ctx.http_get(url, &[]) {
                Ok(response) => {
                    let body = String::from_utf8_lossy(&response.body);
                    let head: String = body.trim().chars().take(BODY_CHARS).collect();
                    let text = format!("{url} {} {head}", response.status);
                    let raw_ref = format!("{url}#{:016x}", fnv1a(&response.body));
                    ctx.emit(
                        Braindump { text }
                            .at(openclone_guest::time::now())
                            .raw_ref(raw_ref),
                    )?;
                    answered += 1;
                }
                Err(e) => {
                    let message = e.to_string();
                    ctx.problem(message.clone());
                    first_failure.get_or_insert(message);
                }
            }
        }
        match first_failure {
            Some(message) if answered == 0 => Err(Error::Other(message)),
            _ => Ok(()),
        }
    }
}

openclone_guest::export_plugin!(NetProbe);

#[cfg(test)]
mod tests {
    use super::*;
    use openclone_guest::testing::Harness;

    const OK: &str = "http://127.0.0.1:8080/hello";
    const DOWN: &str = "http://127.0.0.1:8080/down";
    const DENIED: &str = "http://example.org/x";

    #[test]
    fn each_answer_is_one_event_and_each_failure_one_problem() -> Result<()> {
        let mut host = Harness::new()
            .config("urls", [OK, DENIED, DOWN])
            .http(OK, 200, &[], "  hello from the origin\n")
            .http(DOWN, 503, &[], "down");
        let report = host.capture::<NetProbe>()?;
        let texts: Vec<String> = host
            .events()
            .iter()
            .map(|e| e.data["text"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            texts,
            [
                format!("{OK} 200 hello from the origin"),
                format!("{DOWN} 503 down")
            ]
        );
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].contains("HTTP-request-denied"));
        assert!(host.logs()[0].starts_with("warn: http://example.org/x: "));
        assert!(
            host.requests().iter().all(|r| r.headers.is_empty()),
            "plain GETs"
        );
        Ok(())
    }

    #[test]
    fn the_pass_fails_only_when_every_url_failed() {
        let mut host = Harness::new().config("urls", [DENIED, "http://localhost/y"]);
        match host.capture::<NetProbe>() {
            Err(e) => assert!(
                e.to_string()
                    .starts_with(&format!("{DENIED}: the host denied")),
                "{e}"
            ),
            Ok(r) => panic!("expected the pass to fail: {r:?}"),
        }
        assert!(Harness::new().capture::<NetProbe>().is_ok(), "no URLs");
    }

    #[test]
    fn the_text_keeps_200_characters_of_the_body() -> Result<()> {
        let mut host = Harness::new()
            .config("urls", [OK])
            .http(OK, 200, &[], "é".repeat(300));
        host.capture::<NetProbe>()?;
        let text = host.events()[0].data["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(text.chars().count(), OK.len() + 5 + 200);
        Ok(())
    }
}
