//! The harness refuses exactly what the host refuses, with the same field errors: both run
//! `openclone_vault::validate_events`. Before, the harness took timestamps up to
//! 2100 and a plugin could pass its own tests and be refused by the host.

use openclone_guest::prelude::*;
use openclone_guest::testing::Harness;

struct At;

impl Plugin for At {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Braindump];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let ts: f64 = ctx.config_or("ts", 1_708_258_800.0)?;
        ctx.emit(
            Braindump {
                text: "hello".into(),
            }
            .at(ts)
            .raw_ref("one"),
        )?;
        Ok(())
    }
}

fn host_errors(ts: f64) -> Vec<(String, String)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let event = openclone_vault::RawEvent {
        timestamp: ts,
        data: r#"{"text":"hello"}"#,
        raw_ref: Some("one"),
    };
    openclone_vault::validate_events(&[event], &openclone_vault::Rules::contract(now))
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|f| (f.field, f.message))
        .collect()
}

#[test]
fn what_the_host_refuses_the_harness_refuses_with_the_same_errors() {
    let in_ten_days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
        + 10.0 * 86_400.0;
    for ts in [1_500_000_000.0, in_ten_days] {
        let expected = host_errors(ts);
        assert!(!expected.is_empty(), "the host refuses {ts}");
        match Harness::new().config("ts", ts).capture::<At>() {
            Err(Error::Invalid(fields)) => assert_eq!(fields, expected, "{ts}"),
            other => panic!("{ts}: the harness must refuse as the host does, got {other:?}"),
        }
    }
    let mut ok = Harness::new();
    ok.capture::<At>().expect("a valid event is accepted");
    ok.capture::<At>().expect("and a resend is skipped");
    assert_eq!(ok.events().len(), 1);
}
