"""``retake scan`` and ``retake redact``: find secrets left in files; re-redact a cassette."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from retake.errors import RetakeError

from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    KeyFile,
    PolicyFile,
    console,
    err_console,
    error,
    find_cassettes,
    redaction_policy,
    user_errors,
)
from ._lazy import lazy

if TYPE_CHECKING:
    from retake import _yamlfile, pipeline, redact, store
else:
    pipeline, redact, store = lazy("retake.pipeline"), lazy("retake.redact"), lazy("retake.store")
    _yamlfile = lazy("retake._yamlfile")

_TEXT_SUFFIXES = (".json", ".jsonl", ".yaml", ".yml", ".txt", ".log", ".md")


def _other_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _TEXT_SUFFIXES)
            )
        elif not path.name.endswith(_cassette_suffixes()):
            found.append(path)
    return found


def _parse(path: Path) -> Any:
    """The file's JSON or YAML value; its text when it is neither (or too deep to read)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text
    if path.suffix in (".yaml", ".yml"):
        try:
            return _yamlfile.safe_load(text)
        except (yaml.YAMLError, ValueError, RecursionError):
            return text  # read as text: a document too large once its aliases are followed too
    return text


def scan(
    paths: Annotated[list[Path], typer.Argument(help="Cassettes, files or directories.")],
    any_file: Annotated[
        bool,
        typer.Option("--any-file", help="Also scan JSON, YAML and text files (vcrpy cassettes)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON lines.")] = False,
    policy_file: PolicyFile = None,
) -> None:
    """Run every redaction detector over cassettes (and, with --any-file, other files);
    exit 1 when anything is found. A --policy adds its patterns, headers and fields."""
    with user_errors():
        policy = redaction_policy(policy_file, None)
    findings: list[tuple[Path, redact.Finding]] = []
    scanned = 0
    for path in find_cassettes(paths):
        if any_file and path.is_file() and not path.name.endswith(_cassette_suffixes()):
            continue  # a file named as it is: scanned below, as the text it holds
        scanned += 1
        try:
            cassette = store.load(path, allow_truncated=True)
        except RetakeError as exc:
            error(exc)
            raise typer.Exit(EXIT_USAGE) from None
        findings.extend((path, f) for f in redact.scan_cassette(cassette, policy=policy))
    if any_file:
        for path in _other_files(paths):
            scanned += 1
            try:
                if not path.is_file():  # a pipe would be read for ever
                    raise OSError(f"{str(path)!r} is not a regular file")
                data = _parse(path)
            except OSError as exc:
                error(
                    f"cannot read {str(path)!r}: {exc.strerror or exc}. Check its permissions, "
                    "or leave it out."
                )
                raise typer.Exit(EXIT_USAGE) from None
            try:
                findings.extend((path, f) for f in redact.scan(data, path="", policy=policy))
            except RetakeError as exc:
                error(f"{path}: {exc}")
                raise typer.Exit(EXIT_USAGE) from None
            # A secret split across a stream's deltas shows only with the stream read whole.
            streams = pipeline.scan_streams(data, policy=policy)
            findings.extend((path, f) for f in streams.findings)
            for line in streams.unread:
                err_console.print(f"note: {path}: {line}", highlight=False)
    if scanned == 0:
        error(
            f"nothing to scan under {', '.join(map(str, paths))}"
            + ("" if any_file else " (no cassettes; add --any-file for other files)")
        )
        raise typer.Exit(EXIT_USAGE)
    for path, finding in findings:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "file": str(path),
                        "path": finding.path,
                        "detector": finding.detector,
                        "preview": finding.preview,
                    }
                )
            )
        else:
            console.print(f"{path}: {finding.describe()}", highlight=False, soft_wrap=True)
    if not as_json:
        console.print(f"{scanned} files scanned, {len(findings)} findings", highlight=False)
    if findings:
        raise typer.Exit(EXIT_FAILED)


def redact_command(
    source: Annotated[Path, typer.Argument(help="The cassette to re-redact.")],
    target: Annotated[Path, typer.Argument(help="Where to write the result.")],
    key_file: KeyFile = None,
    policy_file: PolicyFile = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace TARGET.")] = False,
) -> None:
    """Redact a cassette again, with a new policy (--policy) or key, into a new file."""
    with user_errors():
        cassette = store.load(source)
        policy = redaction_policy(policy_file, key_file)
        redacted = pipeline.save_redacted(
            cassette, target, redact.Redactor(policy), overwrite=overwrite
        )
    counts = ", ".join(f"{k}: {v}" for k, v in redacted.header.redaction.counts.items()) or "none"
    console.print(f"wrote {target} (replaced: {counts})", highlight=False)


def _cassette_suffixes() -> tuple[str, str]:
    return store.SUFFIX, store.SUFFIX + store.PARTIAL_SUFFIX
