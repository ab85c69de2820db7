import shutil
from pathlib import Path

from bot.core.settings import PROJECT_ROOT
from bot.rasa.training import fingerprint, model_path, prune


def copy_inputs(target: Path) -> Path:
    for name in (
        "config.yml",
        "domain.yml",
        "data",
        "bot/rasa/nlu",
        "bot/rasa/policies.py",
        "bot/core/taxonomy.py",
    ):
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / name)
    return target


def test_fingerprint_changes_only_when_model_inputs_change(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path)
    before = fingerprint(root)
    assert fingerprint(root) == before
    (root / "README.md").write_text("not a model input")
    assert fingerprint(root) == before
    nlu = root / "data" / "nlu" / "nl" / "billing.yml"
    nlu.write_text(nlu.read_text() + "    - nog een voorbeeld\n")
    assert fingerprint(root) != before


def test_model_is_named_after_its_fingerprint(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path)
    assert model_path(tmp_path / "models", root).name == f"assistant-{fingerprint(root)}.tar.gz"


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    import os

    for i in range(5):
        path = tmp_path / f"assistant-{i}.tar.gz"
        path.write_text("x")
        os.utime(path, (i, i))
    (tmp_path / "baseline-0.tar.gz").write_text("x")
    prune(tmp_path, "assistant", keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "assistant-3.tar.gz",
        "assistant-4.tar.gz",
        "baseline-0.tar.gz",
    ]
