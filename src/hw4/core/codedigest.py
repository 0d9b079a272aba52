"""What a task's code means, as a digest: edits to comments, docstrings or layout change nothing.

A task depends on the project modules it runs: the module of its action and every `hw4` module
that module imports, transitively (imports inside functions included), with the packages that
hold them. Each is parsed, its docstrings removed, and its syntax tree dumped without positions;
the digest of those dumps changes exactly when some statement or expression changes.
"""
from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]  # the directory that holds the hw4 package
PROJECT = "hw4"


def module_file(module: str, src: Path = SRC) -> Path | None:
    """The source file of a project module (a package's __init__.py), or None if there is none."""
    base = src.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def _parsed(module: str, src: Path, stamp: tuple) -> tuple[str, frozenset[str]]:
    """(normalized dump, project modules imported) of one module; `stamp` (size, mtime) keys the cache."""
    path = module_file(module, src)
    tree = ast.parse(path.read_text(), filename=str(path))
    imports = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        _drop_docstring(node)
        if isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *filter(None, [node.module])])
            imports.add(base)
            imports.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    own = frozenset(name for name in imports if name.split(".")[0] == PROJECT and module_file(name, src))
    return ast.dump(tree, annotate_fields=False, include_attributes=False), own


def _drop_docstring(node: ast.AST) -> None:
    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]


def parsed(module: str, src: Path = SRC) -> tuple[str, frozenset[str]]:
    path = module_file(module, src)
    stat = path.stat()
    return _parsed(module, src, (stat.st_size, stat.st_mtime_ns))


def closure(*modules: str, src: Path = SRC) -> list[str]:
    """The given modules, the project modules they import (transitively), and their packages."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            prefix = ".".join(parts[:i])
            if prefix not in seen and module_file(prefix, src):
                seen.add(prefix)
                todo.extend(parsed(prefix, src)[1])
    return sorted(seen)


def digest(*targets: str, src: Path = SRC) -> str:
    """The meaning of the code behind `targets` ('module' or 'module:function'): a short hash."""
    modules = closure(*(t.split(":")[0] for t in targets), src=src)
    blob = hashlib.sha256()
    for name in modules:
        blob.update(name.encode() + b"\0" + parsed(name, src)[0].encode() + b"\0")
    return blob.hexdigest()[:16]
