"""Write the toy preference pairs of this example: `python make_pairs.py` (deterministic; rewrites the files).

Each prompt asks for advice on a topic; each pair holds a terse response (1 sentence) and a fuller one (2-4
sentences drawn from the same stock). The fuller, longer response is the preferred one (`chosen`). Prompts 0-39
go to pairs_train.jsonl, prompts 40-49 to pairs_test.jsonl, 6 pairs per prompt: 240 + 60 pairs.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SUBJECTS = [
    "a houseplant", "a bicycle", "sourdough bread", "a vegetable garden", "a new puppy", "an aquarium",
    "a vintage camera", "a chess opening", "a home budget", "a running habit", "a wooden table", "a compost heap",
    "a first guitar", "a language course", "a small boat", "a beehive", "a tomato seedling", "a leather jacket",
    "a rain barrel", "a sewing machine", "a pottery wheel", "a bird feeder", "a home network", "a kayak trip",
    "a cast-iron pan",
]
ASKS = ["How do I take care of {}?", "What should a beginner know about {}?"]
SENTENCES = [
    "Start by reading the basics about {}.",
    "Keep notes on what works with {}.",
    "Ask someone experienced with {} for advice.",
    "Check on {} regularly, even when nothing seems wrong.",
    "Do not rush: {} rewards patience.",
    "Set aside a little time each week for {}.",
    "Budget for the tools that {} needs.",
    "Look for a local group interested in {}.",
    "Learn the common mistakes people make with {}.",
    "Write down a simple routine for {} and stick to it.",
]
PAIRS_PER_PROMPT = 6


def make(rng: random.Random) -> list[dict]:
    rows = []
    prompts = [ask.format(s) for ask in ASKS for s in SUBJECTS]
    for p, (prompt, subject) in enumerate(zip(prompts, SUBJECTS * len(ASKS), strict=True)):
        stock = [s.format(subject) for s in SENTENCES]
        seen: set[tuple[str, str]] = set()
        while len(seen) < PAIRS_PER_PROMPT:
            rejected = rng.choice(stock)
            chosen = " ".join(rng.sample(stock, rng.randint(2, 4)))
            if (chosen, rejected) in seen:
                continue
            seen.add((chosen, rejected))
            rows.append({"prompt_id": f"p{p:02d}", "prompt": prompt, "chosen": chosen, "rejected": rejected})
    return rows


def main() -> None:
    rows = make(random.Random(0))
    here = Path(__file__).resolve().parent
    for name, part in (("pairs_train.jsonl", rows[: 40 * PAIRS_PER_PROMPT]),
                       ("pairs_test.jsonl", rows[40 * PAIRS_PER_PROMPT:])):
        with open(here / name, "w", encoding="utf-8") as f:
            for r in part:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(part)} pairs")


if __name__ == "__main__":
    main()
