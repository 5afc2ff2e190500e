"""The shape of the package: data flows one way, and the views go through one door.

Every import in the package (module level or inside a function) is read with ``ast``:
- no module imports one from a higher layer (``LAYERS``, lowest first);
- the CLI and the app import the library only through ``workflow.py``, apart from the
  plain data below every stage (config, errors, the model folder's names, ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "huggingtweets"

# Lowest first. A module may import its own layer and any below it, never above.
LAYERS = [
    {"errors", "names", "diskio", "quiet", "version", "posts"},
    {"config", "folder", "folder_state", "manifest", "sources.limits"},
    {"cache", "language"},
    {"sources"},
    {"cleaning"},
    {"dataset"},
    {"pretrained", "models", "distributed", "quality", "imitation"},
    {"card", "preview", "fonts"},
    {"best", "training"},
    {"generation", "share", "gguf_export", "gguf_vocab", "voice", "estimate"},
    {"tracking", "launch", "exports"},
    {"workflow"},
    {"arguments", "batch_line", "processes"},  # train's words, and one line of a batch: over the workflow
    {"batch_ray"},
    {"batches"},  # many lines: here, or on Ray
    {"cli", "ui", "__main__", "__init__"},
]
# What a view may import besides the workflow (and a batch of it, and train's words): data below every stage.
VIEW_MAY_IMPORT = {"workflow", "arguments", "batches", "processes", "config", "errors", "folder", "names", "quiet", "version", "diskio"}


def layer_of(module: str) -> int:
    for i, names in enumerate(LAYERS):
        if module in names:
            return i
    head = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def package_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module inside huggingtweets) for every import in ``path``."""
    here = module_name(path).split(".")
    is_package = path.name == "__init__.py"
    base = here if is_package else here[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("huggingtweets"):
                    target = node.module.split(".")[1:]
                else:
                    continue
            else:
                target = (base[: len(base) - (node.level - 1)] if node.level > 1 else list(base)) + (node.module.split(".") if node.module else [])
            if not node.module:  # "from . import a, b": each name is a module
                out += [(node.lineno, ".".join(target + [alias.name])) for alias in node.names]
            else:
                out.append((node.lineno, ".".join(target)))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".", 1)[1]) for a in node.names if a.name.startswith("huggingtweets.")]
    return [(line, name) for line, name in out if name]


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_no_import_runs_from_a_lower_module_to_a_higher_one():
    wrong = []
    for path in MODULES:
        me = module_name(path)
        mine = layer_of(me)
        for line, target in package_imports(path):
            if target.split(".")[0] == me.split(".")[0]:
                continue  # inside one package (sources/, ui/)
            if layer_of(target) > mine:
                wrong.append(f"{me}:{line} imports {target}")
    assert wrong == []


def test_the_views_go_through_the_workflow():
    views = [p for p in MODULES if module_name(p) == "cli" or module_name(p).startswith("ui")]
    assert len(views) > 5
    wrong = []
    for path in views:
        for line, target in package_imports(path):
            head = target.split(".")[0]
            if head == "ui" or head in VIEW_MAY_IMPORT:
                continue
            wrong.append(f"{module_name(path)}:{line} imports {target}")
    assert wrong == []


@pytest.mark.parametrize("name", ["fetch", "prepare", "train", "generate"])
def test_the_package_root_has_one_name_per_step(name):
    import huggingtweets

    assert name in huggingtweets.__all__
    for twin in ("load_sources", "build_dataset", "fine_tune"):
        assert twin not in huggingtweets.__all__


def test_no_import_circle():
    """No module imports, directly or through others, one that imports it back (module level or
    inside a function): a circle would tie their changes together (folder.py and manifest.py once did)."""
    graph = {module_name(p): {t for _, t in package_imports(p)} for p in MODULES}
    names = set(graph)

    def known(target: str) -> str | None:  # "sources.base" as itself; "workflow.export" (a name in a module) as its module
        while target and target not in names:
            target = target.rpartition(".")[0]
        return target or None

    edges = {m: {known(t) for t in ts} - {None, m} for m, ts in graph.items()}
    for m in list(edges):  # a package's __init__ importing its own modules is how a package is made, not a circle
        edges[m] = {t for t in edges[m] if not (t.startswith(m + ".") and "." not in m)}
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert circles == []


# --- tests drive the app through its parts, not its insides -------------------------------------
TESTS = Path(__file__).resolve().parent
DRIVER = "app_driver.py"  # the one test module that reaches below the widgets
WIDGET_INSIDES = {"_on_msg", "_instances", "_dom_classes"}  # ipywidgets' own


def ui_private_names() -> set[str]:
    """The app's private state and callbacks: ``self._x = ...`` and ``def _on_x`` in huggingtweets/ui."""
    names = set()
    for path in (PACKAGE / "ui").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            names |= {t.attr for t in targets if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                      and t.value.id == "self" and t.attr.startswith("_")}
            if isinstance(node, ast.FunctionDef) and node.name.startswith("_on_"):
                names.add(node.name)
    return names


def test_no_test_reads_the_apps_private_widgets():
    """Tests use the driver's verbs and ``step.part(name)``; a step may rebuild its widgets."""
    private = ui_private_names() | WIDGET_INSIDES
    assert {"_message", "_fields", "_sample", "_on_clear"} <= private  # the scan sees the app's insides
    reads = []
    for path in sorted(TESTS.glob("*.py")):
        if path.name == DRIVER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in private and not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                reads.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not reads, "use tests/app_driver.py or step.part(name): " + ", ".join(reads)
