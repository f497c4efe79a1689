"""The Shanghai SOAP profiles (上海市医药采购服务与监管信息系统): ``sh_soap`` (drugs, or consumables).

Facts from the public clients gfz1103/yb (drugs: ``PsdService``, the YY003 answer sample in it, the
``ws`` request/response classes) and itcmicwl/SC_SPD (consumables), summarised in
../shared/INTERFACES.md. Every call is one SOAP operation with seven unqualified string
parameters in this order: user, password, organisation code, version ``1.0.0.0``, message type,
sign (SHA-1 of the XML's UTF-8 bytes, UPPERCASE hex), XML; the answer XML is in ``return``. The
parameter names, the operation's name, the service namespace and path come from the province's
WSDL: config, with the two known shapes as presets (``dispatcher``: ``sUser … xmlData``;
``mainservice``: ``arg0 … arg6``). The drug and consumable services are separate endpoints with
separate accounts, hence one ``[platform]`` section per service (``soap_service``); the message family (YY0xx drugs, YY1xx consumables) says
which. There is no token: the password travels in every request and is masked like any secret.

Business XML: root ``XMLDATA``, ``HEAD`` (``IP``, ``MAC``, ``BZXX``) and ``MAIN`` always, lists in
``DETAIL/STRUCT``, empty fields as empty elements, times ``yyyyMMdd/HHmmss/``, dates ``yyyyMMdd``.
Answers: ``HEAD/ZTCLJG`` ``00000`` ok, ``1xxxx`` system (``11001`` resend after 10 minutes,
``11003`` account, ``11005`` sign, ``11006`` XML: a person), ``2xxxx`` refused, ``3xxxx`` done with a
notice (already confirmed), ``10000`` partly: each line's ``CLJG``. TO CONFIRM marks what no public
source settles.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.errors import PlatformError
from agent.upstream.profile_base import Answer, Credentials, Profile, Request

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
VERSION = "1.0.0.0"
OK = "00000"
PARTLY = "10000"
RESEND = "11001"  # 通讯失败: resend after 10 minutes
RESEND_AFTER_S = 600.0
NEEDS_PERSON = {"11003": "用户名或密码错误", "11005": "签名不符", "11006": "XML格式错误"}

# The WSDL's shape (namespace, path, operation, parameter names): presets, each overridable in config.
PARAM_ORDER = ("user", "password", "org_code", "version", "msg_type", "sign", "xml")
SOAP_PRESETS: dict[str, dict[str, Any]] = {
    "dispatcher": {  # .../services/dispatcher?wsdl (gfz1103/yb drugs)
        "namespace": "http://dispatcher.service.gpo/",  # TO CONFIRM: read targetNamespace from the WSDL
        "path": "/services/dispatcher",
        "operation": "sendRecv",
        "params": ("sUser", "sPwd", "sJgbm", "sVersion", "sXxlx", "sSign", "xmlData"),
    },
    "mainservice": {  # .../service/mainservice?wsdl (the newer main service)
        "namespace": "http://mainservice.service.gpo/",  # TO CONFIRM: read targetNamespace from the WSDL
        "path": "/service/mainservice",
        "operation": "sendRecv",
        "params": ("arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "arg6"),
    },
}

# YY003 answer line (配送明细, drugs; fields as in the documented sample) -> our canonical fields.
DRUG_FIELDS = {
    "delivery_id": "PSMXBH",  # 配送明细编号
    "order_id": "DDMXBH",  # 订单明细编号
    "order_code": "PSDTM",  # 配送单条码: YY018 repeats it, and the store has no other column for it
    "product_code": "ZXSPBM",  # 统编代码
    "product_name": "CPM",  # 产品名
    "lot": "SCPH",  # 生产批号
    "expiry": "YXRQ",  # 有效日期 yyyyMMdd
    "quantity": "PSL",  # 配送量
    "shipped_at": "CJRQ",  # 创建日期 yyyyMMdd/HHmmss/
    "distributor_code": "YQBM",  # 企业编码
    "updated_at": "CJRQ",
}
# Orders and bills: the message types are named in the public material (orders YY009/010/021/022,
# invoices YY004/007/008, reconciliation YY016) but no public sample shows their lines. TO CONFIRM
# with the province, all of it: the message pulling order lines with their status (YY021 assumed),
# the one pulling bills with their check and payment state (YY016 assumed), and every tag below
# beyond DDMXBH, YQBM, ZXSPBM, CPM and PSL, which the delivery lines carry.
ORDER_FIELDS = {
    "order_id": "DDMXBH", "order_code": "DDBH", "product_code": "ZXSPBM", "product_name": "CPM",
    "distributor_code": "YQBM", "distributor_name": "YQMC", "quantity": "CGSL", "price": "CGJG",
    "listed_price": "GWJG", "ordered_at": "XDSJ", "responded_at": "XYSJ", "delivered_quantity": "PSL",
    "delivered_at": "PSSJ", "updated_at": "XDSJ",
}
BILL_FIELDS = {
    "bill_id": "JSDBH", "distributor_code": "YQBM", "distributor_name": "YQMC", "amount": "JSJE",
    "accepted_at": "YSSJ", "issued_at": "CJSJ", "checked_at": "DZSJ", "paid_at": "ZFSJ", "updated_at": "CJSJ",
}
LIST_MESSAGES = {"orders": ("YY021", "DDMXBH"), "bills": ("YY016", "JSDBH")}  # message type, cursor tag

# YY155 answer line (耗材配送明细). TO CONFIRM: tag names beyond PSMXBH/HCTBDM/SCPH/PSL, which YY131 repeats.
CONSUMABLE_FIELDS = {**DRUG_FIELDS, "product_code": "HCTBDM"}


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


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _fields(elem: ET.Element | None) -> dict[str, str]:
    return {_local(child.tag): (child.text or "").strip() for child in (elem if elem is not None else [])}


def platform_time(iso: str | None) -> str:
    """ISO -> ``yyyyMMdd/HHmmss/`` in the time's own zone (Shanghai time in practice); '' when unknown."""
    return datetime.fromisoformat(iso).strftime("%Y%m%d/%H%M%S/") if iso else ""


def parse_platform_time(text: str | None) -> str | None:
    """``yyyyMMdd/HHmmss/`` or ``yyyyMMdd`` -> ISO (naive: the caller adds the zone); None when empty."""
    text = (text or "").strip().strip("/")
    if not text:
        return None
    for fmt in ("%Y%m%d/%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    raise ValueError(f"not a platform time: {text!r}")


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    """A value as XML text that survives the trip: no characters XML 1.0 forbids, and no CR, which a
    parser turns into LF (the platform would then hash other bytes than we signed)."""
    return _NOT_XML.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")


def _fill(parent: ET.Element, values: dict[str, Any]) -> None:
    """Every field as an element; an unknown value is an empty element, as the platform expects."""
    for tag, value in values.items():
        ET.SubElement(parent, tag).text = "" if value is None else _text(value)


def build_message(head: dict[str, Any], main: dict[str, Any], lines: list[dict[str, Any]]) -> bytes:
    """``<XMLDATA><HEAD/><MAIN/>[<DETAIL><STRUCT/>...</DETAIL>]</XMLDATA>`` in UTF-8."""
    root = ET.Element("XMLDATA")
    _fill(ET.SubElement(root, "HEAD"), head)
    _fill(ET.SubElement(root, "MAIN"), main)
    if lines:  # a message without a list has no DETAIL (the public client leaves it out)
        detail = ET.SubElement(root, "DETAIL")
        for line in lines:
            _fill(ET.SubElement(detail, "STRUCT"), line)
    return ('<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode", short_empty_elements=False)).encode("utf-8")


def envelope(namespace: str, operation: str, params: list[tuple[str, str]]) -> bytes:
    """SOAP 1.1: the operation element in the service namespace, its parameters unqualified."""
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    call = ET.SubElement(ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{namespace}}}{operation}")
    for name, value in params:
        ET.SubElement(call, name).text = value
    ET.register_namespace("soapenv", SOAP_NS)
    return ('<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(env, encoding="unicode")).encode("utf-8")


def _quantity(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return None


def code_kind(code: str) -> str | None:
    """What a ZTCLJG / CLJG code means for the agent."""
    if code == OK:
        return "ok"
    if code in NEEDS_PERSON:
        return "auth"
    if code == RESEND or (len(code) == 5 and code.startswith("1") and code != PARTLY):
        return "busy"
    if len(code) == 5 and code.startswith("2"):
        return "reject"
    if len(code) == 5 and code.startswith("3"):
        return "done"  # success with a notice: the platform holds the acceptance (e.g. already confirmed)
    return None


class ShSoapProfile(Profile):
    """Drugs (药品): YY003 pulls open delivery lines on a PSMXBH cursor, YY018 confirms one line."""

    name = "sh_soap"
    signer = "sha1"
    supports_reports = False
    uses_token = False
    ok_code = OK
    media = "SOAP XML"
    fields = DRUG_FIELDS
    order_fields = ORDER_FIELDS
    bill_fields = BILL_FIELDS
    list_messages = LIST_MESSAGES
    paging = "cursor"
    idempotency_header = False
    family = "YY0"
    deliveries_message = "YY003"  # 获取配送明细 (still open lines)
    confirm_message = "YY018"  # 配送明细验收
    preset = "dispatcher"

    def __init__(self) -> None:
        self.shape = dict(SOAP_PRESETS[self.preset])
        self.head = {"IP": "", "MAC": ""}

    def configured(self, options: dict[str, Any]) -> Profile:
        service = options.get("soap_service") or "drugs"
        if service not in SERVICES:
            raise PlatformError(f"soap_service '{service}' is unknown: use drugs or consumables", transient=False)
        clone = copy.copy(self) if SERVICES[service] is type(self) else SERVICES[service]()
        preset = options.get("soap_preset") or self.preset
        if preset not in SOAP_PRESETS:
            raise PlatformError(f"soap_preset '{preset}' is unknown: use one of {', '.join(sorted(SOAP_PRESETS))}",
                                transient=False)
        shape = dict(SOAP_PRESETS[preset])
        for key, opt in (("namespace", "soap_namespace"), ("path", "service_path"), ("operation", "soap_operation")):
            if options.get(opt):
                shape[key] = options[opt]
        if options.get("soap_params"):
            shape["params"] = tuple(options["soap_params"])
        clone.shape = shape
        clone.head = {"IP": options.get("head_ip") or "", "MAC": options.get("head_mac") or ""}
        return clone

    @property
    def path(self) -> str:
        return str(self.shape["path"])

    def kind(self, code: str) -> str | None:
        return code_kind(code)

    def retry_after_s(self, code: str) -> float | None:
        return RESEND_AFTER_S if code == RESEND else None

    def confirmation_code(self, data: dict[str, Any]) -> str:
        return str(data["msg_type"])

    def confirm_data(self, medins_code: str, delivery_id: str, quantity: str, accepted_at: str,
                     line: dict[str, Any] | None = None) -> dict[str, Any]:
        """YY018: one line in ``MAIN`` (YQBM, PSMXBH, PSDTM, ZXSPBM, PSL, SCPH, YSJG, YSJGBZ).

        The message has no accepted quantity: ``PSL`` repeats the shipped quantity, ``YSJG`` 1 passes
        it; a short delivery still passes (the goods arrived) and says what came in ``YSJGBZ``.
        TO CONFIRM with the province: how a short delivery is to be accepted."""
        line = line or {}
        shipped = _quantity(line.get("shipped_quantity"))
        accepted = _quantity(quantity)
        note = f"实收{quantity}" if shipped is not None and accepted is not None and accepted < shipped else ""
        main = {"YQBM": line.get("distributor_code"), "PSMXBH": delivery_id, "PSDTM": line.get("order_code"),
                "ZXSPBM": line.get("product_code"), "PSL": line.get("shipped_quantity") or quantity,
                "SCPH": line.get("lot"), "YSJG": "1", "YSJGBZ": note}
        return {"msg_type": self.confirm_message, "main": main, "lines": []}

    def message(self, op: str, data: dict[str, Any], *, medins_code: str) -> tuple[str, bytes]:
        """The message type and the business message, before the account and sign are added."""
        head = {**self.head, "BZXX": ""}
        if op == "confirm":
            return data["msg_type"], build_message(head, data["main"], data["lines"])
        if op == "deliveries":
            main = {"YQBM": "", "PSMXBH": data.get("afterId") or ""}  # the cursor: the last PSMXBH read
            return self.deliveries_message, build_message(head, main, [])
        if op in self.list_messages:
            msg_type, cursor_tag = self.list_messages[op]
            return msg_type, build_message(head, {"YQBM": "", cursor_tag: data.get("afterId") or ""}, [])
        raise PlatformError(f"profile {self.name} has no '{op}' message", transient=False)

    def seal(self, op: str, data: dict[str, Any], *, medins_code: str, creds: Credentials, timestamp: str,
             nonce: str, token: str | None, idem_key: str | None) -> Request:
        """The SOAP request; timestamp, nonce, token and idempotency key have no place in this shape."""
        msg_type, xml = self.message(op, data, medins_code=medins_code)
        values = (creds.app_key, creds.secret.decode("utf-8"), medins_code, VERSION, msg_type,
                  creds.sign(creds.secret, xml).upper(), xml.decode("utf-8"))
        body = envelope(str(self.shape["namespace"]), str(self.shape["operation"]), list(zip(self.shape["params"], values, strict=True)))
        headers = {"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml", "SOAPAction": '""'}
        return Request("POST", self.path, body, headers)

    def decode(self, content: bytes) -> Any:
        """``{"fault": text}`` for a SOAP fault, else the answer message's head, main and lines."""
        env = parse_xml(content)
        body = next((c for c in env if _local(c.tag) == "Body"), None)
        answer = next(iter(body), None) if body is not None else None
        if answer is None:
            raise ValueError("a SOAP envelope without a body")
        if _local(answer.tag) == "Fault":
            return {"fault": _fields(answer).get("faultstring", "")}
        result = next((c for c in answer.iter() if _local(c.tag) == "return"), None)
        if result is None or not (result.text or "").strip():
            raise ValueError("a sendRecv answer without return")
        message = parse_xml((result.text or "").strip())
        detail = message.find("DETAIL")
        return {"head": _fields(message.find("HEAD")), "main": _fields(message.find("MAIN")),
                "lines": [_fields(s) for s in (detail if detail is not None else [])]}

    def parse(self, op: str, status: int, body: Any) -> Answer:
        if not isinstance(body, dict) or "head" not in body:
            fault = body.get("fault") if isinstance(body, dict) else None
            return Answer(RESEND, f"SOAP fault: {fault}" if fault else f"unexpected answer (HTTP {status})", None)
        code, message = body["head"].get("ZTCLJG", ""), body["head"].get("CWXX", "")  # 状态处理结果, 错误信息
        if code == PARTLY:  # 部分成功: one line per message, so that line's own result is the answer
            line = next((ln for ln in body["lines"] if ln.get("CLJG")), None)
            if line is None:
                return Answer("20000", message or "部分失败，无明细结果", body["lines"])
            code, message = line["CLJG"], line.get("CLQKMS") or message
        if code == OK and op in ("deliveries", *self.list_messages):
            return Answer(OK, "", {"list": body["lines"], "more": body["main"].get("SFWJ") == "0"})  # 是否完结
        if code == OK:
            return Answer(OK, "", {"main": body["main"], "lines": body["lines"]})
        return Answer(code or RESEND, message, body["lines"] or None)

    def delivery_line(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self._times(super().delivery_line(raw))

    def listed_line(self, op: str, raw: dict[str, Any]) -> dict[str, Any]:
        return self.delivery_line(raw) if op == "deliveries" else self._times(super().listed_line(op, raw))

    @staticmethod
    def _times(line: dict[str, Any]) -> dict[str, Any]:
        """Empty elements as None, ``yyyyMMdd/HHmmss/`` times as ISO."""
        line = {k: (None if v == "" else v) for k, v in line.items()}
        for key in [k for k in line if k.endswith("_at")]:
            line[key] = parse_platform_time(line.get(key))
        return line


class ShSoapConsumablesProfile(ShSoapProfile):
    """Consumables (耗材), a separate endpoint and account: YY155 pulls delivery lines (TO CONFIRM
    against YY153/YY154), YY131 confirms (MAIN ``PSYSLX`` 2 final acceptance, ``JLS``; STRUCT
    ``PSMXBH, HCTBDM, SCPH, PSL, YSTGS, YSBGS, YSBZSM``)."""

    fields = CONSUMABLE_FIELDS
    order_fields = {**ORDER_FIELDS, "product_code": "HCTBDM"}
    list_messages = {"orders": ("YY112", "DDMXBH"), "bills": ("YY132", "JSDBH")}  # TO CONFIRM, as for drugs
    family = "YY1"
    deliveries_message = "YY155"
    confirm_message = "YY131"
    FINAL_ACCEPTANCE = "2"  # 配送验收类型: 1 pre-, 2 final acceptance

    def confirm_data(self, medins_code: str, delivery_id: str, quantity: str, accepted_at: str,
                     line: dict[str, Any] | None = None) -> dict[str, Any]:
        line = line or {}
        shipped, accepted = _quantity(line.get("shipped_quantity")), _quantity(quantity)
        refused = str(max(shipped - accepted, Decimal(0))) if shipped is not None and accepted is not None else "0"
        struct = {"PSMXBH": delivery_id, "HCTBDM": line.get("product_code"), "SCPH": line.get("lot"),
                  "PSL": line.get("shipped_quantity") or quantity, "YSTGS": quantity, "YSBGS": refused, "YSBZSM": ""}
        return {"msg_type": self.confirm_message, "main": {"PSYSLX": self.FINAL_ACCEPTANCE, "JLS": 1}, "lines": [struct]}


SERVICES: dict[str, type[ShSoapProfile]] = {"drugs": ShSoapProfile, "consumables": ShSoapConsumablesProfile}
