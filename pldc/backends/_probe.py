"""A child process that decodes with one local model exactly as pldc does, for `pldc doctor`.

    python -m pldc.backends._probe MODEL

opens MODEL through `open_model` (the path every teacher, student and search worker takes),
generates a few tokens, scores two labels in the scoring context, and prints one JSON line.
A crash in llama.cpp kills only this process; the parent reports it.
"""

from __future__ import annotations

import json
import sys
import time

from pldc.backends import open_model

PROBE_MESSAGES = [
    {
        "role": "system",
        "content": "You classify expense claims for a finance team. Answer with one word: "
        "approve or reject. Rules: 1. Claims without a receipt are rejected. 2. Client meals "
        "with a named client are approved.",
    },
    {"role": "user", "content": "Claim: team lunch with the client Acme, receipt attached."},
]
PROBE_LABELS = ("approve", "reject")


def probe(name: str, max_tokens: int = 8) -> dict[str, object]:
    """Decode with `name` as pldc does; a dict of what happened, for JSON."""
    started = time.perf_counter()
    backend = open_model(name)
    loaded = time.perf_counter()
    text = backend.generate(PROBE_MESSAGES, max_tokens=max_tokens)
    scores = backend.score(PROBE_MESSAGES, PROBE_LABELS)
    layout = getattr(backend, "weight_layout", None)
    backend.close()
    return {
        "model": name,
        "generated": text,
        "label_logprobs": scores,
        "load_seconds": round(loaded - started, 2),
        "decode_seconds": round(time.perf_counter() - loaded, 2),
        "weight_repacking": None if layout is None else layout.use_extra_bufts,
    }


def main(argv: list[str]) -> int:
    print(json.dumps(probe(argv[0])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
