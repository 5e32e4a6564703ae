#!/usr/bin/env python3
"""The source-to-source step: an unmodified MQL4/MQL5 file in, C++ that includes the shim out.

MQL is close to C++ but has a few constructs C++ lacks. Each rewrite below is one line-local,
mechanical change; anything else in the EA files reaches the C++ compiler as written, so the
compiler checks the EA code itself and not a hand translation of it.

| MQL                                   | C++ after this step                                          |
|---------------------------------------|--------------------------------------------------------------|
| `#property name value`                | a comment (terminal metadata; nothing to compile)            |
| `#include <Dir\\File.mqh>`            | `#include <Dir/File.mqh>` (MetaEditor accepts both slashes)  |
| `#import "lib.dll"` … `#import`       | `namespace mql_import_lib {` … `} using namespace …;`        |
| `input T name = v;` / `sinput`        | `const T name = MqlInput<T>("name", v);` (inputs are read-only in MQL; the harness sets them per scenario) |
| `T name[];`, `T name[N];`             | `MqlArray<T> name;`, `MqlArray<T> name = MqlArray<T>::Fixed(N);` |
| `T &name[]`, `const T &name[]`        | `MqlArray<T> &name`, `const MqlArray<T> &name`               |
| `"text"`                              | `"text"_mql` (an MQL string: `"a" + "b"` is concatenation in MQL) |

Usage: mql2cpp.py INPUT OUTPUT
"""
import re
import sys

KEYWORDS = {"return", "else", "case", "delete", "new", "goto", "typedef", "using", "throw"}

ARRAY_PARAMETER = re.compile(r"\b(const\s+)?(\w+)\s*&\s*(\w+)\s*\[\s*\]")
ARRAY_DECLARATION = re.compile(r"^(\s*)(\w+)(\s+)(\w+)\s*\[\s*(\w*)\s*\]\s*;(.*)$")
INPUT = re.compile(r"^\s*s?input\s+(\w+)\s+(\w+)\s*=\s*(.*?)\s*;(.*)$")
IMPORT = re.compile(r'^\s*#import\s+"([^"]+)"')
IMPORT_END = re.compile(r"^\s*#import\s*$")
INCLUDE = re.compile(r"^(\s*#include\s*)([<\"])([^>\"]+)([>\"])(.*)$")
STRING_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def wrap_literals(code: str) -> str:
    """Turns every string literal outside comments into an MQL string literal."""
    out = []
    i = 0
    n = len(code)
    while i < n:
        if code.startswith("//", i):
            out.append(code[i:])
            break
        c = code[i]
        if c == "'":
            j = i + 1
            while j < n and code[j] != "'":
                j += 2 if code[j] == "\\" else 1
            out.append(code[i:j + 1])
            i = j + 1
            continue
        if c == '"':
            m = STRING_LITERAL.match(code, i)
            if m is None:
                raise SystemExit(f"unterminated string literal: {code}")
            out.append(m.group(0) + "_mql")
            i = m.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)


def translate(source: str, name: str) -> str:
    lines = source.split("\n")
    out = [f'#include "mql.h"', f'#line 1 "{name}"']
    in_block_comment = False
    import_namespace = None
    for line in lines:
        if in_block_comment:
            out.append(line)
            if "*/" in line:
                in_block_comment = False
            continue
        stripped = line.strip()
        if stripped.startswith("/*") and "*/" not in stripped:
            in_block_comment = True
            out.append(line)
            continue
        if stripped.startswith("#property"):
            out.append("// " + line)
            continue
        m = IMPORT.match(line)
        if m:
            library = re.sub(r"\W", "_", m.group(1).rsplit(".", 1)[0])
            import_namespace = f"mql_import_{library}"
            out.append(f"namespace {import_namespace} {{")
            continue
        if IMPORT_END.match(line):
            if import_namespace is None:
                raise SystemExit(f"{name}: #import end without a start")
            out.append(f"}} using namespace {import_namespace};")
            import_namespace = None
            continue
        m = INCLUDE.match(line)
        if m:
            out.append(m.group(1) + m.group(2) + m.group(3).replace("\\", "/") + m.group(4) + m.group(5))
            continue
        if stripped.startswith("#"):
            out.append(wrap_literals(line) if stripped.startswith("#define") else line)
            continue
        m = INPUT.match(line)
        if m:
            kind, variable, value, rest = m.groups()
            value = wrap_literals(value)
            out.append(f'const {kind} {variable} = MqlInput<{kind}>("{variable}", {value});{rest}')
            continue
        m = ARRAY_DECLARATION.match(line)
        if m and m.group(2) not in KEYWORDS:
            indent, kind, space, variable, size, rest = m.groups()
            if size:
                line = f"{indent}MqlArray<{kind}>{space}{variable} = MqlArray<{kind}>::Fixed({size});{rest}"
            else:
                line = f"{indent}MqlArray<{kind}>{space}{variable};{rest}"
        line = ARRAY_PARAMETER.sub(lambda a: f"{a.group(1) or ''}MqlArray<{a.group(2)}> &{a.group(3)}", line)
        out.append(wrap_literals(line))
    if import_namespace is not None:
        raise SystemExit(f"{name}: #import block not closed")
    return "\n".join(out)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    source_path, output_path = sys.argv[1], sys.argv[2]
    with open(source_path, encoding="utf-8") as f:
        source = f.read()
    with open(output_path, "w", encoding="utf-8") as f:
        f.write(translate(source, source_path))


if __name__ == "__main__":
    main()
