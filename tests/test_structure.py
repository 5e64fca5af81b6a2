"""The layout's rules: no import cycles in the package, and the docs it cites are inside it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("colorize", "pipelines", "benchmarks", "webui")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The project modules that ``path`` imports anywhere (functions included; not under TYPE_CHECKING)."""
    found = set()

    def visit(node):
        if isinstance(node, ast.If) and is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found & modules


def import_graph() -> dict[str, set[str]]:
    paths = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, modules) - {module_name(p)} for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_the_imports_it_must():
    graph = import_graph()
    assert "colorize.fullres" in graph["colorize.colorizer"]
    assert "colorize.models.gated_pixelcnn_cache" in graph["colorize.models.gated_pixelcnn"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles():
    """Not even one broken by an import inside a function: each arrow points one way."""
    assert find_cycle(import_graph()) is None


def test_the_library_never_imports_the_front_ends():
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("colorize"):
            assert not {t for t in targets if t.split(".")[0] in ("pipelines", "benchmarks", "webui")}, module


@pytest.mark.parametrize("pattern", ["DESIGN" + ".md", "../" + "shared"])
def test_nothing_cites_a_file_outside_the_repository(pattern):
    texts = [p for package in (*PACKAGES, "tests", "docs", "data") for p in (ROOT / package).rglob("*")
             if p.suffix in (".py", ".md", ".toml", ".txt")]
    texts += [ROOT / "README.md", ROOT / "pyproject.toml"]
    assert not [str(p.relative_to(ROOT)) for p in texts if p.is_file() and pattern in p.read_text()]


# What the web page may use of the library: the public API (the names `colorize` exports),
# the photo reader and the table of limits. Everything else is the library's own business.
WEB_PAGE_MAY_IMPORT = {"colorize", "colorize.image_io", "colorize.limits"}


def test_the_web_page_uses_only_the_public_api_and_the_photo_reader():
    graph = import_graph()
    for module, targets in graph.items():
        if module.split(".")[0] == "webui":
            used = {t for t in targets if t.split(".")[0] == "colorize"}
            assert used <= WEB_PAGE_MAY_IMPORT, (module, sorted(used - WEB_PAGE_MAY_IMPORT))


def test_the_public_api_names_resolve():
    import colorize

    for name in colorize.PUBLIC:
        assert getattr(colorize, name) is not None, name


def test_one_module_of_the_code_opens_image_files():
    """Every photo file is opened by colorize.image_io (its format list, size and time bounds);
    decoding an in-memory buffer (old_print's JPEG round trip) is not opening a file."""
    openers = []
    for package in (*PACKAGES, "data"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "open" and getattr(node.func.value, "id", None) == "Image" \
                        and not (node.args and getattr(node.args[0], "id", None) == "buffer"):
                    openers.append(str(path.relative_to(ROOT)))
    assert sorted(set(openers)) == ["colorize/image_io.py"]


def test_batch_modules_each_have_one_job_and_stay_small():
    for path in (ROOT / "colorize" / "batch").glob("*.py"):
        assert len(path.read_text().splitlines()) < 300, path.name
