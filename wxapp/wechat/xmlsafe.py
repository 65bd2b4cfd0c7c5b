"""Parsing the XML WeChat posts, refusing anything hostile before wechatpy sees it.

wechatpy parses with xmltodict (expat), which expands internal entities. A body is first
parsed by defusedxml with DTDs, entities and external references forbidden, so an XML
bomb or an external entity is refused without expanding or fetching anything. WeChat's
messages use no attributes, no namespaces and nest at most a few levels (the 扫码 and 发图
events); anything else (XInclude, megabyte attributes, thousands of levels) is refused too.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_FIELDS = 64
# <xml><SendPicsInfo><PicList><item><PicMd5Sum> is the deepest WeChat sends: 5.
MAX_DEPTH = 6
# Read as text by wechatpy or by us: nested or repeated, they would reach the code as a
# dict or a list (xmltodict).
TEXT_FIELDS = frozenset(
    {"ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Content", "Event"}
    | {"EventKey", "Encrypt", "MsgID", "Status"}
)


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
    _check_shape(root)
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in TEXT_FIELDS and (len(child) or child.tag in fields):
            raise HostileXml(f"{child.tag} is not a single text")  # nested or repeated
        # Articles (news replies) nest; incoming messages and events are flat.
        fields[child.tag] = (child.text or "").strip() if len(child) == 0 else ""
    return fields


def _check_shape(root) -> None:
    """No attributes, no namespaces (XInclude), no nesting past MAX_DEPTH."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise HostileXml("nested too deep")
        if element.attrib or not isinstance(element.tag, str) or element.tag.startswith("{"):
            raise HostileXml("attributes or namespaces")
        stack.extend((child, depth + 1) for child in element)
