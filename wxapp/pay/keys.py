"""Sandbox key material for WeChat Pay v3, generated once under instance/ and reused.

Two RSA key pairs stand in for what a merchant gets from WeChat Pay: the merchant's API key
(signs requests; its serial number is the merchant certificate's) and the platform key
(微信支付公钥, signs responses and notifications; known by its PUB_KEY_ID). The private half
of the platform key is only ever used by the sandbox.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SANDBOX_DIR = "wechatpay-sandbox"
MERCHANT_KEY = "merchant_private_key.pem"
PLATFORM_KEY = "platform_private_key.pem"
PLATFORM_PUBLIC = "platform_public_key.pem"
IDS = "ids.json"


@dataclass(frozen=True)
class SandboxKeys:
    merchant_private_key: Path
    merchant_serial_no: str
    platform_private_key: Path
    platform_public_key: Path
    platform_public_key_id: str


def _pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    os.replace(tmp, path)


def ensure_sandbox_keys(instance_path: Path) -> SandboxKeys:
    """The sandbox keys under `instance_path`, generated on first use (safe across processes)."""
    folder = instance_path / SANDBOX_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # A file lock: two workers starting together must not each generate their own keys.
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ids_path = folder / IDS
        if not ids_path.exists():
            merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            platform = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write(folder / MERCHANT_KEY, _pem_private(merchant))
            _write(folder / PLATFORM_KEY, _pem_private(platform))
            _write(
                folder / PLATFORM_PUBLIC,
                platform.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
            ids = {
                "merchant_serial_no": secrets.token_hex(20).upper(),
                "platform_public_key_id": "PUB_KEY_ID_"
                + "".join(secrets.choice("0123456789") for _ in range(26)),
            }
            _write(ids_path, json.dumps(ids).encode())
        ids = json.loads(ids_path.read_text())
    return SandboxKeys(
        merchant_private_key=folder / MERCHANT_KEY,
        merchant_serial_no=ids["merchant_serial_no"],
        platform_private_key=folder / PLATFORM_KEY,
        platform_public_key=folder / PLATFORM_PUBLIC,
        platform_public_key_id=ids["platform_public_key_id"],
    )
