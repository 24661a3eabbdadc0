"""The README's Python examples run as written."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    for code in blocks:
        scope: dict = {}
        exec(compile(code, str(README), "exec"), scope)
    assert scope["res"].status == "optimal" and scope["res"].gap_rel < 1e-6
