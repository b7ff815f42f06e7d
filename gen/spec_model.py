"""spec_model.py — the model of a weft spec: plain dataclasses.

The parser (spec_parse.py) builds it, the checker (spec_check.py) validates
it and fills the derived fields, the templates read it.  Every node keeps
the source position it came from so diagnostics can point at it.
"""

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass(frozen=True)
class Pos:
    line: int
    col: int


@dataclass
class Capture:
    name: str
    pos: Pos
    index: int = 0                  # order of appearance in its grammar
    path: tuple = ()                # ((union, alternative), ...) it is in


@dataclass
class Grammar:
    """A Ragel expression with its named captures.

    `ragel` is the expression as Ragel text with each capture wrapped in the
    actions that mark its start and end (see capture_actions in the
    templates); `source` is the expression as written, for messages.
    """
    ragel: str
    pos: Pos
    captures: List[Capture] = field(default_factory=list)
    refs: list = field(default_factory=list)    # [(name, Pos)] used
    unions: list = field(default_factory=list)  # alternatives per tracked
                                                # union (see spec_parse)


@dataclass
class Define:
    name: str
    grammar: Grammar
    pos: Pos


@dataclass
class Setting:
    """A value with the position of the statement that set it."""
    value: object
    pos: Pos


@dataclass
class Mode:
    name: str
    kind: str                       # 'line', 'counted', 'until', 'close'
    pos: Pos
    initial: bool = False
    entry: bool = False             # declared `entry`: entered from C
    delimiter: Optional[Setting] = None   # line: bytes; until: the mark
    max_line: Optional[Setting] = None    # line: int; until: `max N`
    match: Optional[Grammar] = None
    empty: Optional[Setting] = None       # value: target mode name or None
    next: Optional[Setting] = None        # value: mode name
    trailer: Optional[Setting] = None     # counted: bytes
    # Filled by the checker:
    index: int = 0
    next_index: int = -1
    empty_index: int = -1
    eff_delimiter: bytes = b""
    eff_max_line: int = 0

    @property
    def is_line(self):
        return self.kind == 'line'

    @property
    def is_raw(self):
        return self.kind != 'line'

    @property
    def captures(self):
        return self.match.captures if self.match else []


@dataclass
class Spec:
    path: str                       # as given on the command line
    source: str
    name: Optional[str] = None
    name_pos: Optional[Pos] = None
    delimiter: Optional[Setting] = None
    max_line: Optional[Setting] = None
    defines: List[Define] = field(default_factory=list)
    modes: List[Mode] = field(default_factory=list)
    # Filled by the checker:
    initial: Optional[Mode] = None
    eff_delimiter: bytes = b"\r\n"
    eff_max_line: int = 16384

    def mode(self, name):
        for m in self.modes:
            if m.name == name:
                return m
        return None
