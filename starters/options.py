"""Command-line options generated from the message models, so a field added to a model is an
option at once and the two cannot drift apart.

Each field `some_field` becomes `--some-field`; a nested model's fields become
`--field-sub-field` (`person.id` -> `--person-id`). Values are passed on as given (strings,
ints, lists) and checked by the model afterwards, so refusals name the model's field.
"""

from __future__ import annotations

import argparse
import os
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from starters.cases.messages import ClientMessage

# ---------------------------------------------------------------------- options every command takes

JSON_HELP = "print JSON (stable for scripts) instead of text"
CONNECTION_ENV = {"address": "TEMPORAL_ADDRESS", "namespace": "TEMPORAL_NAMESPACE"}


def add_common(parser: argparse.ArgumentParser, *, connect: bool = True, json_output: bool = True) -> None:
    """--address/--namespace (and --json) on a parser. They are added to the top-level parser
    and to every sub-command (and complaint step) alike, with no default, so they may be typed
    before or after the sub-command: `settle_common` fills in what was not given."""
    if connect:
        parser.add_argument(
            "--address",
            default=argparse.SUPPRESS,
            help="Temporal frontend host:port (default: $TEMPORAL_ADDRESS, else the client config)",
        )
        parser.add_argument(
            "--namespace",
            default=argparse.SUPPRESS,
            help="Temporal namespace (default: $TEMPORAL_NAMESPACE, else the client config)",
        )
    if json_output:
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=JSON_HELP)


def settle_common(args: argparse.Namespace, *, from_environment: bool = True) -> argparse.Namespace:
    """Defaults for the options `add_common` leaves unset: the environment (unless the command
    only uses a server it is pointed at), else None; --json off."""
    for name, variable in CONNECTION_ENV.items():
        if getattr(args, name, None) is None:
            setattr(args, name, os.environ.get(variable) if from_environment else None)
    if not hasattr(args, "json"):
        args.json = False
    return args


def plan_ref(text: str) -> str:
    """A PLAN_ID argument: the plan id, or the workflow id `cpplan start` and the Temporal UI
    show (`cp-plan-ID`)."""
    import workflows

    return text.strip().removeprefix(workflows.workflow_id(""))


TODAY = "today"
DATE_METAVAR = "YYYY-MM-DD|today"


def day_text(text: str) -> str:
    """A date option's value: `today` is London's today (so a command can be written once and
    typed any day); anything else is passed on for the model to check."""
    if text.strip().lower() == TODAY:
        from starters.cases import today_in_london

        return today_in_london().isoformat()
    return text


def add_delivery_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """--request-id and --timeout of a message sub-command (`kind`: update or signal)."""
    if kind == "update":
        default = "derived from the plan, the command and its values, so repeating a command is harmless"
        after = "the update may still be applied when a worker comes; retrying with the same request id is safe"
    else:
        default = "a new one each time, so a report is never dropped as a repeat"
        after = "retry with the same --request-id"
    parser.add_argument(
        "--request-id",
        dest="request_id",
        metavar="REF",
        help=f"your reference for this request: sending the {kind} again with the same one applies it once "
        f"(default: {default})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help=f"give up after this long without an answer (default 30; exit status 3): {after}",
    )


# What each message field means, for --help. Keyed by field name (a message may override it
# as "message.field"); every field of every message has an entry (tests/cli checks).
FIELD_HELP = {
    "date": "the day it happened, YYYY-MM-DD or today (not in the future, not before the plan's conference)",
    "seen": "whether the child was seen (--seen) or not (--no-seen, e.g. no access): one of them is required",
    "seen_alone": "the child was seen alone",
    "bedroom_seen": "the child's bedroom was seen",
    "location": "where the visit took place (default home; at school is 'other')",
    "parents_refused_seen_alone": "the parents refused to let the child be seen alone",
    "again": "another visit on a day that already has one recorded (without it, refused as the same visit twice)",
    "by": "the id of the person who did it or agreed it (a manager where the rule needs one)",
    "interval_working_days": "visit the child every N working days (1-60)",
    "reason_ref": "reference to the recorded reason, in the case system",
    "next_date": "the date set for the next core group, YYYY-MM-DD",
    "member_id": "the id of the core group member who signed",
    "kind": "which meeting",
    "outcome": "what the conference decided",
    "exceptional_reason": "why the plan ends at the first review (exceptional circumstances only)",
    "next_review_date": "the date set for the next review conference, YYYY-MM-DD",
    "scores": "the conference's scaling scores, 0-10, separated by commas",
    "step_down_not_needed": "why no child-in-need step-down meeting is needed",
    "rationale_ref": "reference to the recorded rationale for ending without a child-in-need plan",
    "receiving_authority": "the id of the authority the plan is transferred to",
    "transfer_conference_date": "the date of the receiving authority's transfer conference, YYYY-MM-DD",
    "review_date": "the date of the early review conference, YYYY-MM-DD",
    "to": "the id of the person escalated to",
    "summary_ref": "reference to the incident's record in the case system",
    "person_id": "the id of the new (or covering) lead social worker",
    "person_email": "their e-mail address, for reminders",
    "person_mobile": "their UK mobile number, for urgent alerts by text message (GOV.UK Notify)",
    "cover_until": "the last day of the cover, YYYY-MM-DD (leave out for a permanent change)",
    "obligation_id": "the obligation met, as `cpplan status` lists it (e.g. cin-meeting-1)",
    "schedule_meeting.date": "the date the meeting is arranged for, YYYY-MM-DD (today or later)",
    "report_incident.kind": "what happened",
    "record_review_conference.by": "the manager who agreed an exceptional end at the first review",
    "excluded_parents": "ids of the parents (or carers) of the core group the chair excluded from this review "
    "conference, separated by commas: each is given the report before it (with --by, the chair or a manager)",
    "core_group_interval_weeks": "the core groups' interval the conference set, in weeks (1-26)",
    "seen_alone_interval_weeks": "the interval the conference set for the child seen alone, in weeks (1-26)",
    "attended": "ids of those who attended the conference, separated by commas",
    "apologies": "ids of those who sent apologies, separated by commas",
    "reports_received": "ids of those whose report the conference received, separated by commas",
    "record_delivery_failure.key": "the notification's outbox key ({plan_id}:{what}:{person_id})",
    "record_delivery_failure.to": "the id of the person the notification was for",
    "record_delivery_failure.channel": "how it went: notify or smtp",
    "record_delivery_failure.medium": "email or sms",
    "record_delivery_failure.status": "what the channel said: permanent-failure, temporary-failure, technical-failure or no-receipt",
    "record_delivery_failure.date": "the day it was known, YYYY-MM-DD",
}


def field_help(message: str, path: tuple[str, ...]) -> str | None:
    name = "_".join(path)
    return FIELD_HELP.get(f"{message}.{name}") or FIELD_HELP.get(name)


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
    """A message's sub-command: the client's message (starters/cases/messages.py) and the
    options the parser made for its fields."""

    spec: ClientMessage
    options: list[Option] = field(default_factory=list)

    @property
    def command(self) -> str:  # e.g. record-visit
        return self.spec.command

    @property
    def message(self) -> str:  # the workflow's message name, e.g. record_visit
        return self.spec.name

    @property
    def model(self) -> type[BaseModel]:
        return self.spec.model

    @property
    def kind(self) -> str:  # update | signal
        return self.spec.kind

    @property
    def fixed(self) -> dict[tuple[str, ...], Any]:  # values the command sets itself
        return self.spec.fixed


def _plain(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `None` (and whether it allowed None)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and typing.get_origin(args[0]) is typing.Annotated:
            args = [typing.get_args(args[0])[0]]  # `Count | None`: an int for the command line
        return (args[0] if len(args) == 1 else annotation), len(args) < len(typing.get_args(annotation))
    return annotation, False


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas (e.g. 0,3,5), got {text!r}"
        ) from None


def _item(kind: Any) -> Any:
    """A list's item type, without its annotations (`list[Annotated[int, ...]]` -> int)."""
    item = typing.get_args(kind)[0]
    return typing.get_args(item)[0] if typing.get_origin(item) is typing.Annotated else item


def _ref_list(text: str) -> list[str]:
    """Ids separated by commas (`hv-1,gp-1`); each is checked by the model."""
    return [part.strip() for part in text.split(",") if part.strip()]


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
        helptext = info.description or field_help(spec.message, path) or ""
        if kind is bool:
            # --seen / --no-seen. A required flag must be given one way or the other: a visit
            # recorded without saying whether the child was seen is not a visit record. An
            # optional one left out is not sent, so the model's default applies.
            parser.add_argument(
                option.flag,
                dest=option.dest,
                action=OneWayFlag,
                required=required,
                default=None,
                help=helptext or None,
            )
            continue
        kwargs: dict[str, Any] = {"dest": option.dest, "required": required, "default": None}
        if typing.get_origin(kind) is Literal:
            kwargs["metavar"] = "{" + ",".join(map(str, typing.get_args(kind))) + "}"
        elif kind is date:
            kwargs.update(type=day_text, metavar=DATE_METAVAR)
        elif kind is int:
            kwargs["type"] = int
        elif typing.get_origin(kind) is list and _item(kind) is int:
            kwargs.update(type=_int_list, metavar="N,N,...")
        elif typing.get_origin(kind) is list:
            kwargs.update(type=_ref_list, metavar="ID,ID,...")
        else:
            kwargs["metavar"] = name.upper()
        parser.add_argument(option.flag, help=helptext or None, **kwargs)


class OneWayFlag(argparse.BooleanOptionalAction):
    """--seen or --no-seen, once: both (or either twice) is a usage error, not "the last wins"
    (a visit recorded as seen by a command that also said it was not is not a record)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is not None:
            raise argparse.ArgumentError(self, f"give one of {' or '.join(self.option_strings)}, once")
        super().__call__(parser, namespace, values, option_string)


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
