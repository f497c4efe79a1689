"""The reference platform's SOAP doors: Shanghai's drug and consumable services over the same state.

Written apart from ``agent.upstream.soap`` so the fake does not share the code it tests, from the
same public facts: one operation ``sendRecv`` with seven unqualified parameters (named as the
preset's WSDL names them), version ``1.0.0.0``, sign = SHA-1 of the XML, UPPERCASE hex, the answer
in ``return``. Checked strictly: the path, the operation's namespace, each parameter's name and
order, the version, the sign's case, ``HEAD`` with ``IP``, ``MAC`` and ``BZXX``, ``MAIN``, and the
message family of the endpoint (drugs ``YY0xx`` at the preset's path, consumables ``YY1xx`` at
``/hc`` + that path: separate endpoints, as the real services are).

Answer codes: ``00000`` ok; ``11001`` busy (resend after 10 minutes), ``11003`` account, ``11005``
sign, ``11006`` XML or version; ``20001`` message type not served here, ``20002`` no such open
line, ``20003`` quantities or product disagree, ``20004`` a required field is missing; ``30001``
already accepted (a notice); ``10000`` with each line's ``CLJG`` for YY131.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from refplatform.state import BEIJING, PlatformState

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
VERSION = "1.0.0.0"
PRESETS = {
    "dispatcher": ("/services/dispatcher", "http://dispatcher.service.gpo/",
                   ("sUser", "sPwd", "sJgbm", "sVersion", "sXxlx", "sSign", "xmlData")),
    "mainservice": ("/service/mainservice", "http://mainservice.service.gpo/",
                    ("arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "arg6")),
}
CONSUMABLES_PREFIX = "/hc"
PAGE = 50  # lines per YY003 / YY155 answer
STATUS = {"0": "00000", "2001": "20002", "2002": "20003", "2003": "30001", "2004": "20004", "3001": "11001",
          "9999": "11001"}
YY018_MAIN = ("YQBM", "PSMXBH", "PSDTM", "ZXSPBM", "PSL", "SCPH", "YSJG", "YSJGBZ")
YY131_STRUCT = ("PSMXBH", "HCTBDM", "SCPH", "PSL", "YSTGS", "YSBGS", "YSBZSM")
_UPPER_HEX40 = re.compile(r"^[0-9A-F]{40}$")


def consumable(code: Any) -> bool:
    return isinstance(code, str) and len(code) == 27 and code.startswith("C")


def service_of(path: str, preset: str) -> str | None:
    """'drugs', 'consumables' or None for a request path under ``preset``."""
    base = PRESETS[preset][0]
    if path == base:
        return "drugs"
    if path == CONSUMABLES_PREFIX + base:
        return "consumables"
    return None


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


def _when(iso: Any) -> str:
    if not iso:
        return ""
    value = datetime.fromisoformat(str(iso))
    return (value.astimezone(BEIJING) if value.tzinfo else value).strftime("%Y%m%d/%H%M%S/")


def result(code: str, message: str = "", main: dict[str, Any] | None = None,
           lines: list[dict[str, Any]] | None = None, preset: str = "dispatcher") -> bytes:
    """A sendRecvResponse whose ``return`` holds ``<XMLDATA><HEAD>JSSJ ZTCLJG CWXX BZXX</HEAD>...``."""
    data = ET.Element("XMLDATA")
    head = ET.SubElement(data, "HEAD")
    for tag, value in (("JSSJ", datetime.now().strftime("%Y%m%d/%H%M%S/")), ("ZTCLJG", code), ("CWXX", message),
                       ("BZXX", "")):
        ET.SubElement(head, tag).text = value
    main_elem = ET.SubElement(data, "MAIN")
    for tag, value in (main or {}).items():
        ET.SubElement(main_elem, tag).text = str(value)
    detail = ET.SubElement(data, "DETAIL")
    for line in lines or []:
        struct = ET.SubElement(detail, "STRUCT")
        for tag, value in line.items():
            ET.SubElement(struct, tag).text = "" if value is None else str(value)
    ET.register_namespace("soap", SOAP_NS)
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    resp = ET.SubElement(ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{PRESETS[preset][1]}}}sendRecvResponse")
    ET.SubElement(resp, "return").text = _xml(data)
    return _xml(env).encode("utf-8")


def fault(text: str) -> bytes:
    env = ET.Element(f"{{{SOAP_NS}}}Envelope")
    f = ET.SubElement(ET.SubElement(env, f"{{{SOAP_NS}}}Body"), f"{{{SOAP_NS}}}Fault")
    ET.SubElement(f, "faultcode").text = "soap:Client"
    ET.SubElement(f, "faultstring").text = text
    return _xml(env).encode("utf-8")


def _line_out(line: dict[str, Any], service: str) -> dict[str, Any]:
    out = {"PSDH": line.get("psdh") or "", "YQBM": line.get("delventpCode") or "", "PSDBM": "",
           "CJRQ": _when(line.get("shppTime")), "PSMXBH": line["shpId"], "PSDTM": line.get("psdtm") or f"TM{line['shpId']}",
           "CPM": line.get("prodName") or "", "SCPH": line.get("manuLotnum") or "", "YXRQ": line.get("expyEndtime") or "",
           "DDMXBH": line.get("ordDetlId") or "", "PSL": line["shpCnt"]}
    out["ZXSPBM" if service == "drugs" else "HCTBDM"] = line.get("prodCode")
    return out


def _open_page(state: PlatformState, medins: str, service: str, after: str) -> tuple[list[dict[str, Any]], bool]:
    """Lines not yet accepted, in the order the platform created them, after the line ``after``."""
    def keep(ln: dict[str, Any]) -> bool:
        return (consumable(ln.get("prodCode")) == (service == "consumables")
                and (medins, ln["shpId"]) not in state.confirmations)

    lines = state.by_creation(medins, "deliveries", after, keep)
    return lines[:PAGE], len(lines) > PAGE


# Orders and bills (assumed tags, as the agent's profile assumes them: TO CONFIRM with the province).
LISTS = {"YY021": ("orders", "DDMXBH", "drugs"), "YY112": ("orders", "DDMXBH", "consumables"),
         "YY016": ("bills", "JSDBH", "drugs"), "YY132": ("bills", "JSDBH", "consumables")}
ORDER_TAGS = {"DDMXBH": "ordDetlId", "DDBH": "ordCode", "CPM": "prodName", "YQBM": "delventpCode",
              "YQMC": "delventpName", "CGSL": "purcCnt", "CGJG": "purcpric", "GWJG": "pubonlnPric",
              "XDSJ": "subTime", "XYSJ": "respTime", "PSL": "disCnt", "PSSJ": "disTime"}
BILL_TAGS = {"JSDBH": "stmtId", "YQBM": "delventpCode", "YQMC": "delventpName", "JSJE": "stmtAmt",
             "YSSJ": "acpTime", "CJSJ": "crteTime", "DZSJ": "chkTime", "ZFSJ": "payTime"}


def _list_page(state: PlatformState, medins: str, msg_type: str, after: str) -> tuple[list[dict[str, Any]], bool]:
    kind, _cursor, service = LISTS[msg_type]
    tags = ORDER_TAGS if kind == "orders" else BILL_TAGS
    keep = (lambda ln: consumable(ln.get("prodCode")) == (service == "consumables")) if kind == "orders" else None
    lines = state.by_creation(medins, kind, after, keep)
    out = []
    for ln in lines[:PAGE]:
        row = {tag: (_when(ln.get(ours)) if tag.endswith("SJ") else (ln.get(ours) or "")) for tag, ours in tags.items()}
        if kind == "orders":
            row["ZXSPBM" if service == "drugs" else "HCTBDM"] = ln.get("prodCode")
        out.append(row)
    return out, len(lines) > PAGE


def handle(state: PlatformState, body: bytes, path: str, preset: str,
           seen: dict[str, int] | None = None) -> tuple[int, bytes, str]:
    """(HTTP status, answer, status code) for one sendRecv request; ``seen`` counts message types."""
    base, namespace, names = PRESETS[preset]
    service = service_of(path, preset)
    try:
        env = _parse(body.decode("utf-8"))
        soap_body = next(b for b in env if b.tag == f"{{{SOAP_NS}}}Body")
        call = next(iter(soap_body))
        if call.tag != f"{{{namespace}}}sendRecv":
            raise ValueError(f"operation {call.tag} is not {{{namespace}}}sendRecv")
        got = [c.tag for c in call]
        if tuple(got) != names:  # unqualified, these names, this order
            raise ValueError(f"parameters {got} are not {list(names)}")
        params = dict(zip(("user", "password", "org_code", "version", "msg_type", "sign", "xml"),
                          ((c.text or "") for c in call), strict=True))
    except (UnicodeDecodeError, ValueError, ET.ParseError, StopIteration) as exc:
        return 500, fault(f"bad sendRecv request: {exc}"), "fault"

    def answer(code: str, text: str, main: dict[str, Any] | None = None,
               lines: list[dict[str, Any]] | None = None) -> tuple[int, bytes, str]:
        return 200, result(code, text, main, lines, preset), code

    secret = state.apps.get(params["user"])
    if secret is None or not hmac.compare_digest(secret.encode(), params["password"].encode()):
        return answer("11003", "用户名或密码错误")
    if params["version"] != VERSION:
        return answer("11006", f"接口版本{params['version']}不支持")
    xml = params["xml"]
    sign = params["sign"]
    if not _UPPER_HEX40.match(sign) or sign != hashlib.sha1(xml.encode("utf-8")).hexdigest().upper():
        return answer("11005", "签名验证失败（报文SHA-1大写十六进制不符）")
    try:
        message = _parse(xml)
    except (ValueError, ET.ParseError):
        return answer("11006", "XML格式错误")
    head = _kids(message.find("HEAD"))
    if message.tag != "XMLDATA" or any(t not in head for t in ("IP", "MAC", "BZXX")) or message.find("MAIN") is None:
        return answer("11006", "XML格式错误：缺少XMLDATA/HEAD(IP,MAC,BZXX)/MAIN")
    main, lines = _kids(message.find("MAIN")), [_kids(s) for s in message.iter("STRUCT")]
    medins, msg_type = params["org_code"], params["msg_type"]
    if seen is not None:
        seen[msg_type] = seen.get(msg_type, 0) + 1
    family = "YY0" if service == "drugs" else "YY1"
    if not msg_type.startswith(family):
        return answer("20001", f"报文类型{msg_type}不属于本服务")
    if msg_type in ("YY003", "YY155"):
        if "PSMXBH" not in main:
            return answer("20004", "缺少PSMXBH")
        page, more = _open_page(state, medins, service or "drugs", main["PSMXBH"])
        return answer("00000", "", {"JLS": len(page), "SFWJ": "0" if more else "1"},
                      [_line_out(ln, service or "drugs") for ln in page])
    if msg_type in LISTS:
        cursor = LISTS[msg_type][1]
        if cursor not in main:
            return answer("20004", f"缺少{cursor}")
        page, more = _list_page(state, medins, msg_type, main[cursor])
        return answer("00000", "", {"JLS": len(page), "SFWJ": "0" if more else "1"}, page)
    if msg_type == "YY018":
        return _yy018(state, medins, main, answer)
    if msg_type == "YY131":
        return _yy131(state, medins, main, lines, answer)
    return answer("20001", f"报文类型{msg_type}未开放")


def _qty(text: str | None) -> Decimal | None:
    try:
        return Decimal(text or "")
    except InvalidOperation:
        return None


def _yy018(state: PlatformState, medins: str, main: dict[str, str], answer: Any) -> tuple[int, bytes, str]:
    missing = [t for t in YY018_MAIN if t not in main]
    if missing:
        return answer("20004", f"缺少{','.join(missing)}")
    shp = main["PSMXBH"]
    known = state.deliveries.get((medins, shp))
    if known is None or consumable(known.get("prodCode")):
        return answer("20002", f"配送明细{shp}不存在")
    if main["ZXSPBM"] != known.get("prodCode"):
        return answer("20003", f"配送明细{shp}的统编代码{main['ZXSPBM']}与平台不符")
    shipped = _qty(str(known["shpCnt"]))
    if _qty(main["PSL"]) != shipped:
        word = "大于" if (_qty(main["PSL"]) or 0) > (shipped or 0) else "不等于"
        return answer("20003", f"配送明细{shp}配送量{main['PSL']}{word}配送数量{known['shpCnt']}")
    if main["YSJG"] not in ("0", "1"):
        return answer("20004", "YSJG只能是1（通过）或0（不通过）")
    if main["YSJG"] == "0":
        return answer("00000", "验收不通过已登记")
    got = re.search(r"实收([0-9.]+)", main["YSJGBZ"])  # this reference platform's reading of a short delivery
    code, text, _ = state.confirm(medins, [{"shpId": shp, "shppCnt": got.group(1) if got else main["PSL"]}], None)
    return answer(STATUS.get(code, "11001"), "" if code == "0" else text)


def _yy131(state: PlatformState, medins: str, main: dict[str, str], lines: list[dict[str, str]],
           answer: Any) -> tuple[int, bytes, str]:
    if main.get("PSYSLX") not in ("1", "2") or main.get("JLS") != str(len(lines)) or not lines:
        return answer("20004", "PSYSLX须为1或2，JLS须等于明细条数")
    results, failed = [], 0
    for ln in lines:
        missing = [t for t in YY131_STRUCT if t not in ln]
        shp = ln.get("PSMXBH", "")
        known = state.deliveries.get((medins, shp))
        pass_n, fail_n, shipped = _qty(ln.get("YSTGS")), _qty(ln.get("YSBGS")), _qty(ln.get("PSL"))
        if missing:
            code, text = "20004", f"缺少{','.join(missing)}"
        elif known is None or not consumable(known.get("prodCode")):
            code, text = "20002", f"配送明细{shp}不存在"
        elif (ln["HCTBDM"] != known.get("prodCode") or None in (pass_n, fail_n, shipped)
              or pass_n + fail_n != shipped or shipped != _qty(str(known["shpCnt"]))):  # type: ignore[operator]
            code, text = "20003", f"配送明细{shp}验收通过数与不通过数之和须等于配送量"
        elif main["PSYSLX"] == "1":
            code, text = "00000", ""
        else:
            state_code, text, _ = state.confirm(medins, [{"shpId": shp, "shppCnt": ln["YSTGS"]}], None)
            code = STATUS.get(state_code, "11001")
        failed += code != "00000"
        results.append({"PSMXBH": shp, "CLJG": code, "CLQKMS": "" if code == "00000" else text})
    return answer("10000" if failed else "00000", "部分明细处理失败" if failed else "", {"JLS": len(results)}, results)
