"""Personal data: validation of ID numbers and phones, encryption at rest, keyed hashes, masking.

Ciphertexts carry their key id (`k2:...`), so a new key can be introduced while old rows still decrypt, and a
rotation re-encrypts them. Keyed hashes (HMAC-SHA256) find a person by ID number or phone without storing either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from libs.db import beijing_date
from libs.reference import divisions

_PHONE = re.compile(r"^1[3-9]\d{9}$")


class PiiError(ValueError):
    """A value that cannot be personal data of the kind asked for; `code` is stable, the message Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    gender: str  # "male" | "female", from the 17th digit
    birthplace_code: str  # the 6-digit county code of registration

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def parse_resident_id(value: str) -> ResidentId:
    """GB 11643: 18 characters, ISO 7064 MOD 11-2 check digit, a real birth date, and an address code that
    existed at some time from the birth year on.

    The address code is where the number was first issued, which may be years after birth: a worker born in
    1985 in what became 610502 (临渭区, created 1995) carries 610502. So the check is not "existed at the birth
    date" (python-stdnum's) but "not abolished before the birth year", against the dated division table."""
    number = ric.compact(value)
    if len(number) != 18:
        raise PiiError("id_number_length", "身份证号码应为 18 位")
    if not number[:-1].isascii() or not number[:-1].isdigit() or number[-1] not in "0123456789X":
        raise PiiError("id_number_format", "身份证号码前 17 位应为数字，最后一位为数字或 X")
    if number[-1] != ric.calc_check_digit(number):
        raise PiiError("id_number_check_digit", "身份证号码校验位错误")
    try:
        birth = ric.get_birth_date(number)
    except InvalidComponent as error:
        raise PiiError("id_number_birth_date", "身份证号码中的出生日期无效") from error
    if birth > beijing_date():
        raise PiiError("id_number_birth_date", "身份证号码中的出生日期在未来")
    if not address_code_plausible(number[:6], birth.year):
        raise PiiError("unknown_county", "身份证号码中的户籍地（县级行政区划）代码不存在，或在出生前已撤销")
    gender = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentId(number=number, birth_date=birth, gender=gender, birthplace_code=number[:6])


def address_code_plausible(code: str, birth_year: int) -> bool:
    """A county- or prefecture-level code (early numbers carry a city's 市辖区 or prefecture code) that was in
    force in some year from the birth year on."""
    return any(
        row.level != "province" and (row.valid_to is None or row.valid_to >= birth_year)
        for row in divisions.history(code)
    )


def normalise_phone(value: str) -> str:
    """Mainland mobile numbers, with or without +86 and separators."""
    digits = re.sub(r"[\s\-()]", "", value)
    digits = digits.removeprefix("+86").removeprefix("0086")
    if not _PHONE.match(digits):
        raise PiiError("phone_format", "手机号码应为 11 位中国大陆手机号")
    return digits


def mask_id_number(number: str) -> str:
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


class PiiVault:
    """AES-256-GCM with the field name as associated data (a ciphertext cannot be moved to another field)."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str, hash_key: bytes) -> None:
        if active_key_id not in keys:
            raise ValueError("the active PII key id is not among the keys")
        if any(len(key) != 32 for key in keys.values()) or len(hash_key) < 32:
            raise ValueError("PII keys must be 32 bytes, the hash key at least 32 bytes")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id
        self._hash_key = hash_key

    def encrypt(self, plaintext: str, field: str) -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, plaintext.encode(), field.encode())
        return f"{self.active_key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, field: str) -> str:
        key_id, _, body = token.partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise KeyError(f"no PII key {key_id!r} configured")
        raw = base64.urlsafe_b64decode(body.encode())
        try:
            return cipher.decrypt(raw[:12], raw[12:], field.encode()).decode()
        except InvalidTag as error:
            raise ValueError(f"ciphertext of {field} does not verify") from error

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(f"{self.active_key_id}:")

    def keyed_hash(self, value: str, purpose: str) -> str:
        """Stable for look-ups (the same ID number always gives the same hash), useless without the key."""
        return hmac.new(self._hash_key, f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def decode_key(text: str) -> bytes:
    """Keys travel as base64 (standard or URL-safe) or hex."""
    text = text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64,}", text):
        return bytes.fromhex(text)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vault_from_settings(keys: dict[str, str], active_key_id: str, hash_key: str) -> PiiVault:
    return PiiVault(
        {key_id: decode_key(text) for key_id, text in keys.items()}, active_key_id, decode_key(hash_key)
    )
