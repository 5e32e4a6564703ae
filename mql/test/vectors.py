#!/usr/bin/env python3
"""The EAs' frame builders and parser against protocol/vectors.

Terminal → agent vectors: each record line of the vector's wire text is rebuilt with the EA's own
builder (Protocol.mqh: TmRecordHello, TmRecordAccount, …, TmFrame) from that line's values, and the
frame must equal the vector field by field; decimal fields compare by value, since SPEC §3 lets the
EA write `10000.00` where the vector has `10000` (DoubleToString with the symbol's digits).
Agent → EA vectors (valid.json and invalid.json): TmParseAgentFrame must accept the valid ones and
refuse the invalid ones.

Usage: vectors.py BUILD-DIR (the translated sources from mql/test/run; writes BUILD-DIR/vectors.cpp)
"""
import json
import os
import subprocess
import sys
from decimal import Decimal, InvalidOperation

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False) + "_mql"


def digits_of(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def builder_call(fields: list) -> str:
    """The EA builder call that should produce this record line (its values taken from the line)."""
    tag, f = fields[0], fields[1:]
    s, i, d = c_string, (lambda t: f"{int(t)}L"), (lambda t: f"{t}")
    if tag == "I":
        return (f"TmRecordHello({s(f[0])}, {i(f[1])}, {i(f[2])}, {s(f[3])}, {s(f[4])}, {s(f[5])}, {int(f[6])}, "
                f"{s(f[7])}, {i(f[8])}, {s(f[9])}, {i(f[10])})")
    if tag == "A":
        money = max(digits_of(x) for x in f[1:5])
        return f"TmRecordAccount({i(f[0])}, {d(f[1])}, {d(f[2])}, {d(f[3])}, {d(f[4])}, {money})"
    if tag == "S":
        return (f"TmRecordSymbol({s(f[0])}, {int(f[1])}, {s(f[2])}, {d(f[3])}, {d(f[4])}, {d(f[5])}, {s(f[6])}, "
                f"{s(f[7])}, {s(f[8])})")
    if tag == "P":
        money = max(digits_of(f[6]), digits_of(f[7]))
        return (f"TmRecordPosition({i(f[0])}, {s(f[1])}, {s(f[2])}, {d(f[3])}, {max(2, digits_of(f[3]))}, {d(f[4])}, "
                f"{digits_of(f[4])}, {i(f[5])}, {d(f[6])}, {d(f[7])}, {money})")
    if tag == "Q":
        return f"TmRecordQuote({s(f[0])}, {i(f[1])}, {d(f[2])}, {d(f[3])}, {max(digits_of(f[2]), digits_of(f[3]))})"
    if tag == "C":
        return f"TmRecordChange({s(f[0])}, {i(f[1])})"
    if tag == "D":
        money = max(digits_of(x) for x in f[7:11])
        return (f"TmRecordDeal({i(f[0])}, {i(f[1])}, {s(f[2])}, {s(f[3])}, {s(f[4])}, {d(f[5])}, "
                f"{max(2, digits_of(f[5]))}, {d(f[6])}, {digits_of(f[6])}, {d(f[7])}, {d(f[8])}, {d(f[9])}, {d(f[10])}, "
                f"{money}, {i(f[11])}, {s(f[12])})")
    if tag == "N":
        return f"TmRecordPositionCount({int(f[0])})"
    if tag == "H":
        return f"TmRecordHeartbeat({i(f[0])})"
    if tag == "B":
        return f"TmRecordBye({s(f[0])})"
    if tag == "K":
        return f"TmRecordCommandAck({i(f[0])}, {i(f[1])}, {'true' if f[2] == '1' else 'false'}, {s(f[3])})"
    raise SystemExit(f"no builder for record {tag}")


def same_field(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    try:
        return Decimal(expected) == Decimal(actual)
    except InvalidOperation:
        return False


def main() -> None:
    build = sys.argv[1]
    valid = json.load(open(os.path.join(ROOT, "protocol/vectors/valid.json")))
    invalid = json.load(open(os.path.join(ROOT, "protocol/vectors/invalid.json")))
    terminal = [v for v in valid if v["direction"] == "terminal"]
    agent = [(v, True) for v in valid if v["direction"] == "agent"] + \
            [(v, False) for v in invalid if v.get("direction") == "agent" and "wire" in v]

    lines = ['#include <Tidemark/Protocol.mqh>', "#include <iostream>", "int main() {"]
    for v in terminal:
        wire_lines = v["wire"].split("\n")[:-1]
        header = wire_lines[0].split("\t")
        records = " + ".join(builder_call(line.split("\t")) for line in wire_lines[1:]) or '""_mql'
        lines.append(f'  std::cout << MqlText(TmFrame({c_string(header[1])}, {c_string(header[2])}, {int(header[3])}L, '
                     f'{records})) << "\\x1e";')
    for v, _ in agent:
        lines.append(f'  {{ TmAgentMessage m; bool ok = TmParseAgentFrame({c_string(v["wire"])}, m); '
                     f'std::cout << (ok ? "accepted" : "refused: " + MqlText(m.error)) << "\\x1e"; }}')
    lines += ["  return 0;", "}"]
    source = os.path.join(build, "vectors.cpp")
    with open(source, "w") as f:
        f.write("\n".join(lines) + "\n")
    binary = os.path.join(build, "vectors")
    shim = os.path.join(ROOT, "mql/test/shim")
    subprocess.run(["g++", "-std=c++17", "-D__MQL5__", "-I", shim, "-I", os.path.join(build, "Include"), source,
                    os.path.join(shim, "runtime.cpp"), "-o", binary], check=True)
    outputs = subprocess.run([binary], check=True, capture_output=True, text=True).stdout.split("\x1e")

    problems = []
    for v, built in zip(terminal, outputs):
        expected = [line.split("\t") for line in v["wire"].split("\n")]
        actual = [line.split("\t") for line in built.split("\n")]
        if len(expected) != len(actual) or any(len(e) != len(a) or not all(map(same_field, e, a))
                                               for e, a in zip(expected, actual)):
            problems.append(f"{v['name']}: built {built!r}, vector {v['wire']!r}")
    for (v, should_accept), result in zip(agent, outputs[len(terminal):]):
        if (result == "accepted") != should_accept:
            problems.append(f"{v['name']}: {result} (vector is {'valid' if should_accept else 'invalid'})")
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"{len(terminal)} terminal frames built and {len(agent)} agent frames parsed against protocol/vectors; "
          f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
