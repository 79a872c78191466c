"""pldc's code stays readable one screen at a time: short functions, modules of one idea each."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pldc"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def function_lengths() -> dict[str, int]:
    """Lines of every function and method in pldc/, decorators and docstring included."""
    lengths = {}
    for module in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                name = f"{module.relative_to(PACKAGE.parent)}:{node.name}"
                lengths[name] = node.end_lineno - first + 1
    return lengths


def test_no_function_in_pldc_is_longer_than_sixty_lines():
    long = {name: n for name, n in function_lengths().items() if n > MAX_FUNCTION_LINES}
    assert long == {}


def test_no_module_in_pldc_is_longer_than_four_hundred_lines():
    lengths = {
        str(module.relative_to(PACKAGE.parent)): len(module.read_text().splitlines())
        for module in sorted(PACKAGE.rglob("*.py"))
    }
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}
