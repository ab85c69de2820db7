"""Train the Rasa model only when its inputs changed.

The model file is named after a fingerprint of everything that shapes it (config,
domain, training data, the custom NLU components and the Rasa version), so an
unchanged project reuses its model and a changed one never runs a stale model.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from bot.core.settings import PROJECT_ROOT

MODEL_INPUTS = ("domain.yml", "data", "bot/rasa/nlu", "bot/rasa/policies.py", "bot/core/taxonomy.py")
DEFAULT_CONFIG = "config.yml"


def _files(root: Path, config: str) -> list[Path]:
    found: list[Path] = []
    for name in (config, *MODEL_INPUTS):
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".py", ".md")
            )
    return found


def fingerprint(root: Path = PROJECT_ROOT, config: str = DEFAULT_CONFIG) -> str:
    import rasa

    digest = hashlib.sha256(f"rasa={rasa.__version__}\n".encode())
    for path in _files(root, config):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(
    model_dir: Path, root: Path = PROJECT_ROOT, config: str = DEFAULT_CONFIG, prefix: str = "assistant"
) -> Path:
    return model_dir / f"{prefix}-{fingerprint(root, config)}.tar.gz"


def ensure_model(
    model_dir: Path,
    root: Path = PROJECT_ROOT,
    *,
    quiet: bool = False,
    config: str = DEFAULT_CONFIG,
    prefix: str = "assistant",
    keep: int = 3,
) -> Path:
    """Path of an up-to-date model, training one first if needed (older ones are pruned)."""
    target = model_path(model_dir, root, config, prefix)
    if target.exists():
        if not quiet:
            print(f"Model up to date: {target.relative_to(root) if target.is_relative_to(root) else target}")
        return target
    print("Training the model (training data or config changed; takes a few minutes)...", flush=True)
    model_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        config,
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(model_dir),
        "--fixed-model-name",
        target.name[: -len(".tar.gz")],
        # Rasa's own cache does not see the help-centre files (they join the training data
        # inside the pipeline), so it could reuse a classifier trained on old articles. The
        # fingerprint above already decides when to train; then train everything.
        "--force",
    ]
    subprocess.run(command, cwd=root, check=True)
    prune(model_dir, prefix, keep)
    return target


def prune(model_dir: Path, prefix: str, keep: int) -> None:
    """Delete all but the ``keep`` newest models of this kind."""
    models = sorted(model_dir.glob(f"{prefix}-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in models[keep:]:
        old.unlink(missing_ok=True)


if __name__ == "__main__":
    from bot.core.settings import Settings

    print(ensure_model(Settings.from_env().model_dir))
