"""The layers hold: no module imports from a layer above its own, and module-level imports have
no cycle. Imports are read from the source (ast), function-level ones included for the layers.

Layers, bottom up (README "Layout and layers"):

0. cosim_base: errors, seed streams and the Ctrl-C stop flag;
1. plant models (simulators, not the mosaik adapters), the OPF core (controllers.opf) and the
   record file format (cosim.record, plain h5py);
2. the device registry (devices, not its mosaik adapter);
3. the controller's model and stages (controllers.model, controllers.multistage);
4. thin mosaik adapters (``*_sim`` modules, devices.sim);
5. the framework (cosim);
6. what users run (cosim.cli).
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("cosim_base", "simulators", "controllers", "devices", "cosim")


def layer(module: str) -> int:
    top, _, rest = module.partition(".")
    last = module.rsplit(".", 1)[-1]
    if top == "cosim_base":
        return 0
    if last.endswith("_sim") or module == "devices.sim":
        return 4
    if top == "simulators" or module.startswith("controllers.opf") or module in ("controllers", "cosim.record"):
        return 1
    if top == "devices":
        return 2
    if top == "controllers":
        return 3
    if module == "cosim.cli":
        return 6
    return 5


def modules() -> dict[str, pathlib.Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: pathlib.Path, known: set[str]) -> list[tuple[str, bool, int]]:
    """(project module imported, at module level?, line) for every import of a file."""
    tree = ast.parse(path.read_text())
    top_level = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        found = set()
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            found.add(name)
        out += [(name, id(node) in top_level, node.lineno) for name in sorted(found - {""})]
    return out


def test_no_module_imports_from_a_layer_above_its_own():
    mods = modules()
    upward = [f"{m} (layer {layer(m)}) line {line} imports {target} (layer {layer(target)})"
              for m, path in mods.items() for target, _, line in imports(path, set(mods))
              if layer(target) > layer(m)]
    assert not upward, "\n".join(upward)


def test_module_level_imports_have_no_cycle():
    mods = modules()
    graph = {m: {t for t, top, _ in imports(p, set(mods)) if top and t != m} for m, p in mods.items()}
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(m, stack):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [m, t]))
            if t not in state:
                visit(t, stack + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_the_layer_rules_see_every_package_and_catch_an_upward_import(tmp_path):
    mods = modules()
    assert {m.partition(".")[0] for m in mods} == set(PACKAGES)
    fake = tmp_path / "x.py"
    fake.write_text("from cosim.world import run\n")
    found = imports(fake, set(mods))
    assert found and layer(found[0][0]) > layer("simulators.building")
