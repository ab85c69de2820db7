"""`publish`: refuse unfinished data, train if needed, then load the model into the running Rasa
with `PUT /model` (Rasa loads the new model, then swaps it in: no restart, no downtime)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bot.core.project import Project
from bot.core.settings import Settings
from bot.editor.static import static_problems


def publish(project: Project, rasa_url: str | None = None, model: Path | None = None) -> int:
    problems = static_problems(project)
    if problems:
        for problem in problems:
            print(problem)
        print(f"FIX {len(problems)} problems before publishing (python -m bot.editor check)")
        return 1
    settings = Settings.from_env()
    if model is None:
        from bot.editor.model import train

        model = train(project)
    url = (rasa_url or settings.rasa_url).rstrip("/")
    try:
        status = load_model(url, model.resolve(), settings.rasa_token)
    except (urllib.error.URLError, OSError) as error:
        print(f"could not reach Rasa at {url}: {error}")
        return 1
    print(f"published {model.name} to {url} (HTTP {status})")
    return 0


def load_model(rasa_url: str, model: Path, token: str | None = None, timeout: float = 600) -> int:
    """PUT /model with the model's path; raises on an HTTP error."""
    query = f"?{urllib.parse.urlencode({'token': token})}" if token else ""
    request = urllib.request.Request(
        f"{rasa_url}/model{query}",
        data=json.dumps({"model_file": str(model)}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)
