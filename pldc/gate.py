"""The final gate: the searched prompt ships only if it beats the best baseline.

A search over a few dozen examples finds prompts that look better than they are. So after the
search, the best prompt is compared with the baselines it had to beat, zero-shot and few-shot,
on the same selection examples. It ships only if the paired bootstrap's 95% interval for its
Macro-F1 gain over the best baseline lies above zero; otherwise the artifact holds that
baseline and says why. (The searched prompt was chosen on these examples, so the test favours
it: passing the gate is necessary, not sufficient; the test split is the judge.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pldc.records import GateRecord
from pldc.stats import macro_f1_interval, paired_difference


def gate(
    gold: Sequence[str],
    labels: Sequence[str],
    searched: Sequence[str | None],
    baselines: Mapping[str, Sequence[str | None]],
    *,
    searched_is: str | None = None,
    enabled: bool = True,
    seed: int = 0,
) -> GateRecord:
    """Decide between the searched prompt's and each baseline's predictions on `gold`.

    `searched_is` names the baseline the searched prompt is, if it is one; with `enabled`
    False the searched prompt always ships and the record still holds the comparison.

    Raises:
        ValueError: no baselines, or prediction lists of another length than `gold`.
    """
    if not baselines:
        raise ValueError("the gate needs at least one baseline")
    scores = {name: macro_f1_interval(gold, p, labels, seed=seed) for name, p in baselines.items()}
    best = max(scores, key=lambda name: (scores[name].estimate, name == "zero-shot"))
    searched_score = macro_f1_interval(gold, searched, labels, seed=seed).estimate
    common = {
        "examples": len(gold),
        "searched_macro_f1": searched_score,
        "baseline_macro_f1": {name: score.estimate for name, score in scores.items()},
        "best_baseline": best,
    }
    if searched_is is not None:
        return GateRecord(
            shipped="searched",
            difference=None,
            reason=f"the search's best prompt is the {searched_is} baseline itself",
            **common,
        )
    difference = paired_difference(gold, searched, baselines[best], labels, seed=seed)
    if difference.low > 0:
        verdict, shipped = "beats", "searched"
    elif not enabled:
        verdict, shipped = "does not clearly beat (gate off, shipped anyway)", "searched"
    else:
        verdict, shipped = "does not clearly beat", best
    reason = (
        f"the searched prompt {verdict} {best} on {len(gold)} selection examples: Macro-F1 "
        f"difference {difference.estimate:+.3f}, 95% interval "
        f"[{difference.low:+.3f}, {difference.high:+.3f}]"
    )
    return GateRecord(shipped=shipped, difference=difference, reason=reason, **common)
