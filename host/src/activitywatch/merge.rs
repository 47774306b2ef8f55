//! Heartbeat merging, exactly as ActivityWatch does it (aw-server-rust
//! `aw-transform/src/heartbeat.rs`, MPL-2.0, rules restated here, not copied): a heartbeat
//! extends the bucket's last event when its `data` equals the last event's and
//! `last.timestamp ≤ hb.timestamp ≤ last.end + pulsetime`; the merged event starts at the
//! earlier start and ends at the later end. Otherwise it starts a new event.

use super::event::Event;

/// The merged event, or `None` when `heartbeat` starts a new one. `pulsetime_ns` is the
/// heartbeat's `pulsetime` query parameter in nanoseconds. The merged event keeps `last`'s
/// id and data.
pub fn heartbeat(last: &Event, heartbeat: &Event, pulsetime_ns: i64) -> Option<Event> {
    if heartbeat.data != last.data {
        return None;
    }
    let allowed_end = last.end_ns().saturating_add(pulsetime_ns);
    if last.start_ns > heartbeat.start_ns || heartbeat.start_ns > allowed_end {
        return None;
    }
    let start = last.start_ns.min(heartbeat.start_ns);
    let end = last.end_ns().max(heartbeat.end_ns());
    let duration_ns = end.checked_sub(start).filter(|d| *d >= 0)?;
    Some(Event {
        id: last.id,
        start_ns: start,
        duration_ns,
        data: last.data.clone(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    const S: i64 = 1_000_000_000;
    const NOW: i64 = 1_763_800_000 * S;

    fn ev(at_s: i64, dur_s: i64, data: Value) -> Event {
        let Value::Object(data) = data else {
            unreachable!()
        };
        Event {
            id: None,
            start_ns: NOW + at_s * S,
            duration_ns: dur_s * S,
            data,
        }
    }

    /// The cases of aw-server-rust's `aw-transform/src/heartbeat.rs` tests, one row each:
    /// (last, heartbeat, pulsetime s) → merged (start offset s, duration s) or no merge.
    #[test]
    fn the_cases_of_aw_server_rust() {
        let a = json!({"test": 1});
        let b = json!({"test": 2});
        type Case = (Event, Event, i64, Option<(i64, i64)>);
        let cases: Vec<Case> = vec![
            // test_heartbeat_pulsetime
            (ev(0, 1, a.clone()), ev(2, 1, a.clone()), 2, Some((0, 3))),
            (ev(0, 1, a.clone()), ev(2, 1, a.clone()), 0, None),
            // test_heartbeat_long_pulse_merge: aw-client sends no duration
            (
                ev(0, 1, a.clone()),
                ev(120, 0, a.clone()),
                120,
                Some((0, 120)),
            ),
            (ev(0, 1, a.clone()), ev(120, 0, a.clone()), 60, None),
            // test_heartbeat_data
            (ev(0, 0, a.clone()), ev(0, 1, a.clone()), 1, Some((0, 1))),
            (ev(0, 0, a.clone()), ev(0, 1, b.clone()), 1, None),
            // test_heartbeat_same_timestamp, both orders
            (ev(0, 1, a.clone()), ev(0, 0, a.clone()), 1, Some((0, 1))),
            // a heartbeat before the last event's start never merges
            (ev(5, 1, a.clone()), ev(4, 0, a.clone()), 10, None),
            // exactly at end + pulsetime still merges
            (ev(0, 3, a.clone()), ev(5, 0, a.clone()), 2, Some((0, 5))),
            (ev(0, 3, a.clone()), ev(6, 0, a.clone()), 2, None),
        ];
        for (i, (last, hb, pulse, want)) in cases.into_iter().enumerate() {
            let got = heartbeat(&last, &hb, pulse * S)
                .map(|e| ((e.start_ns - NOW) / S, e.duration_ns / S));
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn data_equality_ignores_key_order() {
        let mut m1 = Map::new();
        m1.insert("app".into(), json!("Firefox"));
        m1.insert("title".into(), json!("Docs"));
        let mut m2 = Map::new();
        m2.insert("title".into(), json!("Docs"));
        m2.insert("app".into(), json!("Firefox"));
        let last = Event {
            id: Some(7),
            start_ns: NOW,
            duration_ns: 0,
            data: m1,
        };
        let hb = Event {
            id: None,
            start_ns: NOW + S,
            duration_ns: 0,
            data: m2,
        };
        let merged = heartbeat(&last, &hb, 2 * S).expect("merges");
        assert_eq!((merged.id, merged.duration_ns), (Some(7), S));
    }
}
