"""``retake mutate`` and ``retake matrix``: author scenarios from real cassettes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from retake.errors import InputFileError

from ._common import EXIT_USAGE, console, error, find_cassettes, user_errors, writable
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import mutate, store
    from retake.schema import Cassette
else:
    mutate, store = lazy("retake.mutate"), lazy("retake.store")


def _split(flag: str, value: str, parts: int = 2) -> list[str]:
    pieces = value.split(":", parts - 1)
    if len(pieces) != parts or not all(pieces):
        raise typer.BadParameter(f"{value!r} is not of the form TOOL:VALUE", param_hint=flag)
    return pieces


def _number(flag: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a whole number", param_hint=flag) from None


def mutate_command(
    cassette: Annotated[Path, typer.Argument(help="The recorded cassette.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The scenario file to write.")],
    tool_error: Annotated[list[str], typer.Option(help="TOOL:STATUS, the tool fails.")] = [],  # noqa: B006
    timeout: Annotated[list[str], typer.Option(help="TOOL, the tool times out.")] = [],  # noqa: B006
    rate_limit: Annotated[list[str], typer.Option(help="TOOL:TIMES, 429s first.")] = [],  # noqa: B006
    inject: Annotated[list[str], typer.Option(help="TOOL:TEXT, a prompt injection.")] = [],  # noqa: B006
    revoke_role: Annotated[list[str], typer.Option(help="A role the user loses.")] = [],  # noqa: B006
    switch_tenant: Annotated[str | None, typer.Option(help="Another tenant.")] = None,
    drop_confirmation: Annotated[list[str], typer.Option(help="A confirmation lost.")] = [],  # noqa: B006
    force_call: Annotated[
        list[str], typer.Option(help='TOOL:JSON, the model calls it: issue_refund:{"amount":900}')
    ] = [],  # noqa: B006
    expect: Annotated[
        list[str], typer.Option(help="An expectation, NAME or NAME:JSON (see retake check).")
    ] = [],  # noqa: B006
    description: Annotated[str, typer.Option(help="What the scenario tests.")] = "",
    seed: Annotated[int, typer.Option(help="Seeds the mutations' random choices.")] = 0,
    trials: Annotated[int, typer.Option(min=1, help="Replays per run.")] = 1,
    materialize: Annotated[
        Path | None, typer.Option(help="Also write the mutated cassette here, for retake show.")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace the mutated cassette if it exists."),
    ] = False,
) -> None:
    """Author a scenario from a cassette and mutation flags."""
    specs: list[dict[str, Any]] = []
    flags: list[tuple[str, str]] = []  # the flag and value each spec came from, for messages

    def add(flag: str, value: str, spec: dict[str, Any]) -> None:
        specs.append(spec)
        flags.append((flag, value))

    for value in tool_error:
        tool, status = _split("--tool-error", value)
        add(
            "--tool-error",
            value,
            {"kind": "error", "tool": tool, "status": _number("--tool-error", status)},
        )
    for tool in timeout:
        add("--timeout", tool, {"kind": "timeout", "tool": tool})
    for value in rate_limit:
        tool, times = _split("--rate-limit", value)
        add(
            "--rate-limit",
            value,
            {"kind": "rate_limit", "tool": tool, "times": _number("--rate-limit", times)},
        )
    for value in inject:
        tool, text = _split("--inject", value)
        add("--inject", value, {"kind": "inject", "tool": tool, "text": text})
    for role in revoke_role:
        add("--revoke-role", role, {"kind": "revoke_role", "role": role})
    if switch_tenant:
        add("--switch-tenant", switch_tenant, {"kind": "switch_tenant", "tenant": switch_tenant})
    for confirmation in drop_confirmation:
        add(
            "--drop-confirmation",
            confirmation,
            {"kind": "drop_confirmation", "confirmation": confirmation},
        )
    for value in force_call:
        tool, arguments = _split("--force-call", value)
        try:
            add(
                "--force-call",
                value,
                {"kind": "force_call", "tool": tool, "arguments": json.loads(arguments)},
            )
        except ValueError:
            raise typer.BadParameter(
                f"{arguments!r} is not JSON", param_hint="--force-call"
            ) from None
    expectations: list[dict[str, Any]] = []
    for value in expect:
        name, _, params = value.partition(":")
        try:
            expectations.append({name: json.loads(params) if params else {}})
        except ValueError:
            raise typer.BadParameter(f"{params!r} is not JSON", param_hint="--expect") from None
    if not specs:
        error("give at least one mutation flag (see --help).")
        raise typer.Exit(EXIT_USAGE)
    from retake.expect import parse as parse_expectations  # here: --expect is named expect

    try:
        parse_expectations(expectations)
    except ValueError as exc:
        raise typer.BadParameter(
            str(exc).removeprefix("expectations."), param_hint="--expect"
        ) from None
    with user_errors():
        recorded = store.load(cassette)
        try:
            scenario = mutate.Scenario.model_validate(
                {
                    "cassette": mutate.relative_cassette(cassette, output),
                    "description": description,
                    "mutations": specs,
                    "expectations": expectations,
                    "seed": seed,
                    "trials": trials,
                }
            )
        except ValueError as exc:  # a pydantic ValidationError
            _refuse_flag(exc, flags)
        for index, why in mutate.selector_misses(scenario, recorded):
            flag, value = flags[index]
            raise typer.BadParameter(
                f"{value!r} matches nothing: {why}. Point it at a call the recording makes.",
                param_hint=flag,
            )
        _refuse_no_ops(cassette, recorded, scenario, flags)
        writable(output, inputs=[cassette], what="the scenario")
        if materialize is not None:  # checked in full before anything is written
            if materialize.resolve() == output.resolve():
                raise InputFileError("--materialize and -o name the same file; give two paths.")
            writable(
                materialize, inputs=[cassette], what="the mutated cassette", replaces_cassette=True
            )
            if materialize.exists() and not overwrite:
                raise InputFileError(
                    f"{str(materialize)!r} exists; pass --overwrite to replace it, or choose "
                    "another path.",
                    path=materialize,
                )
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(mutate.scenario_yaml(scenario), encoding="utf-8")
        console.print(f"wrote {output}", highlight=False)
        if materialize is not None:
            store.save(mutate.materialize(recorded, scenario), materialize, overwrite=overwrite)
            console.print(f"wrote {materialize} (retake show it)", highlight=False)


def _refuse_flag(exc: ValueError, flags: list[tuple[str, str]]) -> NoReturn:
    """Name the flag whose value the scenario refused, in one sentence (not pydantic's text)."""
    from pydantic import ValidationError  # here: importing the CLI loads no pydantic

    if not isinstance(exc, ValidationError):
        raise InputFileError(f"the flags do not make a valid scenario: {exc}") from exc
    error = exc.errors()[0]
    loc = error["loc"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if len(loc) < 2 or loc[0] != "mutations" or not isinstance(loc[1], int):
        field = ".".join(str(part) for part in loc) or "(top level)"
        raise InputFileError(f"the flags do not make a valid scenario: {field}: {message}.")
    flag, value = flags[loc[1]]
    field = ".".join(str(part) for part in loc[3:])  # after mutations.N.KIND
    gives = f" gives {field}={error['input']!r}" if field else ""
    raise typer.BadParameter(f"{value!r}{gives}: {message}", param_hint=flag)


def _refuse_no_ops(
    path: Path, recorded: Cassette, scenario: mutate.Scenario, flags: list[tuple[str, str]]
) -> None:
    """Refuse a permission flag that, applied alone, leaves the recording's permission context
    as it was (a role never held, the tenant it ran for, a confirmation never given): a
    scenario of it would test nothing. Other flags act on what the release does, which the
    recording cannot show in full (a call forced where none was recorded), so they pass."""
    context = recorded.header.permission_context
    for spec, (flag, value) in zip(scenario.mutations, flags, strict=True):
        if mutate.family_of(spec) != "permissions":
            continue
        alone = mutate.materialize(recorded, scenario.model_copy(update={"mutations": (spec,)}))
        if alone.events == recorded.events and alone.header.permission_context == context:
            raise InputFileError(
                f"{flag} {value!r} changes nothing in {str(path)!r}: its session ran with "
                f"roles={list(context.roles)!r}, tenant={context.tenant!r}, "
                f"confirmations={list(context.confirmations)!r}, and its recorded calls and "
                "answers stay the same. Give a value that differs from the recording. Nothing "
                "was written."
            )


FAMILIES = ("faults", "permissions", "injection", "turns", "model")
"""``mutate.FAMILIES``, spelled out so ``--help`` needs no stage (a test keeps them equal)."""


def matrix(
    cassettes: Annotated[list[Path], typer.Argument(help="Cassette files or directories.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The folder to write into.")],
    families: Annotated[
        str, typer.Option(help=f"Comma-separated, from: {', '.join(FAMILIES)}.")
    ] = ",".join(FAMILIES),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace scenario files already there.")
    ] = False,
) -> None:
    """Write the cassettes x mutation families grid as scenario files, one per cell."""
    chosen = [f.strip() for f in families.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in mutate.FAMILIES]
    if unknown:
        raise typer.BadParameter(
            f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; choose "
            f"from {', '.join(mutate.FAMILIES)}",
            param_hint="--families",
        )
    written = skipped = 0
    with user_errors():
        output.mkdir(parents=True, exist_ok=True)
        cells: list[tuple[Path, str]] = []  # every cell first: a refusal writes nothing
        for path in find_cassettes(cassettes, partial=False):
            recorded: Cassette = store.load(path)
            stem = path.name.removesuffix(store.SUFFIX)
            for family in chosen:
                target = output / f"{stem}--{family}.yaml"
                cell = mutate.matrix_cell(
                    recorded,
                    mutate.relative_cassette(path, target),
                    family,  # type: ignore[arg-type]
                )
                if cell is None:
                    skipped += 1
                else:
                    cells.append((target, mutate.scenario_yaml(cell)))
        there = [target for target, _ in cells if target.exists()]
        if there and not overwrite:
            raise InputFileError(
                f"{len(there)} of the scenario files exist already (first {str(there[0])!r}); "
                "pass --overwrite to replace them, or choose another folder. Nothing was "
                "written.",
                path=there[0],
            )
        for target, text in cells:
            target.write_text(text, encoding="utf-8")
            written += 1
    console.print(
        f"wrote {written} scenarios to {output} ({skipped} cells where the family does not apply)",
        highlight=False,
    )
