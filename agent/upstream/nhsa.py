"""The national medical-insurance (国家医保信息平台) envelope, for the 3501–3507 进销存 uploads.

Not a confirmation profile (it confirms no arrival, so it is not in ``PROFILES``): the shapes the
进销存 work will send, proven against golden samples in ``tests/conformance/nhsa/``. Facts from
../shared/INTERFACES.md and the public clients it names (binzhe12123/Medical, oepnhisC/OpenHIS-Server):
the envelope's fields, ``msgid`` = institution code (12) + ``yyyyMMddHHmmss`` + 4 digits (30
characters), ``infver`` ``V1.0``, the per-transaction input key, the answer's ``infcode`` (``0``
ok), ``inf_refmsgid`` and ``err_msg``; the gateway signs the request, not the body:
``x-tif-signature`` = SHA-256 hex of ``timestamp + token + nonce + timestamp`` (seconds).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

INFVER = "V1.0"
# The input key of each 进销存 transaction. 3502/3503/3505/3507 are documented; the others follow
# their pair (TO CONFIRM: 3501 stock count, 3504 purchase return, 3506 sale return).
INPUT_KEY = {"3501": "invinfo", "3502": "invinfo", "3503": "purcinfo", "3504": "purcinfo", "3505": "selinfo",
             "3506": "selinfo", "3507": "data"}
ENVELOPE_FIELDS = ("infno", "msgid", "mdtrtarea_admvs", "insuplc_admdvs", "recer_sys_code", "dev_no", "dev_safe_info",
                   "cainfo", "signtype", "infver", "opter_type", "opter", "opter_name", "inf_time", "fixmedins_code",
                   "fixmedins_name", "sign_no", "input")
PURCHASE_LINE_FIELDS = ("med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno", "spler_name",
                        "manu_lotnum", "prodentp_name", "aprvno", "manu_date", "expy_end", "finl_trns_pric",
                        "purc_retn_cnt", "purc_invo_no", "rx_flag", "purc_retn_stoin_time")
_CODE = re.compile(r"^[A-Z0-9]{12}$")


@dataclass(frozen=True)
class Institution:
    """Who sends: the 定点医药机构 and the operator, as the insurance bureau registered them."""

    fixmedins_code: str
    fixmedins_name: str
    mdtrtarea_admvs: str  # 就医地医保区划
    insuplc_admdvs: str = ""  # 参保地医保区划 (empty for 进销存)
    recer_sys_code: str = ""  # 接收方系统代码
    opter_type: str = "1"  # 经办人类别: 1 经办人
    opter: str = ""
    opter_name: str = ""
    dev_no: str = ""
    dev_safe_info: str = ""
    cainfo: str = ""
    signtype: str = ""
    sign_no: str = ""


def msgid(fixmedins_code: str, at: datetime, seq: int) -> str:
    """报文ID: the 12-character institution code, ``yyyyMMddHHmmss``, a 4-digit sequence (30 characters)."""
    if not _CODE.match(fixmedins_code):
        raise ValueError(f"fixmedins_code {fixmedins_code!r} is not 12 letters or digits")
    if not 0 <= seq <= 9999:
        raise ValueError("the msgid sequence is 4 digits")
    return f"{fixmedins_code}{at:%Y%m%d%H%M%S}{seq:04d}"


def envelope(infno: str, payload: Any, who: Institution, at: datetime, seq: int) -> dict[str, Any]:
    """The request body: every field of the envelope, ``input`` keyed as the transaction wants."""
    if infno not in INPUT_KEY:
        raise ValueError(f"transaction {infno} is not a 进销存 transaction (3501-3507)")
    fields = {
        "infno": infno, "msgid": msgid(who.fixmedins_code, at, seq), "mdtrtarea_admvs": who.mdtrtarea_admvs,
        "insuplc_admdvs": who.insuplc_admdvs, "recer_sys_code": who.recer_sys_code, "dev_no": who.dev_no,
        "dev_safe_info": who.dev_safe_info, "cainfo": who.cainfo, "signtype": who.signtype, "infver": INFVER,
        "opter_type": who.opter_type, "opter": who.opter, "opter_name": who.opter_name,
        "inf_time": f"{at:%Y-%m-%d %H:%M:%S}", "fixmedins_code": who.fixmedins_code,
        "fixmedins_name": who.fixmedins_name, "sign_no": who.sign_no, "input": {INPUT_KEY[infno]: payload},
    }
    return {k: fields[k] for k in ENVELOPE_FIELDS}


def purchase_line(line: dict[str, Any]) -> dict[str, Any]:
    """A 3503 purchase line with exactly its fields (missing ones empty); an unknown field is refused."""
    extra = sorted(set(line) - set(PURCHASE_LINE_FIELDS))
    if extra:
        raise ValueError(f"3503 has no field(s) {', '.join(extra)}")
    return {k: line.get(k, "") for k in PURCHASE_LINE_FIELDS}


def gateway_headers(paasid: str, token: str, timestamp_s: int, nonce: str) -> dict[str, str]:
    """The gateway's headers; the signature covers the timestamp, token and nonce, not the body."""
    ts = str(timestamp_s)
    signature = hashlib.sha256((ts + token + nonce + ts).encode("utf-8")).hexdigest()
    return {"x-tif-paasid": paasid, "x-tif-timestamp": ts, "x-tif-nonce": nonce, "x-tif-signature": signature}


@dataclass(frozen=True)
class NhsaAnswer:
    ok: bool
    code: str
    message: str
    output: Any


def read_answer(body: dict[str, Any], sent_msgid: str) -> NhsaAnswer:
    """``infcode`` 0 is success, and only for the message we sent (``inf_refmsgid``); else ``err_msg``."""
    code = str(body.get("infcode", ""))
    if code == "0" and body.get("inf_refmsgid") not in (None, "", sent_msgid):
        return NhsaAnswer(False, code, f"answer for another message {body.get('inf_refmsgid')}", None)
    return NhsaAnswer(code == "0", code, str(body.get("err_msg") or ""), body.get("output"))
