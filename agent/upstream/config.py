"""The ``[platform]`` section: which profile, where, which credentials, how patient to be.

The app secret (for ``sh_soap``: the platform password) is never in the file: ``secret_env`` names an environment variable, ``secret_file``
a file (a bare name is a systemd credential in ``$CREDENTIALS_DIRECTORY``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from agent.errors import ConfigError
from agent.secrets import read_secret
from agent.upstream.profiles import PROFILES
from agent.upstream.signers import SIGNERS


class PlatformConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str = Field(description="zj_infno | rest_json | sh_soap")
    base_url: str = Field(description="https://platform.example/ (http only for the loopback reference)")
    app_key: str = Field(min_length=1, description="the app key; for sh_soap the platform user name")
    secret_env: str | None = None
    secret_file: str | None = None
    signer: str | None = Field(default=None, description="override the profile's signer")
    medins_code: str | None = Field(default=None, description="the platform's 医疗机构代码; default hospital.code")
    ca_file: Path | None = Field(default=None, description="a CA bundle for the platform's certificate")
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    read_timeout_s: float = Field(default=20.0, gt=0, le=600)
    write_timeout_s: float = Field(default=10.0, gt=0, le=600)
    pool_timeout_s: float = Field(default=5.0, gt=0, le=120)
    max_rate_per_s: float = Field(default=5.0, gt=0, le=10000, description="our own pace; stay under the platform's limit")
    drain_batch: int = Field(default=50, ge=1, le=5000)
    retry_after_cap_s: float = Field(default=3600.0, ge=1, le=86400)
    inline_wait_cap_s: float = Field(default=5.0, ge=0, le=60, description="a Retry-After this short is waited out in place")
    sync_lookback_s: int = Field(default=3600, ge=0, le=7 * 86400)
    sync_page_size: int = Field(default=200, ge=1, le=5000)
    confirm_late_h: float = Field(default=20.0, gt=0, lt=24)
    match_min_confidence: float = Field(default=0.7, gt=0, le=1)
    auto_confirm_max_age_days: float = Field(
        default=7.0, gt=0, le=366,
        description="receipts accepted longer ago than this are not queued for 到货确认 automatically; "
                    "`vbp-agent platform backlog` lists them and `platform confirm --since DATE` queues them")
    item_map: dict[str, str] = Field(default_factory=dict, description="local item code -> platform product code")
    upload_reports: bool = True
    # What the province decides (its documents or WSDL): the known values are the profiles' presets.
    app_code: str | None = Field(default=None, description="zj_infno: appCode for the token request; default app_key")
    auth_code_env: str | None = Field(default=None, description="zj_infno: env variable with the authCode; default the secret")
    service_path: str | None = Field(default=None, description="the service path under base_url; default the preset's")
    token_path: str | None = Field(default=None, description="zj_infno: the token path; default /accessToken")
    soap_preset: str | None = Field(default=None, description="sh_soap*: dispatcher (sUser..xmlData) | mainservice (arg0..arg6)")
    soap_service: Literal["drugs", "consumables"] | None = Field(default=None, description="sh_soap: drugs (YY003/YY018) | consumables (YY155/YY131)")
    soap_namespace: str | None = Field(default=None, description="sh_soap*: the WSDL's targetNamespace")
    soap_operation: str | None = Field(default=None, description="sh_soap*: the operation name (sendRecv)")
    soap_params: list[str] | None = Field(default=None, min_length=7, max_length=7,
                                          description="sh_soap*: the seven parameter names, in order")
    head_ip: str | None = Field(default=None, description="sh_soap*: HEAD/IP, the address the platform registered")
    head_mac: str | None = Field(default=None, description="sh_soap*: HEAD/MAC")

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        if v not in PROFILES:
            raise ValueError(f"unknown profile: use one of {', '.join(sorted(PROFILES))}")
        return v

    @field_validator("soap_preset")
    @classmethod
    def _known_preset(cls, v: str | None) -> str | None:
        from agent.upstream.soap import SOAP_PRESETS

        if v is not None and v not in SOAP_PRESETS:
            raise ValueError(f"unknown soap_preset: use one of {', '.join(sorted(SOAP_PRESETS))}")
        return v

    @field_validator("signer")
    @classmethod
    def _known_signer(cls, v: str | None) -> str | None:
        if v is not None and v not in SIGNERS:
            raise ValueError(f"unknown signer: use one of {', '.join(sorted(SIGNERS))}")
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not (v.startswith("https://") or v.startswith("http://127.") or v.startswith("http://localhost")):
            raise ValueError("use https:// (plain http only for a reference platform on loopback)")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _one_secret(self) -> PlatformConfig:
        if bool(self.secret_env) == bool(self.secret_file):
            raise ValueError("give exactly one of secret_env or secret_file for the app secret")
        keyless = (self.signer or PROFILES[self.profile].signer) == "sha1"
        if keyless != (PROFILES[self.profile].signer == "sha1"):  # a plain hash signs nothing a JSON platform trusts
            raise ValueError("signer sha1 belongs to the sh_soap profile only, and sh_soap signs with sha1 only")
        return self

    def profile_options(self) -> dict[str, Any]:
        names = ("service_path", "token_path", "soap_preset", "soap_service", "soap_namespace", "soap_operation", "soap_params",
                 "head_ip", "head_mac")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def auth_code(self) -> SecretStr | None:
        if not self.auth_code_env:
            return None
        value = read_secret("platform auth code", self.auth_code_env, None, allow_empty=False)
        return SecretStr(value) if value is not None else None

    @property
    def auto_confirm_max_age(self) -> timedelta:
        return timedelta(days=self.auto_confirm_max_age_days)

    @property
    def signer_name(self) -> str:
        return self.signer or PROFILES[self.profile].signer

    def secret(self) -> SecretStr:
        """The app secret from its environment variable or file, registered for redaction."""
        value = read_secret("platform", self.secret_env, str(self.secret_file) if self.secret_file else None, allow_empty=False)
        if value is None:
            raise ConfigError("platform: give secret_env or secret_file for the app secret")
        return SecretStr(value)
