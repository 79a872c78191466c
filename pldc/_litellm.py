"""Keeping litellm offline: on its first import it otherwise fetches its model cost map from
GitHub, retrying for seconds when there is no network."""

from __future__ import annotations

import os


def keep_litellm_offline() -> None:
    """Make litellm read its model cost map from its own package when it is first imported.

    Called where pldc is about to import dspy or litellm, or to run code that may (a task file,
    a compile, a recorded student, the command line), never on `import pldc`, so importing
    pldc changes no environment variable. A value the user set is kept.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
