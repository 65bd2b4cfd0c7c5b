"""Parsing the XML WeChat posts, refusing anything hostile before wechatpy sees it.

wechatpy parses with xmltodict (expat), which expands internal entities. A body is first
parsed by defusedxml with DTDs, entities and external references forbidden, so an XML
bomb or an external entity is refused without expanding or fetching anything.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_FIELDS = 64


class HostileXml(ValueError):
    """Malformed XML, a DTD, an entity, or not a flat WeChat `<xml>` message."""


def parse_flat(text: str | bytes) -> dict[str, str]:
    """The children of a WeChat `<xml>` root as a dict of text values."""
    if not text:
        raise HostileXml("empty body")
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise HostileXml(str(err) or type(err).__name__) from None
    if root.tag != "xml" or len(root) > MAX_FIELDS:
        raise HostileXml("not a WeChat message")
    fields: dict[str, str] = {}
    for child in root:
        # Articles (news replies) nest; incoming messages and events are flat.
        fields[child.tag] = (child.text or "").strip() if len(child) == 0 else ""
    return fields
