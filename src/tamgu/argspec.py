"""Command-line options generated from a function's signature, type annotations and docstring (as LightningCLI
and fastcore's `call_parse` do): a default exists once, in the function, and the command line cannot drift
from it.

    Parameter without a default -> positional (a list type: one or more)   bool = False -> --flag
    bool = True                 -> --no-flag                               Literal[...]  -> choices
    list/tuple of numbers or words (as an option) -> comma-separated: --angles -10,0,10

Help text comes from the docstring's `Args:` block (`name: what it is`), else from `COMMON` of the command
table. A TrainConfig-like pydantic model contributes its fields (their `description`) the same way.
"""

from __future__ import annotations

import argparse
import inspect
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class Option:
    name: str                  # the function's parameter name
    default: Any               # EMPTY for a required positional
    annotation: Any
    help: str = ""
    positional: bool = False
    required: bool = False     # a required --option (no default, but not positional)
    shown: Any = None          # the default to show in the help when `default` is None (a config's own)


@dataclass(frozen=True)
class Shape:
    """How a command's parameters become options beyond what the signature says."""

    positional: tuple[str, ...] = ()        # parameters with a default that are positional all the same (nargs ?)
    required: tuple[str, ...] = ("out",)    # parameters without a default that are --options all the same
    rename: dict[str, str] = field(default_factory=dict)    # parameter -> option name (fmt -> format)
    const: dict[str, Any] = field(default_factory=dict)     # --opt alone means this value (nargs ?)
    exclusive: tuple[tuple[str, ...], ...] = ()             # at most one of each group
    python_only: tuple[str, ...] = ()       # parameters that take Python objects (arrays, models)
    repeat: tuple[str, ...] = ()            # options given once per value (--line 0,0,9,9 --line ...), each as text
    config: Any = None                      # a pydantic model whose fields are options too (train's TrainConfig)
    config_fields: tuple[str, ...] | None = None  # only these of its fields (None: all but data/out)
    config_group: str = "run options (also settable in --config YAML; flags win)"


def doc_args(fn: Callable) -> dict[str, str]:
    """`name: text` lines of the docstring's `Args:` block (continuation lines indented deeper)."""
    doc = inspect.getdoc(fn) or ""
    m = re.search(r"^Args:\s*\n(.*?)(?:\n\S|\Z)", doc, re.S | re.M)
    out: dict[str, str] = {}
    if not m:
        return out
    current = None
    for line in m.group(1).splitlines():
        hit = re.match(r"^\s{2,4}(\w+):\s*(.*)$", line)
        if hit:
            current = hit.group(1)
            out[current] = hit.group(2).strip()
        elif current and line.strip():
            out[current] += " " + line.strip()
    return out


def summary_line(fn: Callable) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def options_of(fn: Callable, shape: Shape, common: dict[str, str]) -> list[Option]:
    """The function's parameters as options (and the config model's fields, for `**options`)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is read as text below
        hints = {}
    docs = doc_args(fn)
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            if shape.config is not None:
                out += config_options(shape)
            continue
        if p.name in shape.python_only:
            continue
        ann = hints.get(p.name, p.annotation)
        required = p.default is EMPTY and p.name in shape.required and p.name not in shape.positional
        out.append(Option(p.name, p.default, ann, docs.get(p.name) or common.get(p.name, ""),
                          positional=(p.default is EMPTY and not required) or p.name in shape.positional,
                          required=required))
    return out


def config_options(shape: Shape) -> list[Option]:
    model = shape.config
    wanted = shape.config_fields or [n for n in model.model_fields if n not in ("data", "out")]
    out = []
    for n in wanted:
        f = model.model_fields[n]
        # fields the model parses from text itself (image_size "160x120") are passed on as text
        ann = str if get_origin(_base(f.annotation)[0]) is tuple else f.annotation
        out.append(Option(n, None, ann, f.description or "", shown=f.default))
    return out


def _base(ann: Any) -> tuple[Any, bool]:
    """(the type without None, whether None was allowed)."""
    if get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        return (args[0] if len(args) == 1 else ann), len(args) < len(get_args(ann))
    return ann, False


def _is_list(ann: Any) -> bool:
    """A list/tuple/sequence type (a union that merely allows one, like `str | tuple[int, int]`, is read as text)."""
    ann, _ = _base(ann)
    return get_origin(ann) in (list, tuple, Sequence, typing.Sequence)


def _scalar(ann: Any) -> Callable[[str], Any]:
    """How one value is read: int, float, or text (paths and names stay text)."""
    ann, _ = _base(ann)
    if get_origin(ann) in (list, tuple, Sequence, typing.Sequence):
        inner = [a for a in get_args(ann) if a is not Ellipsis]
        return _scalar(inner[0]) if inner else str
    if ann is bool:
        return _bool
    if ann in (int, float):
        return ann
    return str


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def _comma_list(read: Callable[[str], Any]) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            return [read(v.strip()) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: give comma-separated values, e.g. 1,2,3") from None
    parse.__name__ = "comma-separated list"
    return parse


def _shown(default: Any) -> str:
    if isinstance(default, tuple) and len(default) == 2 and all(isinstance(v, int) for v in default):
        return f"{default[0]}x{default[1]}"  # an image size
    if isinstance(default, (list, tuple)):
        return ",".join(str(v) for v in default)
    return str(default)


def add_options(parser: argparse.ArgumentParser, options: list[Option], shape: Shape) -> None:
    """One argparse argument per option; defaults are the function's, shown in the help."""
    groups = {}
    for names in shape.exclusive:
        g = parser.add_mutually_exclusive_group()
        for n in names:
            groups[n] = g
    config_names = set(shape.config.model_fields) if shape.config is not None else set()
    run_group = parser.add_argument_group(shape.config_group) if config_names else None
    for o in options:
        target = groups.get(o.name) or (run_group if o.name in config_names and o.default is None
                                        and o.name not in shape.positional and run_group else parser)
        flag = "--" + shape.rename.get(o.name, o.name).replace("_", "-")
        ann, optional = _base(o.annotation)
        text = o.help
        kw: dict[str, Any] = {"dest": o.name}
        if get_origin(ann) is Literal:
            kw["choices"] = list(get_args(ann))
        if o.positional:
            kw.pop("dest")
            many = _is_list(o.annotation) or o.name in ("inputs", "runs")
            nargs = "+" if many else ("?" if o.default is not EMPTY else None)
            if nargs:
                kw["nargs"] = nargs
            if o.default is not EMPTY:
                kw["default"] = o.default
            target.add_argument(o.name, help=text, type=_scalar(o.annotation) if not many else str, **kw)
            continue
        if ann is bool and (o.default is True or (o.default is None and o.shown is True)):
            # a config field's flag left out stays None (unset): the config's own default holds
            target.add_argument(f"--no-{flag[2:]}", action="store_false", default=o.default,
                                help=f"{text} (on by default; --no-{flag[2:]} turns it off)", **kw)
            continue
        if ann is bool:
            # a config field's flag left out stays None (unset), so that --config YAML's value holds
            target.add_argument(flag, action="store_true", default=None if o.default is None else bool(o.default),
                                help=text, **kw)
            continue
        if o.name in shape.repeat:
            target.add_argument(flag, help=f"{text} (repeatable)", metavar=flag[2:].upper(), action="append", type=str,
                                default=list(o.default or ()), **kw)
            continue
        if o.name in shape.const:
            kw.update(nargs="?", const=shape.const[o.name])
            text += f" (alone: {shape.const[o.name]})"
        kw["type"] = _comma_list(_scalar(o.annotation)) if _is_list(o.annotation) else _scalar(o.annotation)
        if o.default is not None and o.default is not EMPTY:
            text += f" (default {_shown(o.default)})"
        elif o.shown is not None and "default" not in text:
            text += f" (default {_shown(o.shown)})"
        elif not text:
            text = "optional"
        if o.required:
            kw["required"] = True
        if o.default is not EMPTY:
            kw["default"] = list(o.default) if isinstance(o.default, tuple) and kw["type"] is not str else o.default
        target.add_argument(flag, help=text, metavar=o.name.upper() if "choices" not in kw else None, **kw)


def value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Option strings that take a value (for reading `--angles -10,0,10`, whose value starts with a minus)."""
    out = set()
    for action in parser._actions:  # noqa: SLF001 - argparse exposes no public list of its actions
        if action.option_strings and action.nargs != 0:
            out.update(action.option_strings)
    return out


def join_dash_values(argv: list[str], takes_value: set[str]) -> list[str]:
    """`--angles -10,0,10` -> `--angles=-10,0,10`: argparse would read a value that starts with '-' and is not
    a plain negative number as an option of its own."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in takes_value and i + 1 < len(argv) and re.match(r"^-\.?\d", argv[i + 1]):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def call_values(fn: Callable, ns: argparse.Namespace, options: list[Option]) -> dict[str, Any]:
    """Keyword arguments for `fn` from parsed options; a config model's fields only when given (None = unset)."""
    names = {p.name for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_KEYWORD}
    out = {}
    for o in options:
        v = getattr(ns, o.name)
        if o.name in names or v is not None:
            out[o.name] = tuple(v) if isinstance(v, list) and isinstance(o.default, tuple) else v
    return out
