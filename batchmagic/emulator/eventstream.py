"""AWS event-stream framing: the binary messages of streaming responses such as StartLiveTail.

Each message is a prelude (total and header lengths), the prelude's CRC32, string headers, the
payload and the message's CRC32; botocore's ``EventStreamBuffer`` decodes and checks them.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, prelude CRC, string headers, payload, message CRC."""
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += (struct.pack("!B", len(raw_name)) + raw_name
                    + struct.pack("!BH", 7, len(raw_value)) + raw_value)
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def event_message(event_type: str, body: dict[str, Any]) -> bytes:
    return encode_message({":message-type": "event", ":event-type": event_type,
                           ":content-type": "application/json"},
                          json.dumps(body).encode())


def exception_message(exception_type: str, message: str) -> bytes:
    return encode_message({":message-type": "exception", ":exception-type": exception_type,
                           ":content-type": "application/json"},
                          json.dumps({"message": message}).encode())
