"""The reference platform's SOAP door (``POST /soap/SendRecv``): the Shanghai-style shape over the same state.

``SendRecv(user, password, org_code, version, msg_type, sign, xml)``: the account is checked
(``01`` when wrong), then ``sign`` against the SHA-1 of ``xml`` (``10`` when it differs), then
the message: ``YY017`` lists delivery lines (配送明细), ``YY018`` / ``YY131`` confirm a drug /
consumable line's acceptance (验收确认). Data refused is ``20``; a line that already holds a final
acceptance is ``20`` with the line result ``21``; the platform failing is ``30``. These codes and
tag names are the agent profile's assumptions (``agent.upstream.soap``), played back, written
here independently so the fake does not share the code it tests.
"""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from typing import Any

from refplatform.state import PlatformState

PATH = "/soap/SendRecv"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "http://tempuri.org/"
PARAMS = ("user", "password", "org_code", "version", "msg_type", "sign", "xml")
# state codes (the JSON doors') -> SOAP status codes
STATUS = {"0": "00", "2001": "20", "2002": "20", "2003": "20", "2004": "20", "3001": "30", "9999": "30"}
# state line fields -> YY017 tags; the product's tags depend on drug or consumable
LINE_TAGS = {"shpId": "PSMXBH", "ordDetlId": "DDMXBH", "ordCode": "DDBH", "manuLotnum": "SCPH",
             "expyEndtime": "YXRQ", "shpCnt": "PSSL", "shppTime": "PSSJ", "delventpCode": "PSQYBM", "updtTime": "GXSJ"}


def _consumable(code: Any) -> bool:
    return isinstance(code, str) and len(code) == 27 and code.startswith("C")


def _parse(text: str) -> ET.Element:
    if "<!DOCTYPE" in text or "<!ENTITY" in text or "\x00" in text:
        raise ValueError("DTDs are refused")
    return ET.fromstring(text)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(elem: ET.Element | None) -> dict[str, str]:
    return {_local(c.tag): (c.text or "").strip() for c in (elem if elem is not None else [])}


def _xml(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def result(code: str, message: str = "", main: dict[str, Any] | None = None,
           lines: list[dict[str, Any]] | None = None) -> bytes:
    """A SendRecvResponse whose SendRecvResult holds ``<XMLDATA><HEAD><ZTCLJG/><CWXX/></HEAD>...``."""
    data = ET.Element("XMLDATA")
    head = ET.SubElement(data, "HEAD")
    ET.SubElement(head, "ZTCLJG").text = code
    ET.SubElement(head, "CWXX").text = message
    if main:
        main_elem = ET.SubElement(data, "MAIN")
        for tag, value in main.items():
            ET.SubElement(main_elem, tag).text = str(value)
    detail = ET.SubElement(data, "DETAIL")
    for line in lines or []:
        struct = ET.SubElement(detail, "STRUCT")
        for tag, value in line.items():
            if value is not None:
                ET.SubElement(struct, tag).text = str(value)
    ET.register_namespace("soap", SOAP_NS)
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    resp = ET.SubElement(ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{SERVICE_NS}}}SendRecvResponse")
    ET.SubElement(resp, f"{{{SERVICE_NS}}}SendRecvResult").text = _xml(data)
    return _xml(env).encode("utf-8")


def fault(text: str) -> bytes:
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    f = ET.SubElement(ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{SOAP_NS}}}Fault")
    ET.SubElement(f, "faultcode").text = "soap:Client"
    ET.SubElement(f, "faultstring").text = text
    return _xml(env).encode("utf-8")


def _line_out(line: dict[str, Any]) -> dict[str, Any]:
    out = {tag: line.get(key) for key, tag in LINE_TAGS.items()}
    drug = not _consumable(line.get("prodCode"))
    out["YPBM" if drug else "HCBM"] = line.get("prodCode")
    out["YPMC" if drug else "HCMC"] = line.get("prodName")
    out["CGLX"] = line.get("purcType") or "2"
    return out


def handle(state: PlatformState, body: bytes, seen: dict[str, int] | None = None) -> tuple[int, bytes, str]:
    """(HTTP status, answer, status code) for one SendRecv request; ``seen`` counts message types."""
    try:
        env = _parse(body.decode("utf-8"))
        call = next(c for b in env if _local(b.tag) == "Body" for c in b if _local(c.tag) == "SendRecv")
        params = _kids(call)
        missing = [p for p in PARAMS if p not in params]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
    except (UnicodeDecodeError, ValueError, ET.ParseError, StopIteration) as exc:
        return 500, fault(f"bad SendRecv request: {type(exc).__name__}"), "fault"
    secret = state.apps.get(params["user"])
    if secret is None or not hmac.compare_digest(secret.encode(), params["password"].encode()):
        return 200, result("01", "用户名或密码错误"), "01"
    xml = params["xml"]
    if not hmac.compare_digest(hashlib.sha1(xml.encode("utf-8")).hexdigest(), params["sign"].lower()):
        return 200, result("10", "签名验证失败（报文SHA-1不符）"), "10"
    try:
        message = _parse(xml)
    except (ValueError, ET.ParseError):
        return 200, result("20", "业务报文格式错误"), "20"
    main, lines = _kids(message.find("MAIN")), [_kids(s) for s in message.iter("STRUCT")]
    medins, msg_type = params["org_code"], params["msg_type"]
    if seen is not None:
        seen[msg_type] = seen.get(msg_type, 0) + 1
    if msg_type == "YY017":
        page = state.list_deliveries(medins, main.get("GXSJQ") or None, main.get("QSMXBH") or None,
                                     int(main.get("MYJLS") or 100))
        return 200, result("00", "成功", {"JLS": len(page["list"]), "HXBZ": "1" if page["more"] else "0"},
                           [_line_out(ln) for ln in page["list"]]), "00"
    if msg_type in ("YY018", "YY131"):
        code, text, detail = _confirm(state, medins, msg_type, lines)
        return 200, result(code, text, {"JLS": len(detail)}, detail), code
    return 200, result("20", f"报文类型{msg_type}不存在"), "20"


def _confirm(state: PlatformState, medins: str, msg_type: str, lines: list[dict[str, str]]) -> tuple[str, str, list[dict[str, Any]]]:
    if len(lines) != 1:
        return "20", "每次确认一条配送明细", []
    ln = lines[0]
    shp = ln.get("PSMXBH", "")
    known = state.deliveries.get((medins, shp))
    if known is not None and _consumable(known.get("prodCode")) != (msg_type == "YY131"):
        return "20", f"配送明细{shp}的产品类别与报文类型{msg_type}不符", [{"PSMXBH": shp, "CLJG": "20"}]
    if ln.get("YSLX") not in ("1", "2"):
        return "20", "验收类型无效", [{"PSMXBH": shp, "CLJG": "20"}]
    try:
        shipped, accepted, rejected = (Decimal(ln.get(t) or "0") for t in ("PSSL", "YSSL", "JSSL"))
    except InvalidOperation:
        return "20", f"配送明细{shp}数量无效", [{"PSMXBH": shp, "CLJG": "20"}]
    if ln.get("PSSL") and accepted + rejected != shipped:
        return "20", f"配送明细{shp}验收数量与拒收数量之和不等于配送数量", [{"PSMXBH": shp, "CLJG": "20"}]
    if ln.get("YSLX") == "1":  # provisional: acknowledged, not an arrival confirmation
        return "00", "成功（暂验）", [{"PSMXBH": shp, "CLJG": "00"}]
    code, text, _ = state.confirm(medins, [{"shpId": shp, "shppCnt": ln.get("YSSL"), "acpTime": ln.get("YSSJ")}], None)
    status = STATUS.get(code, "30")
    line_code = "21" if code == "2003" else status
    return status, text, [{"PSMXBH": shp, "CLJG": line_code}]
