"""``make platform-conformance``: every request the agent builds against its golden shape, field by
field, and every golden answer read to the right outcome. The goldens and the public source of each
field are in ``tests/conformance/<profile>/``. The last line is JSON: profiles, checks, failed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.upstream import signers
from agent.upstream.profiles import PROFILES, Credentials, Profile
from agent.upstream.soap import parse_xml

HERE = Path(__file__).parent
TOKEN, NONCE = "TOKEN-1", "nonce-1"


class Tally:
    def __init__(self) -> None:
        self.checks = 0
        self.failed: list[str] = []

    def check(self, where: str, expected: Any, actual: Any) -> None:
        self.checks += 1
        if expected != actual:
            self.failed.append(f"{where}: expected {expected!r}, got {actual!r}")


def _flat(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value:
            yield path, {}
        for k, v in value.items():
            yield from _flat(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _flat(v, f"{path}[{i}]")
    else:
        yield path, None if value == "{null}" else value


def _xml_fields(root: ET.Element) -> list[tuple[str, str]]:
    """(path, text) in document order; repeated siblings numbered."""
    out: list[tuple[str, str]] = []

    def walk(elem: ET.Element, path: str) -> None:
        seen: dict[str, int] = {}
        kids = [c for c in elem if isinstance(c.tag, str)]
        if not kids:
            out.append((path, (elem.text or "").strip()))
        for c in kids:
            n = seen[c.tag] = seen.get(c.tag, 0) + 1
            walk(c, f"{path}/{c.tag}[{n}]")

    walk(root, root.tag)
    return out


def _json_request(t: Tally, name: str, profile: Profile, spec: dict[str, Any], case: dict[str, Any]) -> None:
    where = f"{name}: {case['name']}"
    medins, inp = spec["medins_code"], case["input"]
    sign = signers.SIGNERS[profile.signer]
    creds = Credentials(spec["app_key"], spec["secret"].encode(), sign)
    if case["op"] == "confirm":
        data = profile.confirm_data(medins, inp["delivery_id"], inp["quantity"], inp["accepted_at"], {})
    elif case["op"] == "token":
        data = profile.token_data(spec["app_key"], inp["appCode"], inp["authCode"])
    else:
        data = {"updatedSince": inp.get("updatedSince"), "updatedUntil": inp.get("updatedUntil"), "afterId": inp.get("afterId"),
                "pageSize": inp.get("pageSize"), "page": inp.get("page", 1)}
    req = profile.seal(case["op"], data, medins_code=medins, creds=creds, timestamp=spec["timestamp_ms"], nonce=NONCE,
                       token=TOKEN, idem_key=f"confirm:{inp.get('delivery_id')}")
    t.check(f"{where}: method", case["method"], req.method)
    t.check(f"{where}: path", case["path"], req.path)
    seconds = str(int(spec["timestamp_ms"]) // 1000)
    string = profile.string_to_sign(spec["timestamp_ms"], NONCE, req.body)
    fills = {"{hmac-sm3}": signers.hmac_sm3(spec["secret"].encode(), seconds.encode() + b"\n" + req.body),
             "{hmac-sha256}": signers.hmac_sha256(spec["secret"].encode(), string), "{token}": TOKEN, "{nonce}": NONCE}
    for header, golden in case["headers"].items():
        for mark, value in fills.items():
            golden = golden.replace(mark, value)
        t.check(f"{where}: header {header}", golden, req.headers.get(header))
    t.check(f"{where}: no other headers", sorted(case["headers"]), sorted(h for h in req.headers if h != "Content-Type"))
    golden, actual = dict(_flat(case["body"])), dict(_flat(json.loads(req.body)))
    for path, value in golden.items():
        t.check(f"{where}: body {path}", value, actual.get(path, "<missing>"))
    t.check(f"{where}: no other body fields", sorted(golden), sorted(actual))


def _soap_request(t: Tally, name: str, spec: dict[str, Any], case: dict[str, Any]) -> None:
    where = f"{name}: {case['name']}"
    options = {**spec.get("options", {}), **case.get("options", {})}
    if case.get("service"):
        options["soap_service"] = case["service"]
    profile = PROFILES[name].configured(options)
    creds = Credentials(spec["app_key"], spec["secret"].encode(), signers.sha1_of_message)
    inp = case["input"]
    if case["op"] == "confirm":
        data = profile.confirm_data(spec["medins_code"], inp["delivery_id"], inp["quantity"], inp["accepted_at"],
                                    case.get("line", {}))
    else:
        data = {"afterId": inp.get("afterId")}
    req = profile.seal(case["op"], data, medins_code=spec["medins_code"], creds=creds, timestamp="0", nonce="",
                       token=None, idem_key=None)
    golden_call = next(iter(next(iter(ET.fromstring((HERE / name / case["file"]).read_bytes())))))
    call = next(iter(next(iter(parse_xml(req.body)))))
    t.check(f"{where}: operation", golden_call.tag, call.tag)
    t.check(f"{where}: parameter names, unqualified, in order", [c.tag for c in golden_call], [c.tag for c in call])
    for g, a in zip(list(golden_call)[:5], list(call)[:5], strict=False):
        t.check(f"{where}: parameter {g.tag}", (g.text or "").strip(), (a.text or "").strip())
    xml_text = (list(call)[6].text or "")
    t.check(f"{where}: sign = uppercase SHA-1 of the message", hashlib.sha1(xml_text.encode()).hexdigest().upper(),
            list(call)[5].text)
    golden_msg, actual_msg = _xml_fields(ET.fromstring((list(golden_call)[6].text or "").strip().encode())), \
        _xml_fields(parse_xml(xml_text))
    actual = dict(actual_msg)
    for path, value in golden_msg:
        t.check(f"{where}: {path}", value, actual.get(path, "<missing>"))
    t.check(f"{where}: message fields in order, none extra", [p for p, _ in golden_msg], [p for p, _ in actual_msg])


def _answer(t: Tally, name: str, profile: Profile, spec: dict[str, Any], case: dict[str, Any]) -> None:
    where = f"{name}: answer {case['name']}"
    if "file" in case:
        profile = profile.configured({**spec.get("options", {})})
        raw = (HERE / name / case["file"]).read_bytes()
    else:
        raw = json.dumps(case["body"], ensure_ascii=False).encode()
    answer = profile.parse(case["op"], 200, profile.decode(raw))
    t.check(f"{where}: kind", case["kind"], profile.kind(answer.code) or "reject")
    if "code" in case:
        t.check(f"{where}: code", case["code"], answer.code)
    if "message" in case:
        t.check(f"{where}: the platform's own words", case["message"], answer.message)
    if "retry_after_s" in case:
        t.check(f"{where}: wait", case["retry_after_s"], profile.retry_after_s(answer.code))
    if "lines" in case:
        lines = answer.data.get("list") or []
        t.check(f"{where}: lines", case["lines"], len(lines))
        if "more" in case:
            t.check(f"{where}: more", case["more"], answer.data.get("more"))
        if "more_on_page" in case:
            t.check(f"{where}: more after page {case['more_on_page']}", True,
                    case["more_on_page"] < int(answer.data.get("total_pages") or 0))
        line = profile.delivery_line(lines[0]) if lines else {}
        for field, value in case.get("expect_line", {}).items():
            t.check(f"{where}: line {field}", value, line.get(field))


def _nhsa(t: Tally, spec: dict[str, Any]) -> None:
    """The national envelope (agent/upstream/nhsa.py): not a confirmation profile, same golden checks."""
    from datetime import datetime

    from agent.upstream import nhsa

    who = nhsa.Institution(**spec["institution"])
    at = datetime.fromisoformat(spec["at"])
    headers = nhsa.gateway_headers(spec["paasid"], spec["token"], spec["timestamp_s"], spec["nonce"])
    ts = str(spec["timestamp_s"])
    fills = {"{sha256(ts+token+nonce+ts)}": hashlib.sha256((ts + spec["token"] + spec["nonce"] + ts).encode()).hexdigest()}
    for header, golden in spec["headers"].items():
        t.check(f"nhsa: header {header}", fills.get(golden, golden), headers.get(header))
    t.check("nhsa: no other headers", sorted(spec["headers"]), sorted(headers))
    sent = ""
    for case in spec["request"]:
        where = f"nhsa: {case['name']}"
        payload = [nhsa.purchase_line(case["line"])] if "line" in case else {}
        body = nhsa.envelope(case["infno"], payload, who, at, spec["seq"])
        sent = sent or body["msgid"]
        expect = case["expect"]
        t.check(f"{where}: input key", [expect["input_key"]], list(body["input"]))
        for key in ("msgid", "infver", "inf_time"):
            if key in expect:
                t.check(f"{where}: {key}", expect[key], body[key])
        if "fields" in expect:
            t.check(f"{where}: envelope fields in order", expect["fields"], list(body))
            t.check(f"{where}: msgid is 30 characters", 30, len(body["msgid"]))
        if "line_fields" in expect:
            t.check(f"{where}: 3503 line fields", expect["line_fields"], list(body["input"]["purcinfo"][0]))
    for case in spec["answer"]:
        answer = nhsa.read_answer(case["body"], sent)
        t.check(f"nhsa: answer {case['name']}: ok", case["ok"], answer.ok)
        if "message" in case:
            t.check(f"nhsa: answer {case['name']}: the bureau's words", case["message"], answer.message)


def run() -> tuple[int, Tally]:
    t = Tally()
    names = sorted(p.name for p in HERE.iterdir() if (p / "cases.toml").exists())
    for name in names:
        spec = tomllib.loads((HERE / name / "cases.toml").read_text(encoding="utf-8"))
        if name == "nhsa":
            _nhsa(t, spec)
            continue
        profile = PROFILES[name]
        for case in spec.get("request", []):
            if profile.media == "SOAP XML":
                _soap_request(t, name, spec, case)
            else:
                _json_request(t, name, profile, spec, case)
        for case in spec.get("answer", []):
            _answer(t, name, profile, spec, case)
    return len(names), t


def main() -> int:
    profiles, t = run()
    for line in t.failed:
        print(f"FAILED {line}")
    print(json.dumps({"profiles": profiles, "checks": t.checks, "failed": len(t.failed)}))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
