"""A small RFC 8941 Structured Field Values parser and serialiser.

RFC 9421 signatures and RFC 9530 digests travel in structured-field
dictionaries, and the signature base must re-serialise the parameters exactly,
so we need both directions. Only what those headers use is implemented:
dictionaries, inner lists, parameters, and the bare item types.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from federation.errors import SignatureMalformedError


class Token(str):
    """An sf-token, kept distinct from sf-string because it serialises unquoted."""

    __slots__ = ()


BareItem = int | float | str | Token | bytes | bool
Parameters = dict[str, BareItem]


@dataclass(frozen=True)
class Item:
    """A bare item with its parameters."""

    value: BareItem
    params: Parameters = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    """A parenthesised list of items, with the list's own parameters."""

    items: list[Item]
    params: Parameters = field(default_factory=dict)


Member = Item | InnerList

_KEY_START = re.compile(r"[a-z*]")
_KEY_CHARS = re.compile(r"[a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> SignatureMalformedError:
        return SignatureMalformedError(f"bad structured field at {self.pos}: {why}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def key(self) -> str:
        if not _KEY_START.match(self.peek()):
            raise self.fail("expected a key")
        match = _KEY_CHARS.match(self.text, self.pos + 1)
        end = match.end() if match else self.pos + 1
        key = self.text[self.pos : end]
        self.pos = end
        return key

    def bare_item(self) -> BareItem:
        ch = self.peek()
        if ch == '"':
            return self.string()
        if ch == ":":
            match = _BYTES.match(self.text, self.pos)
            if not match:
                raise self.fail("bad byte sequence")
            self.pos = match.end()
            try:
                return base64.b64decode(match.group(1), validate=True)
            except binascii.Error as exc:
                raise self.fail("bad base64") from exc
        if ch == "?":
            value = self.text[self.pos + 1 : self.pos + 2]
            if value not in ("0", "1"):
                raise self.fail("bad boolean")
            self.pos += 2
            return value == "1"
        if ch == "-" or ch.isdigit():
            match = _NUMBER.match(self.text, self.pos)
            if not match:
                raise self.fail("bad number")
            self.pos = match.end()
            return float(match.group(0)) if match.group(1) else int(match.group(0))
        match = _TOKEN.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return Token(match.group(0))
        raise self.fail("expected an item")

    def string(self) -> str:
        self.pos += 1  # opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\"):
                    raise self.fail("bad escape")
                out.append(nxt)
                self.pos += 1
            elif ch == '"':
                return "".join(out)
            elif not (" " <= ch <= "~"):
                raise self.fail("bad character in string")
            else:
                out.append(ch)
        raise self.fail("unterminated string")

    def parameters(self) -> Parameters:
        params: Parameters = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip_sp()
            name = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[name] = value
        return params

    def item_or_inner_list(self) -> Member:
        if self.peek() == "(":
            self.pos += 1
            items: list[Item] = []
            while True:
                self.skip_sp()
                if self.peek() == ")":
                    self.pos += 1
                    return InnerList(items, self.parameters())
                if not self.peek():
                    raise self.fail("unterminated inner list")
                value = self.bare_item()
                items.append(Item(value, self.parameters()))
                if self.peek() not in (" ", ")"):
                    raise self.fail("expected space or ')'")
        value = self.bare_item()
        return Item(value, self.parameters())


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse an sf-dictionary; raises ``SignatureMalformedError`` on bad input."""
    parser = _Parser(text)
    result: dict[str, Member] = {}
    parser.skip_sp()
    if not parser.peek():
        return result
    while True:
        name = parser.key()
        if parser.peek() == "=":
            parser.pos += 1
            result[name] = parser.item_or_inner_list()
        else:
            result[name] = Item(True, parser.parameters())
        parser.skip_ows()
        if not parser.peek():
            return result
        if parser.peek() != ",":
            raise parser.fail("expected ','")
        parser.pos += 1
        parser.skip_ows()
        if not parser.peek():
            raise parser.fail("trailing comma")


def serialize_bare_item(value: BareItem) -> str:
    """Serialise one bare item in its canonical RFC 8941 form."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def serialize_params(params: Parameters) -> str:
    """Serialise parameters (``;name=value``, booleans true as bare ``;name``)."""
    out: list[str] = []
    for name, value in params.items():
        if value is True:
            out.append(f";{name}")
        else:
            out.append(f";{name}={serialize_bare_item(value)}")
    return "".join(out)


def serialize_inner_list(inner: InnerList) -> str:
    """Serialise an inner list with its parameters, as the signature base needs."""
    members = " ".join(
        serialize_bare_item(item.value) + serialize_params(item.params) for item in inner.items
    )
    return f"({members}){serialize_params(inner.params)}"
