"""Chat with the running assistant from a terminal, through the router (POST /api/chat).

.venv/bin/python -m bot.cli [--url http://127.0.0.1:8000] [--sender me] [--locale fr-BE]
"""

from __future__ import annotations

import argparse
import sys
import uuid

import httpx

from bot.core.settings import Settings


def render(data: dict) -> str:
    lines = []
    for reply in data.get("replies", []):
        if reply.get("text"):
            lines.append(f"bot> {reply['text']}")
        for button in reply.get("buttons") or []:
            lines.append(f"     [{button['title']}]  (type: {button['payload']})")
    lines.append(f"     ({data.get('language')}, owner: {data.get('owner')})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=Settings.from_env().gateway_url)
    parser.add_argument("--sender", default=f"cli-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--locale", default=None)
    args = parser.parse_args(argv)
    print("Type a message (Ctrl-D to quit).")
    with httpx.Client(base_url=args.url, timeout=30) as client:
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            try:
                response = client.post(
                    "/api/chat", json={"sender": args.sender, "text": text, "locale": args.locale}
                )
            except httpx.HTTPError as exc:
                print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
                continue
            data = response.json()
            if response.status_code != 200:
                print(f"error: {data.get('error', {}).get('message', response.text)}")
                continue
            print(render(data), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
