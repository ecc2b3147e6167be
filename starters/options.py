"""Command-line options generated from the message models, so a field added to a model is an
option at once and the two cannot drift apart.

Each field `some_field` becomes `--some-field`; a nested model's fields become
`--field-sub-field` (`person.id` -> `--person-id`). Values are passed on as given (strings,
ints, lists) and checked by the model afterwards, so refusals name the model's field.
"""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel


@dataclass(frozen=True)
class Option:
    path: tuple[str, ...]  # where the value goes in the payload: ("person", "id")

    @property
    def flag(self) -> str:
        return "--" + "-".join(self.path).replace("_", "-")

    @property
    def dest(self) -> str:
        return "msg__" + "__".join(self.path)  # prefixed: never clashes with --address etc.


@dataclass(frozen=True)
class MessageCommand:
    command: str  # e.g. record-visit
    message: str  # the workflow's message name, e.g. record_visit
    model: type[BaseModel]
    kind: str  # update | signal
    fixed: dict[tuple[str, ...], Any] = field(default_factory=dict)  # values the command sets itself
    options: list[Option] = field(default_factory=list)


def _plain(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `None` (and whether it allowed None)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(typing.get_args(annotation))
    return annotation, False


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas (e.g. 0,3,5), got {text!r}"
        ) from None


def add_model_options(
    parser: argparse.ArgumentParser,
    spec: MessageCommand,
    model: type[BaseModel] | None = None,
    prefix: tuple[str, ...] = (),
) -> None:
    model = model or spec.model
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        if path in spec.fixed:
            continue
        kind, _ = _plain(info.annotation)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            add_model_options(parser, spec, kind, path)
            continue
        option = Option(path)
        spec.options.append(option)
        required = _required(spec.model, path)
        helptext = info.description or ""
        if kind is bool:
            # --seen / --no-seen. A required flag left out means False (a visit where the child
            # was not seen); an optional one left out is not sent, so the model's default applies.
            parser.add_argument(
                option.flag,
                dest=option.dest,
                action=argparse.BooleanOptionalAction,
                default=False if required else None,
                help=helptext or None,
            )
            continue
        kwargs: dict[str, Any] = {"dest": option.dest, "required": required, "default": None}
        if typing.get_origin(kind) is Literal:
            kwargs["metavar"] = "{" + ",".join(map(str, typing.get_args(kind))) + "}"
        elif kind is date:
            kwargs["metavar"] = "YYYY-MM-DD"
        elif kind is int:
            kwargs["type"] = int
        elif typing.get_origin(kind) is list:
            kwargs.update(type=_int_list, metavar="N,N,...")
        else:
            kwargs["metavar"] = name.upper()
        parser.add_argument(option.flag, help=helptext or None, **kwargs)


def _required(model: type[BaseModel], path: tuple[str, ...]) -> bool:
    """Whether the field and every model above it are required (the fields of an optional
    nested model are optional on the command line)."""
    for name in path:
        info = model.model_fields[name]
        if not info.is_required():
            return False
        model = _plain(info.annotation)[0]
    return True


def payload_from(spec: MessageCommand, args: argparse.Namespace) -> dict[str, Any]:
    """Only the fields the user gave (plus the command's fixed values), nested as the model
    expects."""
    payload: dict[str, Any] = {}
    given = {o.path: getattr(args, o.dest) for o in spec.options if getattr(args, o.dest) is not None}
    for path, value in (*given.items(), *spec.fixed.items()):
        target = payload
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return payload
