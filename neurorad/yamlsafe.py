"""YAML for manifests and settings: safe tags only, aliases bounded, values described briefly.

YAML aliases (``*name``) reuse an anchored node. PyYAML shares the object instead of copying
it, so a "billion laughs" document (each level a list of aliases to the level before) loads
quickly, but anything that walks or prints the value (``repr``, ``json.dumps``, a schema
check) then visits 10^9 nodes and never finishes. :class:`BoundedLoader` counts, while it
reads, how many nodes the document has once every alias is expanded, and stops with a
:class:`YAMLLimitError` naming the file and line as soon as that passes
:data:`MAX_EXPANDED_NODES` or the document uses more than :data:`MAX_ALIASES` aliases. An
alias to a node that contains it (a recursive structure) is refused too. Ordinary anchors
(a few shared blocks) stay allowed.

:func:`short_repr` describes a value from such a file in at most a few dozen characters
without visiting all of it, for error messages.
"""
from __future__ import annotations

import reprlib
from pathlib import Path

import yaml
from yaml.events import AliasEvent

from neurorad.errors import InputError

#: Most aliases (``*name``) one document may use.
MAX_ALIASES = 1000
#: Most nodes (scalars, lists, mappings) one document may have with every alias expanded;
#: a manifest of 20,000 subjects has about 1.5 million.
MAX_EXPANDED_NODES = 5_000_000


class YAMLLimitError(InputError):
    """A YAML document exceeds the alias / expansion limits, or its aliases are recursive.

    ``source`` is the file, ``detail`` the line and what is wrong (without the file).
    """

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source}, {detail}")
        self.source = source
        self.detail = detail


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that bounds aliases and the expanded size (module docstring)."""

    def __init__(self, stream, source: str = "<string>") -> None:
        super().__init__(stream)
        self.source = source
        self._aliases = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}  # id(node) -> expanded size, for composed nodes

    def _limit(self, event, message: str):
        line = event.start_mark.line + 1 if event.start_mark else "?"
        raise YAMLLimitError(self.source, f"line {line}: {message}")

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                self._limit(event, f"more than {MAX_ALIASES} YAML aliases (*name); write the "
                            "values out instead of referring to anchors")
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:
                self._limit(event, f"alias *{event.anchor} refers to a node that contains it "
                            "(recursive structures are not allowed)")
            self._count(event, size)
            return node
        event = self.peek_event()
        node = super().compose_node(parent, index)
        children = (node.value if isinstance(node, yaml.SequenceNode) else
                    [n for pair in node.value for n in pair]
                    if isinstance(node, yaml.MappingNode) else [])
        size = 1 + sum(self._sizes.get(id(c), 1) for c in children)
        self._sizes[id(node)] = size
        self._count(event, 1)
        return node

    def _count(self, event, size: int) -> None:
        self._expanded += size
        if self._expanded > MAX_EXPANDED_NODES:
            self._limit(event, f"more than {MAX_EXPANDED_NODES:,} values once its aliases "
                        "(*name) are expanded (a YAML alias bomb?)")


def load_yaml(text: str, source: str | Path = "<string>", loader=BoundedLoader):
    """The single YAML document in ``text`` through ``loader`` (a :class:`BoundedLoader`).

    Raises :class:`YAMLLimitError` (see the module docstring) or ``yaml.YAMLError``.
    """
    instance = loader(text, source=str(source))
    try:
        return instance.get_single_data()
    finally:
        instance.dispose()


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 2
_SHORT.maxstring = 40
_SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4


def short_repr(value, limit: int = 40) -> str:
    """``repr(value)`` cut to about ``limit`` characters, built without visiting more than a
    handful of elements (safe on huge or deeply shared values)."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
