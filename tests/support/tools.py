"""The external tools the test suite calls, found by reading the tests themselves, and
where each comes from: tests/integration/test_deps.py checks that scripts/deps.sh
installs every one, and test_fresh_debian.py that they are there in a fresh Debian 12
root after it ran.

A tool counts as called when a test file names it as the program of a subprocess call
(`subprocess.run(["etcd", ...])`, Popen, check_output, check_call, call), or looks it up
with `shutil.which("etcd")`; shell scripts the suite runs (scripts/test.sh, fuzz/run.sh)
are read for their commands by a list kept here, since shell has no syntax tree.
"""
import ast
import re
import shutil
import unittest
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
SOURCE = TESTS.parent

# Tools no Debian 12 package provides: every test that calls one skips, with the reason,
# where it is absent (require() below), so that a fresh machine passes.
NOT_IN_DEBIAN = {
    "kubectl": "kubectl is not packaged in Debian 12 (install it from the Kubernetes project to run these tests)",
}

# Commands of the shell scripts the suite runs, which the Python scan cannot see.
SHELL_TOOLS = {
    "scripts/test.sh": ["cmake", "ninja", "ctest"],
    "fuzz/run.sh": ["clang++"],
}

_SUBPROCESS_CALLS = {"run", "Popen", "check_output", "check_call", "call"}


def _program(node):
    """The program a subprocess call runs, when the test names it literally."""
    if not node.args:
        return None
    first = node.args[0]
    if isinstance(first, (ast.List, ast.Tuple)) and first.elts:
        head = first.elts[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value
    return None


def _called_name(node):
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr, getattr(func.value, "id", None)
    if isinstance(func, ast.Name):
        return func.id, None
    return None, None


def _constants(node):
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _tools_of(node):
    """The tools one syntax node names, in the forms the suite uses."""
    if isinstance(node, ast.Call):
        name, owner = _called_name(node)
        if name in _SUBPROCESS_CALLS and owner in ("subprocess", None):
            if node.args and isinstance(node.args[0], ast.Constant):  # a local run("cpack", ...)
                return [node.args[0].value]
            return [_program(node)]
        if name == "which" and node.args and isinstance(node.args[0], ast.Constant):
            return [node.args[0].value]
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
        # cmd = ["kubectl", ...] handed to subprocess a line later
        if any(isinstance(t, ast.Name) and t.id in _COMMAND_VARIABLES for t in node.targets):
            return _constants(node.value)[:1]
    if isinstance(node, ast.For) and _constants(node.iter):
        # for tool in ("cpack", "dpkg-deb"): shutil.which(tool)
        looked_up = any(isinstance(n, ast.Call) and _called_name(n)[0] == "which" for n in ast.walk(node))
        if looked_up:
            return _constants(node.iter)
    return []


_COMMAND_VARIABLES = {"cmd", "command", "argv", "args"}
# kha's own subcommands, which tests run through small run("status", ...) wrappers.
_KHA_SUBCOMMANDS = {"proxy", "plan", "check-config", "status", "reload", "vip", "standin", "demo"}


def tools_in_file(path):
    """{tool: [line, ...]} for one Python file."""
    found = {}
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    for node in ast.walk(tree):
        for tool in _tools_of(node):
            if tool in _KHA_SUBCOMMANDS:
                continue
            if isinstance(tool, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", tool):
                found.setdefault(tool, []).append(node.lineno)
    return found


def suite_tools():
    """{tool: ["tests/integration/test_x.py:12", ...]} over every Python file of the suite."""
    tools = {}
    for path in sorted(TESTS.rglob("*.py")):
        for tool, lines in tools_in_file(path).items():
            where = str(path.relative_to(SOURCE))
            tools.setdefault(tool, []).extend(f"{where}:{line}" for line in lines)
    for script, names in SHELL_TOOLS.items():
        for tool in names:
            tools.setdefault(tool, []).append(script)
    return tools


def deps_packages(build_only=False):
    """The package names scripts/deps.sh installs (its two arrays, comments dropped)."""
    text = (SOURCE / "scripts/deps.sh").read_text()
    arrays = dict(re.findall(r"^(\w+)=\(\n(.*?)^\)", text, re.S | re.M))
    names = []
    for key in (("build",) if build_only else ("build", "suite")):
        for line in arrays[key].splitlines():
            names += line.split("#", 1)[0].split()
    return names


def skip_reason(tool):
    return f"no {tool}: " + NOT_IN_DEBIAN.get(tool, f"{tool} not installed (scripts/deps.sh installs it)")


def require(tool):
    """The path of tool, or SkipTest naming why it is missing."""
    path = shutil.which(tool)
    if path is None:
        raise unittest.SkipTest(skip_reason(tool))
    return path
