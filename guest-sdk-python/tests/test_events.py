"""The typed builders against the Rust SDK's `events.rs`: same types, same field names and
kinds, the same omission rules."""

from __future__ import annotations

import dataclasses
import re
import unittest
from pathlib import Path

import openclone_guest as og
from openclone_guest import jsonwire

RUST_EVENTS = Path(__file__).resolve().parents[2] / "guest-sdk" / "src" / "events.rs"

KINDS = {
    "String": ("text", True),
    "f64": ("number", True),
    "Option<String>": ("text", False),
    "Option<f64>": ("number", False),
    "Vec<String>": ("texts", False),
}


def rust_types() -> dict:
    """`{type name: [(field, kind, required)]}` from the `event_types!` block of events.rs."""
    block = RUST_EVENTS.read_text(encoding="utf-8").split("event_types! {", 1)[1]
    out = {}
    for name, body in re.findall(r"^\s*(\w+) => \w+ \{(.*)\}\s*$", block, re.M):
        body = re.sub(r"/\*\*.*?\*/", "", body)
        fields = [f.strip().split(":", 1) for f in body.split(",") if f.strip()]
        out[name] = [(f.strip(), *KINDS[t.strip()]) for f, t in fields]
    return out


def python_fields(cls: type) -> list:
    out = []
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING
        out.append((f.metadata.get("wire") or f.name, f.metadata["kind"], required))
    return out


class BuildersMatchRust(unittest.TestCase):
    def test_the_same_15_types_fields_and_kinds(self) -> None:
        rust = rust_types()
        self.assertEqual(len(rust), 15)
        for name, fields in rust.items():
            cls = getattr(og, name)
            self.assertEqual(python_fields(cls), fields, name)
            self.assertEqual(cls.SOURCE.name.replace("_", "").lower(), name.lower())

    def test_all_set_gives_every_field_sorted(self) -> None:
        values = {"text": "t", "number": 1, "texts": ["a"]}
        for name, fields in rust_types().items():
            cls = getattr(og, name)
            kwargs = {f.name: values[f.metadata["kind"]] for f in dataclasses.fields(cls)}
            e = cls(**kwargs).at(1708258800)
            self.assertEqual(list(e.data), sorted(f for f, _, _ in fields), name)
            self.assertEqual(e.source, cls.SOURCE)
            self.assertEqual(e.timestamp, 1708258800.0)
            for key, kind, _ in fields:
                want = {"text": "t", "number": 1.0, "texts": ["a"]}[kind]
                self.assertEqual(e.data[key], want, f"{name}.{key}")
                self.assertIs(type(e.data[key]), type(want), f"{name}.{key}")

    def test_unset_options_and_empty_lists_are_left_out_and_text_stays(self) -> None:
        values = {"text": "", "number": 0}
        for name, fields in rust_types().items():
            cls = getattr(og, name)
            kwargs = {
                f.name: values[f.metadata["kind"]]
                for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING
            }
            data = cls(**kwargs).at(1708258800).data
            self.assertEqual(sorted(data), sorted(f for f, _, req in fields if req), name)

    def test_examples_as_json_text(self) -> None:
        cal = og.Calendar(
            title="Team sync",
            start=1708261200,
            end=1708264800.0,
            location="Room 1",
            attendees=["Ann"],
        )
        self.assertEqual(
            jsonwire.dumps(cal.at(1708261200).data),
            '{"attendees":["Ann"],"end":1708264800.0,"location":"Room 1",'
            '"start":1708261200.0,"title":"Team sync"}',
        )
        mail = og.Email(subject="Grüße", from_="ann@example.com").at(1708258800)
        self.assertEqual(jsonwire.dumps(mail.data), '{"from":"ann@example.com","subject":"Grüße"}')
        gps = og.Gps(lat=52.5, lon=13.4, accuracy=float("nan"))
        self.assertEqual(gps.data()["accuracy"], None, "not finite: null, as serde_json")
        self.assertEqual(og.Health().data(), {})

    def test_emit_raw_ref_field_and_new(self) -> None:
        e = og.Braindump(text="x").at(1708258800.5)
        r = e.raw_ref("r1").field("mood", "calm").field("n", [1, {"a": None}])
        self.assertIsNone(e.ref)
        self.assertNotIn("mood", e.data)
        self.assertEqual(r.ref, "r1")
        self.assertEqual(r.data, {"text": "x", "mood": "calm", "n": [1, {"a": None}]})
        self.assertEqual(og.Emit.new(og.SourceType.NOTES, 1, {"a": 1}).data, {"a": 1})
        self.assertEqual(og.Emit.new(og.SourceType.NOTES, 1, [1, 2]).data, {"value": [1, 2]})

    def test_wrong_types_are_named(self) -> None:
        cases = [
            (lambda: og.Journal(text=5).at(1), "Journal.text must be a str"),
            (lambda: og.Gps(lat="52", lon=1).at(1), "Gps.lat must be a number"),
            (lambda: og.Gps(lat=True, lon=1).at(1), "Gps.lat must be a number"),
            (
                lambda: og.Notes(title="t", text="x", tags="a").at(1),
                "Notes.tags must be a list of str",
            ),
            (lambda: og.Calendar(title="t", start=None).at(1), "Calendar.start must be a number"),
        ]
        for build, message in cases:
            with self.assertRaises(TypeError) as cm:
                build()
            self.assertIn(message, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
