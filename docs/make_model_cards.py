"""Write a readable ``<name>.card.md`` beside each shipped model from its JSON model card.

Run after changing a shipped model: ``python docs/make_model_cards.py``.
The JSON card stays the source of truth (the registry reads it); the Markdown
card is its summary for people browsing the package.
"""

import json
from pathlib import Path

from napari_mend.models.registry import WEIGHTS_DIR

DOCS = {"detector": "docs/models/detector.md", "inpainter": "docs/models/inpainter.md",
        "demoire": "docs/watermark_moire.md"}


def first(card: dict, key: str):
    """``card[key]``, else the training section's ``key`` (cards of different trainers)."""
    training = card.get("training") if isinstance(card.get("training"), dict) else {}
    return card.get(key, training.get(key))


def summarize(value) -> str:
    """Short text for a card entry: long lists become a count and their first items."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {summarize(v)}" for k, v in value.items())
    if isinstance(value, list) and len(value) > 6:
        return f"{len(value)} ({', '.join(map(str, value[:5]))}, ...)"
    return json.dumps(value) if not isinstance(value, str) else value


def render(card: dict) -> str:
    data = card.get("data")
    rows = [
        ("kind", card["kind"]),
        ("architecture", f"`{card['architecture']}` {json.dumps(card['config'])}"),
        ("parameters", f"{card.get('params', '?'):,}"),
        ("weights", f"{card['name']}.pt, {card.get('weights_bytes', 0) / 1e6:.1f} MB"),
        ("sha256", f"`{card['sha256']}`"),
        ("seed", first(card, "seed")),
        ("steps", first(card, "steps")),
        ("training wall time (s)", first(card, "wall_time_s")),
        ("device", first(card, "device_name") or first(card, "device")),
        ("data", summarize(data) if data is not None else None),
    ]
    lines = [f"# Model card: {card['name']}", "",
             "Summary of the JSON card beside it (the full record: training config, "
             "validation metrics, thresholds).", "", "| field | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in rows if v is not None]
    doc = DOCS.get(card["name"])
    if doc:
        lines += ["", f"Evaluation and how it was trained: `{doc}` in the source repository."]
    return "\n".join(lines) + "\n"


def main() -> None:
    for card_file in sorted(WEIGHTS_DIR.glob("*.json")):
        card = json.loads(card_file.read_text(encoding="utf-8"))
        out = card_file.with_name(f"{card['name']}.card.md")
        out.write_text(render(card), encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
