"""The golden samples run with the suite too, and the reference platform takes the golden requests."""

from __future__ import annotations

import hashlib
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from run import HERE, run

from refplatform import ReferencePlatform


def test_every_golden_request_and_answer_matches_what_the_agent_builds_and_reads() -> None:
    profiles, tally = run()
    assert tally.failed == [] and profiles == 4 and tally.checks > 150


@pytest.mark.parametrize("file", ["request_yy003.xml", "request_yy018.xml"])
def test_the_reference_platform_takes_a_golden_request_and_refuses_it_with_a_lowercase_sign(file: str) -> None:
    text = (HERE / "sh_soap" / file).read_text(encoding="utf-8")
    call = next(iter(next(iter(ET.fromstring(text.encode())))))
    message = (call[6].text or "").strip()
    sign = hashlib.sha1(message.encode()).hexdigest()
    with ReferencePlatform(apps={"sh-user-1": "sh-password-1"}) as ref:
        ref.seed_delivery("H31010000001", "20261123000833470001", "ZN0000030072075", 600, lot="2012002")
        codes = []
        for s in (sign.upper(), sign):
            body = text.replace("{SHA1-UPPER}", s).replace("<![CDATA[" + (call[6].text or ""), "<![CDATA[" + message)
            resp = httpx.post(f"{ref.url}/services/dispatcher", content=body.encode(),
                              headers={"Content-Type": "text/xml; charset=utf-8"})
            inner = ET.fromstring(next(e for e in ET.fromstring(resp.content).iter() if e.tag == "return").text.encode())
            codes.append(inner.findtext("HEAD/ZTCLJG"))
    assert codes == ["00000", "11005"]
