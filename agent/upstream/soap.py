"""The Shanghai-style SOAP profile (``sh_soap``, 上海阳光医药采购网 shape): one operation, XML inside.

Every call is the SOAP 1.1 operation ``SendRecv(user, password, org_code, version, msg_type, sign,
xml)``: ``xml`` is the business message (报文) as text, ``sign`` the SHA-1 hex of its UTF-8 bytes,
``user``/``password`` the hospital's platform account (our ``app_key`` and secret), ``org_code``
the 医疗机构代码. There is no access token: the password travels in every request body, so the
client never asks for a token and the password is registered for redaction like any secret.

What the public description gives: the operation and its parameters, ``YY018`` (drug delivery
acceptance) and ``YY131`` (consumables), lines with the delivery detail id, product code, lot,
quantity, accepted and rejected counts, purchase type 2 for 带量 lines, acceptance type 1
provisional / 2 final, status codes ``00`` ok and ``01``/``10``/``20``/``30`` errors. Everything
marked ASSUMED below is our guess, to verify with the province before going live.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.errors import PlatformError
from agent.upstream.profile_base import Answer, Credentials, Profile, Request

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "http://tempuri.org/"  # ASSUMED: the service's target namespace (read it from the WSDL)
VERSION = "1.0"  # ASSUMED: the interface version the hospital's account is registered for

MSG_TYPES = {
    "deliveries": "YY017",  # ASSUMED: the description names no message type for pulling 配送单
    "confirm_drug": "YY018",  # 药品配送验收确认
    "confirm_consumable": "YY131",  # 耗材配送验收确认
}
ACCEPT_FINAL = "2"  # 验收类型: 1 provisional (暂验), 2 final (终验); the agent sends final
VBP_PURCHASE = "2"  # 采购类型 2: 带量采购

# Status codes (状态处理结果) and what the agent does about each. The description only says which
# are errors; the grouping by tens (0x processed, 1x identity, 2x data, 3x platform) is ASSUMED.
CODE_KIND = {
    "01": "auth",  # ASSUMED: user, password or org code not recognised: a person fixes the account
    "10": "auth",  # ASSUMED: sign does not match the message: our build or a proxy altered it, retrying alone won't help
    "20": "reject",  # ASSUMED: the business data was refused (line unknown, counts wrong): quarantine for staff
    "21": "done",  # ASSUMED (a line-level result, not in the description): the line already has a final acceptance
    "30": "busy",  # ASSUMED: platform-side failure: hold the queue and try later
}
ALREADY_FINAL = "21"

# Delivery-line tags (配送明细, YY017 answer) -> our canonical fields. ASSUMED tag names (pinyin initials).
DELIVERY_FIELDS = {
    "delivery_id": "PSMXBH",  # 配送明细编号
    "order_id": "DDMXBH",  # 订单明细编号
    "order_code": "DDBH",  # 订单编号
    "product_code": "YPBM",  # 药品编码 (HCBM 耗材编码 for consumables)
    "product_name": "YPMC",  # 药品名称 (HCMC for consumables)
    "lot": "SCPH",  # 生产批号
    "expiry": "YXRQ",  # 有效日期
    "quantity": "PSSL",  # 配送数量
    "shipped_at": "PSSJ",  # 配送时间
    "distributor_code": "PSQYBM",  # 配送企业编码
    "updated_at": "GXSJ",  # 更新时间
}
CONSUMABLE_TAGS = {"product_code": "HCBM", "product_name": "HCMC"}


def is_consumable(product_code: str | None) -> bool:
    """医保医用耗材代码: 27 characters starting with C; anything else is confirmed as a drug (ASSUMED rule)."""
    return product_code is not None and len(product_code) == 27 and product_code.startswith("C")


def parse_xml(content: bytes | str) -> ET.Element:
    """Parse untrusted XML: UTF-8 only and no DOCTYPE, so no entity can be declared, external or not.

    Without a DTD there are no entity declarations at all (the only entities left are the five
    predefined ones), which rules out external entities and entity-expansion bombs alike. A NUL
    is refused too, so a document cannot pass as UTF-8 here and be read as UTF-16 by the parser.
    """
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    if "\x00" in text or "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("XML with a DOCTYPE, an entity declaration or a NUL is refused")
    try:
        return ET.fromstring(text)  # a str: the declared encoding is not consulted
    except ET.ParseError as exc:
        raise ValueError(f"malformed XML ({exc.position[0]}:{exc.position[1]})") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _fields(elem: ET.Element | None) -> dict[str, str]:
    return {_local(child.tag): (child.text or "").strip() for child in (elem if elem is not None else [])}


def build_message(main: dict[str, Any], lines: list[dict[str, Any]]) -> bytes:
    """A business message ``<XMLDATA><MAIN/><DETAIL><STRUCT/>...</DETAIL></XMLDATA>`` in UTF-8 (ASSUMED layout)."""
    root = ET.Element("XMLDATA")
    _fill(ET.SubElement(root, "MAIN"), main)
    detail = ET.SubElement(root, "DETAIL")
    for line in lines:
        _fill(ET.SubElement(detail, "STRUCT"), line)
    return ('<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")).encode("utf-8")


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    """A value as XML text that survives the trip: no characters XML 1.0 forbids, and no CR, which a
    parser turns into LF (the platform would then hash other bytes than we signed)."""
    return _NOT_XML.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")


def _fill(parent: ET.Element, values: dict[str, Any]) -> None:
    for tag, value in values.items():
        if value is not None:
            ET.SubElement(parent, tag).text = _text(value)


def envelope(params: dict[str, str]) -> bytes:
    """The SOAP 1.1 request: ``<soap:Envelope><soap:Body><SendRecv>`` with one element per parameter."""
    ET.register_namespace("soap", SOAP_NS)
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    call = ET.SubElement(ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{SERVICE_NS}}}SendRecv")
    for name, value in params.items():
        ET.SubElement(call, f"{{{SERVICE_NS}}}{name}").text = value
    return ('<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(env, encoding="unicode")).encode("utf-8")


def _platform_time(iso: str | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` in the time's own zone (ASSUMED format; Shanghai time in practice)."""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S") if iso else None


def _rejected(shipped: Any, accepted: str) -> str | None:
    """拒收数量: shipped minus accepted, never below zero; None when the shipped quantity is unknown."""
    try:
        return str(max(Decimal(str(shipped)) - Decimal(accepted), Decimal(0)))
    except (InvalidOperation, TypeError):
        return None


class ShSoapProfile(Profile):
    name = "sh_soap"
    signer = "sha1"
    supports_reports = False  # the description names no report upload message
    uses_token = False
    ok_code = "00"
    code_kind = CODE_KIND
    media = "SOAP XML"
    fields = DELIVERY_FIELDS
    path = "/soap/SendRecv"  # ASSUMED: the service's path under base_url

    def confirm_data(self, medins_code: str, delivery_id: str, quantity: str, accepted_at: str,
                     line: dict[str, Any] | None = None) -> dict[str, Any]:
        line = line or {}
        code = line.get("product_code")
        consumable = is_consumable(code)
        struct = {
            "PSMXBH": delivery_id,
            "HCBM" if consumable else "YPBM": code,
            "SCPH": line.get("lot"),
            "PSSL": line.get("shipped_quantity"),
            "YSSL": quantity,  # 验收数量
            "JSSL": _rejected(line.get("shipped_quantity"), quantity),  # 拒收数量
            "CGLX": line.get("purchase_type"),  # 采购类型: the platform's own value, when the line carried it
            "YSLX": ACCEPT_FINAL,
            "YSSJ": _platform_time(accepted_at),  # 验收时间
        }
        kind = "confirm_consumable" if consumable else "confirm_drug"
        return {"msg_type": MSG_TYPES[kind], "main": {"YYBM": medins_code, "JLS": 1}, "lines": [struct]}

    def message(self, op: str, data: dict[str, Any], *, medins_code: str) -> tuple[str, bytes]:
        """The message type and the business message, before the account and sign are added."""
        if op == "confirm":
            return data["msg_type"], build_message(data["main"], data["lines"])
        if op == "deliveries":
            main = {"YYBM": medins_code, "GXSJQ": data.get("updatedSince"), "QSMXBH": data.get("afterId"),
                    "MYJLS": data.get("pageSize")}  # ASSUMED: updated since, after this id, page size
            return MSG_TYPES["deliveries"], build_message(main, [])
        raise PlatformError(f"profile sh_soap has no '{op}' message", transient=False)

    def seal(self, op: str, data: dict[str, Any], *, medins_code: str, creds: Credentials, timestamp: str,
             nonce: str, token: str | None, idem_key: str | None) -> Request:
        """The SOAP request; timestamp, nonce, token and idempotency key have no place in this shape."""
        msg_type, xml = self.message(op, data, medins_code=medins_code)
        body = envelope({
            "user": creds.app_key, "password": creds.secret.decode("utf-8"), "org_code": medins_code,
            "version": VERSION, "msg_type": msg_type, "sign": creds.sign(creds.secret, xml), "xml": xml.decode("utf-8"),
        })
        headers = {"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml", "SOAPAction": f'"{SERVICE_NS}SendRecv"'}
        return Request("POST", self.path, body, headers)

    def decode(self, content: bytes) -> Any:
        """``{"fault": text}`` for a SOAP fault, else the result message's head, main and lines."""
        env = parse_xml(content)
        body = next((c for c in env if _local(c.tag) == "Body"), None)
        answer = next(iter(body), None) if body is not None else None
        if answer is None:
            raise ValueError("a SOAP envelope without a body")
        if _local(answer.tag) == "Fault":
            return {"fault": _fields(answer).get("faultstring", "")}
        result = next((c for c in answer.iter() if _local(c.tag) == "SendRecvResult"), None)
        if result is None or not (result.text or "").strip():
            raise ValueError("a SendRecv answer without SendRecvResult")
        message = parse_xml((result.text or "").strip())
        detail = message.find("DETAIL")
        return {"head": _fields(message.find("HEAD")), "main": _fields(message.find("MAIN")),
                "lines": [_fields(s) for s in (detail if detail is not None else [])]}

    def parse(self, op: str, status: int, body: Any) -> Answer:
        if not isinstance(body, dict) or "head" not in body:
            fault = body.get("fault") if isinstance(body, dict) else None
            return Answer("30", f"SOAP fault: {fault}" if fault else f"unexpected answer (HTTP {status})", None)
        code, message = body["head"].get("ZTCLJG", ""), body["head"].get("CWXX", "")  # 状态处理结果, 错误信息
        if code == self.ok_code:
            if op == "deliveries":
                return Answer(code, "", {"list": body["lines"], "more": body["main"].get("HXBZ") == "1"})  # 后续标志
            return Answer(code, "", {"main": body["main"], "lines": body["lines"]})
        line_codes = {ln.get("CLJG") for ln in body["lines"] if ln.get("CLJG")}  # 明细处理结果
        if code == "20" and line_codes == {ALREADY_FINAL}:
            return Answer(ALREADY_FINAL, message, body["lines"])
        return Answer(code or "30", message, body["lines"] or None)

    def delivery_line(self, raw: dict[str, Any]) -> dict[str, Any]:
        line = super().delivery_line(raw)
        for ours, tag in CONSUMABLE_TAGS.items():
            if line.get(ours) in (None, "") and raw.get(tag):
                line[ours] = raw[tag]
        return {k: (None if v == "" else v) for k, v in line.items()}
