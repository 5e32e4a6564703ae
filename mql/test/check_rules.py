#!/usr/bin/env python3
"""MQL rules that no C++ compiler enforces, and a tree-sitter parse of every EA file.

Parse: every file is parsed with tree-sitter's C++ grammar (PyPI: tree-sitter-cpp), as a second
opinion next to g++ and clang. MQL is C++-like; the one construct of these files the grammar lacks
is the `input`/`sinput` declaration, so syntax errors are accepted on those lines only; anything else
the grammar cannot parse fails the check. The same files after mql2cpp.py must parse with no error
(`--translated DIR`).

Rules (MQL5 reference, https://www.mql5.com/en/docs/basis/types/object_pointers and
https://www.mql5.com/en/docs/basis/preprosessor/import; MQL4 https://docs.mql4.com/basis/mql4changes):
  - pointers (`T *p`) only to class objects: MQL has no pointers to simple types, structs or arrays;
  - a function imported from a DLL takes no struct that holds a string, a dynamic array or an
    object (the DLL would receive MQL's internal string representation, not characters);
  - every .mq4 file says `#property strict` (MQL4's compiler otherwise accepts the old, loose
    language, and the EA was written for the strict one).

Usage: check_rules.py FILE… [--translated DIR]
"""
import os
import re
import sys

import tree_sitter
import tree_sitter_cpp

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_cpp.language()))
INPUT_LINE = re.compile(r"^\s*s?input\s")
IMPORT_START = re.compile(r'^\s*#import\s+"([^"]+)"')
IMPORT_END = re.compile(r"^\s*#import\s*$")
SIMPLE_TYPES = {"string", "bool", "char", "uchar", "short", "ushort", "int", "uint", "long", "ulong", "float",
                "double", "datetime", "color", "void"}


def nodes(node, kind):
    if node.type == kind:
        yield node
    for child in node.children:
        yield from nodes(child, kind)


def text(source: bytes, node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


def parse_errors(tree, source: bytes, allow_input_lines: bool) -> list:
    lines = source.decode("utf-8", "replace").split("\n")
    found = []

    def walk(node):
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0]
            if not (allow_input_lines and INPUT_LINE.match(lines[line])):
                found.append(f"line {line + 1}: cannot parse {text(source, node)[:60]!r}")
            return
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found


def declared_type(node, source: bytes):
    """The type named by the declaration that holds a declarator."""
    while node is not None and node.type not in ("declaration", "parameter_declaration", "field_declaration"):
        node = node.parent
    if node is None:
        return None
    kind = node.child_by_field_name("type")
    return text(source, kind) if kind is not None else None


def main() -> None:
    args = sys.argv[1:]
    translated = None
    if "--translated" in args:
        at = args.index("--translated")
        translated = args[at + 1]
        del args[at:at + 2]
    problems = []
    trees = {}
    classes, string_structs = set(), set()
    for path in args:
        source = open(path, "rb").read()
        tree = PARSER.parse(source)
        trees[path] = (tree, source)
        problems += [f"{path}: {p}" for p in parse_errors(tree, source, allow_input_lines=True)]
        for node in nodes(tree.root_node, "class_specifier"):
            name = node.child_by_field_name("name")
            if name is not None:
                classes.add(text(source, name))
        for node in nodes(tree.root_node, "struct_specifier"):
            name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
            if name is None or body is None:
                continue
            for field in nodes(body, "field_declaration"):
                kind = field.child_by_field_name("type")
                declarator = text(source, field.child_by_field_name("declarator") or field)
                if kind is not None and (text(source, kind) == "string" or "[]" in declarator or
                                         text(source, kind) in classes):
                    string_structs.add(text(source, name))

    for path, (tree, source) in trees.items():
        for node in list(nodes(tree.root_node, "pointer_declarator")) + list(nodes(tree.root_node, "abstract_pointer_declarator")):
            kind = declared_type(node, source)
            if kind is None or kind in SIMPLE_TYPES or kind not in classes:
                problems.append(f"{path}: line {node.start_point[0] + 1}: pointer to {kind or 'a non-class type'} "
                                f"(MQL has pointers to class objects only)")
        in_import = None
        for number, line in enumerate(source.decode("utf-8").split("\n"), 1):
            if IMPORT_START.match(line):
                in_import = IMPORT_START.match(line).group(1)
                continue
            if IMPORT_END.match(line):
                in_import = None
                continue
            if in_import:
                for name in string_structs:
                    if re.search(rf"\b{re.escape(name)}\b", line):
                        problems.append(f"{path}: line {number}: {in_import} function takes struct {name}, which holds "
                                        f"a string, dynamic array or object")
        if path.endswith(".mq4") and not re.search(rb"^\s*#property\s+strict\b", source, re.M):
            problems.append(f"{path}: no #property strict")

    if translated:
        for root, _, files in os.walk(translated):
            for name in files:
                if name.endswith((".mq4", ".mq5", ".mqh")):
                    path = os.path.join(root, name)
                    source = open(path, "rb").read()
                    problems += [f"{path}: {p}" for p in parse_errors(PARSER.parse(source), source, False)]

    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"{len(args)} files parsed with tree-sitter-cpp; {len(classes)} classes, "
          f"{len(string_structs)} structs holding strings; {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
