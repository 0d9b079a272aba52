"""Code digests follow the meaning of the code: comments, docstrings and layout change nothing;
an expression, an imported module or a package changes the digest of everything that uses it."""
from pathlib import Path

from hw4.core import codedigest

MODULES = {
    "hw4/__init__.py": '"""The package."""\n',
    "hw4/core/__init__.py": "",
    "hw4/core/util.py": 'def twice(x):\n    """Double."""\n    return 2 * x\n',
    "hw4/q/__init__.py": '"""A question."""\n',
    "hw4/q/train.py": ('"""Training."""\nfrom hw4.core import util\n\n\n'
                       'def run():\n    from . import lazy\n    return util.twice(lazy.ONE)\n'),
    "hw4/q/lazy.py": "ONE = 1\n",
    "hw4/q/figures.py": "from hw4.core.util import twice  # a comment\n",
}


def tree(tmp_path: Path, **edits) -> Path:
    root = tmp_path / "src"
    for name, text in {**MODULES, **edits}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def digest(root, target="hw4.q.train:run"):
    return codedigest.digest(target, src=root)


def test_closure_follows_imports_lazy_relative_and_packages(tmp_path):
    root = tree(tmp_path)
    assert codedigest.closure("hw4.q.train", src=root) == [
        "hw4", "hw4.core", "hw4.core.util", "hw4.q", "hw4.q.lazy", "hw4.q.train"]
    assert "hw4.q.train" not in codedigest.closure("hw4.q.figures", src=root)


def test_comments_docstrings_and_layout_change_nothing(tmp_path):
    before = digest(tree(tmp_path / "a"))
    edited = tree(tmp_path / "b", **{
        "hw4/core/util.py": '# a new comment\ndef twice(x):\n    """Double it, now documented at length."""\n\n'
                            '    return 2*x   # spacing and a comment\n',
        "hw4/q/__init__.py": '"""A question, described differently."""\n',
    })
    assert digest(edited) == before


def test_an_expression_anywhere_in_the_closure_changes_the_digest(tmp_path):
    before = digest(tree(tmp_path / "a"))
    assert digest(tree(tmp_path / "b", **{"hw4/core/util.py": "def twice(x):\n    return 3 * x\n"})) != before
    assert digest(tree(tmp_path / "c", **{"hw4/q/lazy.py": "ONE = 1.0\n"})) != before   # imported inside a function
    assert digest(tree(tmp_path / "d", **{"hw4/q/__init__.py": "X = 1\n"})) != before  # the package runs first


def test_a_module_outside_the_closure_changes_nothing(tmp_path):
    before = digest(tree(tmp_path / "a"))
    assert digest(tree(tmp_path / "b", **{"hw4/q/figures.py": "X = 2\n"})) == before


def test_the_real_trainers_have_digests():
    for target in ("hw4.q5_2_gan.train:run_experiment", "hw4.q1_2_overparam.experiments:run_sweep",
                   "hw4.q4_batchnorm.derivation:run"):
        closure = codedigest.closure(target.split(":")[0])
        assert "hw4.core.store" in closure and target.split(":")[0] in closure
        assert not any(name.endswith(".tasks") for name in closure)  # editing task wiring reruns no training
