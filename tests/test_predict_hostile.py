"""`python -m core predict` against a few thousand hostile lines: one strict-JSON answer per line, in order.

Each hostile line (broken JSON, non-objects, NaN and Infinity, huge numbers and
strings, deep nesting, lone surrogates, invalid UTF-8, wrong types, -1
everywhere, blank lines) is followed by a real 2020 accident. The real
accidents are also run alone, and must get the same answers in the mix.
"""

from __future__ import annotations

import json
import random
import select
import subprocess
import sys
import time

import pytest

from core import config
from core.features.training import incident_from_row, training_frame
from core.incident.fields import CODED_FIELDS, INCIDENT_FIELDS, MAX_FIELD_LENGTH, MAX_REASON_LENGTH

SEED = 20261203
ROUNDS = 90  # each round: every hostile kind once, each followed by a real accident


def _strict(raw: bytes) -> dict:
    """Decode an output line as strict UTF-8 and strict JSON (NaN and Infinity refused)."""

    def refuse(name: str) -> None:
        raise AssertionError(f"non-JSON constant {name} in {raw[:80]!r}")

    value = json.loads(raw.decode("utf-8", errors="strict"), parse_constant=refuse)
    assert isinstance(value, dict)
    return value


def hostile_lines(rng: random.Random, *, heavy: bool) -> list[tuple[str, bytes]]:
    """One line of every hostile kind (name, bytes without newline); some drawn at random.

    ``heavy`` adds the lines of megabytes (kept to a few rounds, to keep the input small).
    """
    text = "".join(rng.choice("abcdéè€😀\"\\{}[],:0123456789 ") for _ in range(rng.randint(1, 60)))
    field = rng.choice(INCIDENT_FIELDS)
    code_field = rng.choice(CODED_FIELDS)
    depth = 100_000 if heavy else rng.choice([2_000, 5_000])  # past any parser's depth limit
    digits = rng.choice([5_000, 20_000])
    lines = [
        ("truncated", json.dumps({"atm": 2, "vehicles": [7, 33]}).encode()[: rng.randint(1, 20)]),
        ("random text", text.encode("utf-8")),
        ("single quotes", b"{'atm': 2}"),
        ("trailing comma", b'{"atm": 2,}'),
        ("unclosed string", b'{"id": "abc'),
        ("array", b"[1, 2, 3]"),
        ("string", b'"hello"'),
        ("number", b"42"),
        ("null", b"null"),
        ("true", b"true"),
        ("NaN id", b'{"id": NaN}'),
        ("Infinity value", f'{{"{rng.choice(["vma", "lat", "n_people"])}": Infinity}}'.encode()),
        ("-Infinity", b'{"lon": -Infinity, "lat": 45}'),
        ("float overflow", f'{{"{rng.choice(["vma", "lat", "id"])}": 1e400}}'.encode()),
        ("huge integer value", f'{{"{field}": {"9" * digits}}}'.encode()),
        ("huge integer id", f'{{"id": {"1" * digits}}}'.encode()),
        ("big integer code", f'{{"{code_field}": {"7" * 300}}}'.encode()),
        ("huge string id", json.dumps({"id": "x" * rng.choice([201, 5_000])}).encode()),
        ("huge string value", json.dumps({field: "é" * 20_000}).encode()),
        ("huge key", json.dumps({"k" * 5_000: 1}).encode()),
        ("deep array", b"[" * depth + b"]" * depth),
        ("deep object", b'{"a":' * depth + b"1" + b"}" * depth),
        ("deep value", b'{"vehicles": ' + b"[" * 900 + b"]" * 900 + b"}"),
        ("lone surrogate id", b'{"id": "\\ud800"}'),
        ("lone surrogate value", b'{"dep": "\\udfff", "id": "ok"}'),
        ("lone surrogate key", b'{"\\ud83d": 1}'),
        ("invalid UTF-8", b'{"id": "\xc3\x28"}'),
        ("overlong UTF-8", b"\xc0\xaf\xff\xfe"),
        ("latin-1 id", '{"id": "façade"}'.encode("latin-1")),
        ("NUL bytes", b'{"atm": 2}\x00\x00'),
        ("wrong type code", f'{{"{code_field}": "deux"}}'.encode()),
        ("wrong type vehicles", b'{"vehicles": "7"}'),
        ("bool vehicle", b'{"vehicles": [true, 7]}'),
        ("fractional count", b'{"n_people": 2.5}'),
        ("number datetime", b'{"datetime": 2020}'),
        ("bool dep", b'{"dep": true}'),
        ("object id", b'{"id": {"a": 1}}'),
        ("list id", b'{"id": [1]}'),
        ("bool id", b'{"id": false}'),
        ("unknown field", b'{"weather": "rain"}'),
        ("lat without lon", b'{"lat": 48.85}'),
        ("pedestrians above people", b'{"n_pedestrians": 4, "n_people": 2}'),
        ("blank", b""),
        ("spaces", b"   \t "),
        ("carriage return only", b"\r"),
    ]
    if heavy:
        lines += [
            ("line over 1 MiB", b'{"id": "' + b"y" * (1 << 21) + b'"}'),
            ("huge string id", json.dumps({"id": "x" * 900_000}).encode()),
            ("huge string value", json.dumps({field: "é" * 400_000}).encode()),
        ]
    return lines


MINUS_ONE = {name: -1 for name in INCIDENT_FIELDS}


def _run(stdin: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "predict", *args], input=stdin, capture_output=True,
                          cwd=config.ROOT, timeout=600, check=False)


@pytest.fixture(scope="module")
def real_lines(store_con) -> list[bytes]:
    frame = training_frame(store_con, first_year=2020, last_year=2020).sample(ROUNDS * 50, random_state=SEED)
    return [json.dumps({**incident_from_row(row), "id": f"real-{i}"}).encode()
            for i, row in enumerate(frame.to_dict("records"))]


@pytest.fixture(scope="module")
def hostile_run(real_lines) -> dict:
    rng = random.Random(SEED)
    lines: list[tuple[str, bytes]] = [("BOM then real", b"\xef\xbb\xbf" + real_lines[0])]
    real_positions = {0: 0}  # position in the input -> index in real_lines
    used = 1
    for round_index in range(ROUNDS):
        kinds = [*hostile_lines(rng, heavy=round_index % 30 == 0),
                 ("minus one everywhere", json.dumps({**MINUS_ONE, "id": "minus"}).encode()),
                 ("real with CRLF", b"")]
        for name, raw in kinds:
            if name == "real with CRLF":
                real_positions[len(lines)] = used
                raw = real_lines[used] + b"\r"
                used += 1
            lines.append((name, raw))
            real_positions[len(lines)] = used
            lines.append(("real", real_lines[used]))
            used += 1
    stdin = b"\n".join(raw for _, raw in lines)  # the last line has no newline: it is answered too
    assert stdin.count(b"\n") == len(lines) - 1
    started = time.monotonic()
    done = _run(stdin)
    alone = _run(b"\n".join(real_lines[:used]) + b"\n")
    empty = _run(b"{}\n")
    return {"lines": lines, "done": done, "seconds": time.monotonic() - started, "real_positions": real_positions,
            "alone": alone, "empty": empty, "real_lines": real_lines[:used]}


def test_one_strict_json_answer_per_line_and_exit_0(hostile_run) -> None:
    done, lines = hostile_run["done"], hostile_run["lines"]
    assert done.returncode == 0, done.stderr[-2000:]
    assert b"Traceback" not in done.stderr
    assert done.stdout.endswith(b"\n")
    answers = done.stdout.split(b"\n")[:-1]
    assert len(answers) == len(lines) > 4000
    for (kind, _), raw in zip(lines, answers, strict=True):
        answer = _strict(raw)
        assert ("error" in answer) != ("p_severe" in answer), (kind, answer)


def test_every_hostile_line_gets_a_short_french_error(hostile_run) -> None:
    lines, answers = hostile_run["lines"], hostile_run["done"].stdout.split(b"\n")[:-1]
    for (kind, _), raw in zip(lines, answers, strict=True):
        if kind.startswith(("real", "BOM", "minus")):
            continue
        answer = _strict(raw)
        assert "error" in answer, (kind, answer)
        error = answer["error"]
        assert set(error) == {"field", "reason"} and error["field"] and len(error["field"]) <= MAX_FIELD_LENGTH + 1
        assert 0 < len(error["reason"]) <= MAX_REASON_LENGTH, (kind, error)
        assert "NoneType" not in error["reason"] and "got" not in error["reason"], (kind, error)
        if "id" in answer:  # echoed only when it could be echoed as it came
            assert isinstance(answer["id"], str | int | float) and not isinstance(answer["id"], bool)


def test_blank_and_broken_lines_name_their_line_number(hostile_run) -> None:
    lines, answers = hostile_run["lines"], hostile_run["done"].stdout.split(b"\n")[:-1]
    checked = 0
    for number, ((kind, _), raw) in enumerate(zip(lines, answers, strict=True), start=1):
        if kind in ("blank", "spaces", "carriage return only", "unclosed string", "NaN id", "invalid UTF-8",
                    "deep array", "line over 1 MiB", "huge integer id"):
            error = _strict(raw)["error"]
            assert error["field"] == "line" and error["reason"].startswith(f"ligne {number}"), (kind, error)
            checked += 1
    assert checked >= ROUNDS * 8  # "line over 1 MiB" comes in a few rounds only


def test_minus_one_everywhere_means_unknown(hostile_run) -> None:
    empty = _strict(hostile_run["empty"].stdout.split(b"\n")[0])
    lines, answers = hostile_run["lines"], hostile_run["done"].stdout.split(b"\n")[:-1]
    minus = [_strict(raw) for (kind, _), raw in zip(lines, answers, strict=True) if kind == "minus one everywhere"]
    assert len(minus) == ROUNDS
    for answer in minus:
        assert answer["id"] == "minus" and answer["warnings"] == []
        assert {k: v for k, v in answer.items() if k != "id"} == empty


def test_real_lines_get_the_answers_they_get_alone(hostile_run) -> None:
    answers = hostile_run["done"].stdout.split(b"\n")[:-1]
    alone = [_strict(raw) for raw in hostile_run["alone"].stdout.split(b"\n")[:-1]]
    assert hostile_run["alone"].returncode == 0 and len(alone) == len(hostile_run["real_lines"])
    assert len(hostile_run["real_positions"]) == len(alone)
    for position, index in hostile_run["real_positions"].items():
        mixed, expected = _strict(answers[position]), alone[index]
        assert mixed["id"] == expected["id"] == f"real-{index}"
        # Batches differ in size (tree arrays or XGBoost): probabilities agree within the 4-decimal rounding.
        for name in ("p_severe", "p_fatal"):
            assert mixed[name] == pytest.approx(expected[name], abs=1.01e-4)
        same = ("support", "support_severe_share", "model_version", "warnings")
        assert {k: mixed[k] for k in same} == {k: expected[k] for k in same}
        assert [f["field"] for f in mixed["top_factors"]] == [f["field"] for f in expected["top_factors"]]


def test_a_live_pipe_gets_each_answer_before_more_input_comes(real_lines) -> None:
    """Input left open: every line is answered without waiting for a batch to fill or for the end."""
    process = subprocess.Popen([sys.executable, "-m", "core", "predict"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=config.ROOT)
    try:
        for number, raw in enumerate([*real_lines[:5], b"{not json", b"", real_lines[5]]):
            process.stdin.write(raw + b"\n")
            process.stdin.flush()
            # Generous: the first answer waits for the model to load; the figure is in bench/predict.py.
            ready, _, _ = select.select([process.stdout], [], [], 60 if number == 0 else 10)
            assert ready, f"line {number + 1} got no answer while the input stayed open"
            answer = _strict(process.stdout.readline())
            assert ("p_severe" in answer) or ("error" in answer)
        process.stdin.close()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
