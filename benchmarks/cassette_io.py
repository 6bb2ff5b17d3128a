"""Cassette load speed and size, as ratios against baselines measured in the same run.

    python benchmarks/cassette_io.py [--repeats 7]

For a 200- and a 2,000-step tool-calling session it prints:
- load + validate of the retake cassette vs the same session as a vcrpy-style YAML cassette
  loaded with PyYAML's C loader (target: >= 50x faster at 2,000 steps);
- vs a bare ``msgpack.unpackb`` of every frame of the same file, the floor (target: <= 3x);
  and, for context, vs that decode plus parsing the tool outputs that format 2 stores as JSON
  text (the least any loader must do to hold the same data as plain Python objects);
- bytes on disk vs naive msgpack storing every request's full message list (target: <= 1/5);
- the 2,000-step vs 200-step load-time ratio (target: <= 12x; linear is 10x).

The retake load and the two decode floors are timed in turn on every repeat, so a burst of
load on a shared machine slows all three alike and their ratios hold.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import msgpack
import orjson
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from retake import store
from retake.schema import Cassette, Message, ModelEvent
from sessions import session

_REQUEST_HEADERS = {
    "accept": ["application/json"],
    "accept-encoding": ["gzip, deflate"],
    "connection": ["keep-alive"],
    "content-type": ["application/json"],
    "host": ["api.openai.com"],
    "user-agent": ["OpenAI/Python 1.30.1"],
    "x-stainless-arch": ["x64"],
    "x-stainless-async": ["false"],
    "x-stainless-lang": ["python"],
    "x-stainless-os": ["Linux"],
    "x-stainless-package-version": ["1.30.1"],
    "x-stainless-runtime": ["CPython"],
    "x-stainless-runtime-version": ["3.11.7"],
}
_RESPONSE_HEADERS = {
    "CF-RAY": ["88a1b2c3d4e5f607-AMS"],
    "Connection": ["keep-alive"],
    "Content-Type": ["application/json"],
    "Date": ["Fri, 27 Nov 2026 09:00:00 GMT"],
    "Server": ["cloudflare"],
    "Transfer-Encoding": ["chunked"],
    "X-Content-Type-Options": ["nosniff"],
    "alt-svc": ['h3=":443"; ma=86400'],
    "cf-cache-status": ["DYNAMIC"],
    "openai-organization": ["<REDACTED>"],
    "openai-processing-ms": ["812"],
    "openai-version": ["2020-10-01"],
    "strict-transport-security": ["max-age=31536000; includeSubDomains"],
    "x-ratelimit-limit-requests": ["10000"],
    "x-ratelimit-limit-tokens": ["2000000"],
    "x-ratelimit-remaining-requests": ["9999"],
    "x-ratelimit-remaining-tokens": ["1995000"],
    "x-ratelimit-reset-requests": ["6ms"],
    "x-ratelimit-reset-tokens": ["150ms"],
    "x-request-id": ["req_0123456789abcdef0123456789abcdef"],
}


def _wire_message(message: Message) -> dict[str, object]:
    wire: dict[str, object] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        wire["tool_call_id"] = message.tool_call_id
    return wire


def vcr_yaml(cassette: Cassette, *, parsed: bool) -> str:
    """The session's model traffic as a vcrpy cassette: each exchange with its full bodies in
    the OpenAI Chat Completions wire format and the headers a real exchange carries.

    ``parsed=True`` stores bodies as YAML mappings (``parsed_body``, as pydantic-ai's test
    cassettes do, readable in review); ``parsed=False`` as JSON strings (vcrpy's default).
    Tool calls are local functions that vcrpy does not see, so they are left out, which
    favours YAML."""
    tools = [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in cassette.header.tools
    ]
    interactions = []
    for event in cassette.events:
        if not isinstance(event, ModelEvent):
            continue
        body = {
            "messages": [_wire_message(m) for m in event.request.messages],
            "model": event.request.model,
            "tools": tools,
            **event.request.params,
        }
        reply = {
            "id": f"chatcmpl-{event.seq:029d}",
            "object": "chat.completion",
            "created": 1795770000 + event.seq,
            "model": "gpt-4o-2024-08-06",
            "choices": [
                {
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": event.response.stop_reason,
                    "message": _wire_message(
                        Message(
                            role="assistant",
                            content=event.response.text,
                            tool_calls=event.response.tool_calls,
                        )
                    ),
                }
            ],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 40, "total_tokens": 1040},
            "system_fingerprint": "fp_0123456789",
        }
        request: dict[str, object] = {
            "headers": _REQUEST_HEADERS,
            "method": "POST",
            "uri": "https://api.openai.com/v1/chat/completions",
        }
        response: dict[str, object] = {
            "headers": _RESPONSE_HEADERS,
            "status": {"code": 200, "message": "OK"},
        }
        if parsed:
            request["parsed_body"], response["parsed_body"] = body, reply
        else:
            request["body"], response["body"] = json.dumps(body), {"string": json.dumps(reply)}
        interactions.append({"request": request, "response": response})
    return yaml.dump({"interactions": interactions, "version": 1}, Dumper=yaml.CSafeDumper)


def c_safe_load(text: str) -> object:
    """PyYAML's C loader with the safe constructor: the fastest loader vcrpy can use."""
    return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: TID251 (CSafeLoader is safe)


def naive_size(cassette: Cassette) -> int:
    """Bytes of the session packed as it is, each request with its full message list."""
    frames = [msgpack.packb(cassette.header.model_dump(mode="json"))]
    frames += [msgpack.packb(e.model_dump()) for e in cassette.events]
    return sum(len(f) + 9 for f in frames) + 10


def bare_decode(data: bytes) -> list[object]:
    """The floor: msgpack.unpackb of every frame payload into Python objects, kept, as any
    loader must keep them; no checks, no validation, no objects of retake's."""
    pos, head, decoded = 10, struct.Struct(">cII"), []
    while pos < len(data):
        _, length, _ = head.unpack_from(data, pos)
        decoded.append(msgpack.unpackb(data[pos + 9 : pos + 9 + length]))
        pos += 9 + length
    return decoded


def bare_decode_parsed(data: bytes) -> list[object]:
    """``bare_decode``, then each ``output_json`` text parsed with orjson into the output."""
    decoded = bare_decode(data)
    for payload in decoded:
        if isinstance(payload, dict) and "output_json" in payload:
            payload["output"] = orjson.loads(payload.pop("output_json"))
    return decoded


class Timing(NamedTuple):
    """Wall times of repeated runs, in seconds."""

    median: float
    low: float
    high: float

    def spread(self) -> str:
        return f"[{self.low * 1000:.0f}-{self.high * 1000:.0f}]"


def _timed(fn: Callable[[], object], gc_paused: bool) -> float:
    """One wall time. ``gc_paused`` pauses the cyclic GC as retake's loader does, and
    re-enables it inside the timed region. Every timed call is treated alike: a collection
    that is due (retake's loader pauses the collector too) runs inside the timing, and so does
    dropping the result."""
    gc.collect()
    start = time.perf_counter()
    if gc_paused:
        gc.disable()
        kept = fn()
        gc.enable()
    else:
        kept = fn()
    _ = [None]  # an allocation, so a collection that is due runs inside the timing
    del kept
    return time.perf_counter() - start


def _timing(times: list[float]) -> Timing:
    return Timing(statistics.median(times), min(times), max(times))


def median_time(fn: Callable[[], object], repeats: int, *, gc_paused: bool = False) -> Timing:
    """Wall times of ``repeats`` runs of one function (see ``_timed``)."""
    return _timing([_timed(fn, gc_paused) for _ in range(repeats)])


def interleaved(
    runs: dict[str, tuple[Callable[[], object], bool]], repeats: int
) -> dict[str, Timing]:
    """Wall times of several functions, taken in turn on every repeat: on a shared machine
    a burst of load then slows them all alike, so their ratios hold (``(fn, gc_paused)``)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (fn, gc_paused) in runs.items():
            times[name].append(_timed(fn, gc_paused))
    return {name: _timing(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="retake-bench-"))
    loads: dict[int, float] = {}
    for steps in (200, 2000):
        cassette = session(steps)
        path = store.save(cassette, tmp / f"s{steps}.retake")
        data = path.read_bytes()
        assert store.load(path) == cassette
        timed = interleaved(
            {
                "bare": (lambda d=data: bare_decode(d), True),
                "parsed": (lambda d=data: bare_decode_parsed(d), True),
                "retake": (lambda p=path: store.load(p), False),
            },
            args.repeats,
        )
        bare, parsed_floor, retake = timed["bare"], timed["parsed"], timed["retake"]
        yaml_repeats = max(1, args.repeats // 3) if steps > 1000 else args.repeats
        texts = {parsed: vcr_yaml(cassette, parsed=parsed) for parsed in (True, False)}
        slow = {
            parsed: median_time(lambda t=t: c_safe_load(t), yaml_repeats)
            for parsed, t in texts.items()
        }
        naive = naive_size(cassette)
        ours, floor = retake.median, bare.median
        loads[steps] = ours
        print(f"{steps} steps, {len(cassette.events)} events (medians, [min-max] ms)")
        print(
            f"  retake load+validate   {ours * 1000:9.1f} ms {retake.spread():>11}"
            f"   ({len(data) / 1e6:.2f} MB)"
        )
        for parsed, label in ((True, "parsed bodies"), (False, "string bodies")):
            print(
                f"  vcrpy YAML, {label}  {slow[parsed].median * 1000:9.1f} ms"
                f" {slow[parsed].spread():>11}   ({len(texts[parsed]) / 1e6:.2f} MB)"
                f"   -> retake is {slow[parsed].median / ours:.0f}x faster"
                + ("  (target >= 50x at 2,000)" if parsed else "")
                + f"; the floor is {slow[parsed].median / floor:.0f}x faster"
            )
        print(
            f"  bare msgpack decode    {floor * 1000:9.1f} ms {bare.spread():>11}"
            f"   -> retake is {ours / floor:.2f}x the floor (target <= 3x)"
        )
        print(
            f"  ... + outputs parsed   {parsed_floor.median * 1000:9.1f} ms"
            f" {parsed_floor.spread():>11}   -> retake is {ours / parsed_floor.median:.2f}x"
            " the same data as plain objects"
        )
        print(
            f"  bytes: retake {len(data):,} vs naive {naive:,}"
            f"   -> {len(data) / naive:.3f} of naive (target <= 0.2 at 2,000)"
        )
    print(f"2,000 vs 200 steps load time: {loads[2000] / loads[200]:.1f}x (target <= 12x)")


if __name__ == "__main__":
    main()
