"""`pldc report`: a self-contained HTML audit report of one artifact.

One file with no network reference, so it opens offline and can be attached to an audit: the
task, models, budget and gate decision; the shipped rules in prompt order with their
provenance (source examples, support, verification evidence, revisions); the demonstrations;
the rules dropped before the search; the conflict-resolution log; dev and test scores with
their 95% intervals; the confusion matrices as heatmaps; and the trial history and Pareto
front as plots. Plots are drawn with matplotlib and inlined as SVG; nothing runs in the page.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence

from pldc.errors import MissingExtraError
from pldc.records import CompiledPrompt, Interval, Rule, Scores
from pldc.search import pareto_front

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1d2433; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.25rem;
     border-bottom: 2px solid #dde3ee; padding-bottom: .2rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; font-size: .92rem; }
th, td { border: 1px solid #dde3ee; padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f6fb; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.gate { padding: .7rem 1rem; border-radius: 6px; background: #f3f6fb; }
.gate.shipped { border-left: 5px solid #2a9d5b; } .gate.baseline { border-left: 5px solid #d08c00; }
.muted { color: #5b6475; font-size: .88rem; } pre { white-space: pre-wrap; margin: 0; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; } .figures > div { flex: 1 1 420px; }
svg { max-width: 100%; height: auto; }
"""


def render_report(artifact: CompiledPrompt) -> str:
    """The whole report as one HTML document (UTF-8 text).

    Raises:
        MissingExtraError: matplotlib is not installed (the `report` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot
    except ImportError:
        raise MissingExtraError("pldc report", "report") from None
    sections = [
        _header(artifact),
        _scores(artifact),
        _confusions(artifact),
        _shipped(artifact),
        _dropped(artifact),
        _resolution(artifact),
        _search(artifact),
    ]
    title = html.escape(f"pldc audit report: {artifact.task.name}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _header(a: CompiledPrompt) -> str:
    gate = a.gate
    if gate is None:
        decision = '<div class="gate shipped">No gate was run; the searched prompt ships.</div>'
    else:
        kind = "shipped" if gate.shipped == "searched" else "baseline"
        reason = gate.reason[:1].upper() + gate.reason[1:]
        decision = (
            f'<div class="gate {kind}"><b>Gate: shipped {_e(gate.shipped)}.</b> {_e(reason)}.</div>'
        )
    rows = [
        ("task", f"{a.task.name} ({a.task.signature})"),
        ("labels", ", ".join(a.prompt.labels)),
        ("teacher", _model(a.teacher)),
        ("student", _model(a.student)),
        ("prompt", f"{a.token_count} of {a.token_budget} tokens ({a.student.tokenizer})"),
        ("data", f"fingerprint {a.task.data_fingerprint[:16]}"),
        ("artifact", f"schema {a.schema_version}, content hash {a.content_hash}"),
        ("search", f"{a.provenance.sampler}, {len(a.provenance.trials)} trials, seed {a.seed}"),
    ]
    return (
        f"<h1>Audit report: {_e(a.task.name)}</h1>"
        '<p class="muted">Made by <code>pldc report</code> from the artifact alone.</p>'
        + _table(["", ""], [[f"<b>{k}</b>", _e(v)] for k, v in rows], header=False)
        + decision
    )


def _scores(a: CompiledPrompt) -> str:
    s = a.scores
    rows = [["shipped prompt", _f1(s.dev), _f1(s.test), str(a.token_count)]]
    rows.append(["zero-shot (no rules)", _f1(s.baseline_dev), _f1(s.baseline_test), ""])
    if s.few_shot_dev is not None and s.few_shot_test is not None:
        rows.append(
            ["few-shot (the offered demonstrations)", _f1(s.few_shot_dev), _f1(s.few_shot_test), ""]
        )
    if s.selection is not None:
        rows.append(["shipped, on the selection examples", _f1(s.selection), "", ""])
    gains = []
    for name, gain in (
        ("zero-shot", s.test_gain_over_baseline),
        ("few-shot", s.test_gain_over_few_shot),
    ):
        if gain is not None:
            gains.append(
                f"test gain over {name}: {_interval(gain, signed=True)} (paired bootstrap)"
            )
    return (
        "<h2>Scores: Macro-F1 [95% interval]</h2>"
        + _table(["prompt", "dev", "test", "tokens"], rows, numeric=(1, 2, 3))
        + "".join(f"<p>{_e(g)}</p>" for g in gains)
    )


def _confusions(a: CompiledPrompt) -> str:
    figures = [
        f"<div>{_heatmap(s, f'{split}: gold (rows) by predicted (columns)')}</div>"
        for split, s in (("dev", a.scores.dev), ("test", a.scores.test))
    ]
    return "<h2>Confusion matrices of the shipped prompt</h2>" + (
        '<div class="figures">' + "".join(figures) + "</div>"
    )


def _shipped(a: CompiledPrompt) -> str:
    rules = [c for c in a.rules if c.kind == "rule"]
    demos = [c for c in a.rules if c.kind == "demonstration"]
    out = [f"<h2>Rules in prompt order ({len(rules)})</h2>"]
    if rules:
        out.append(
            _table(
                ["#", "rule", "labels", "support", "source examples", "verification", "history"],
                [
                    [
                        str(i),
                        _e(r.text),
                        _e(", ".join(r.labels)),
                        str(r.support),
                        _e(", ".join(r.source_example_ids)),
                        _verification(r),
                        _history(r),
                    ]
                    for i, r in enumerate(rules, start=1)
                ],
            )
        )
    else:
        out.append("<p>The shipped prompt holds no rules.</p>")
    out.append(f"<h2>Demonstrations ({len(demos)})</h2>")
    if demos:
        out.append(
            _table(
                ["id", "source example", "label", "text"],
                [
                    [
                        _e(d.id),
                        _e(d.source_example_ids[0]),
                        _e(d.labels[0]),
                        f"<pre>{_e(d.text)}</pre>",
                    ]
                    for d in demos
                ],
            )
        )
    else:
        out.append("<p>The shipped prompt holds no demonstrations.</p>")
    out.append(f"<h2>The system prompt as shipped</h2><pre>{_e(a.prompt.system)}</pre>")
    return "".join(out)


def _dropped(a: CompiledPrompt) -> str:
    dropped = [
        c
        for c in a.provenance.candidate_rules
        if c.kind == "rule" and c.verification is not None and not c.verification.kept
    ]
    if not dropped:
        return "<h2>Rules dropped before the search</h2><p>None.</p>"
    return f"<h2>Rules dropped before the search ({len(dropped)})</h2>" + _table(
        ["id", "rule", "why", "verification"],
        [
            [_e(r.id), _e(r.text), _e(r.verification.reason or ""), _verification(r)]
            for r in dropped
        ],
    )


def _resolution(a: CompiledPrompt) -> str:
    record = a.provenance.resolution
    if record is None:
        return "<h2>Conflict resolution</h2><p>Off for this compile.</p>"
    rows = []
    for round_ in record.rounds:
        verdict = "kept" if round_.accepted else "undone"
        for revision in round_.revisions:
            change = revision.skipped_reason or " | ".join(revision.after) or "(removed)"
            rows.append(
                [
                    str(round_.round),
                    _e(revision.example_id),
                    _e(f"gold {revision.gold}, said {revision.predicted}"),
                    _e(revision.action or "—"),
                    _e(revision.before or ""),
                    _e(change),
                    verdict,
                ]
            )
    return f"<h2>Conflict resolution</h2><p>{_e(record.stopped_because)}.</p>" + _table(
        ["round", "failure", "decision", "edit", "before", "after", "round kept"], rows
    )


def _search(a: CompiledPrompt) -> str:
    trials = a.provenance.trials
    if not trials:
        return ""
    out = ["<h2>The search</h2>", '<div class="figures">']
    out.append(f"<div>{_trial_history(trials, a.provenance.best_trial)}</div>")
    out.append(f"<div>{_front(a)}</div>")
    out.append("</div>")
    return "".join(out)


# Plots ------------------------------------------------------------------------------------


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)  # creator and date


def _heatmap(scores: Scores, title: str) -> str:
    import matplotlib.pyplot as plt

    size = max(3.6, 0.9 * len(scores.labels) + 1.6)
    figure, axes = plt.subplots(figsize=(size, size * 0.85))
    image = axes.imshow(scores.confusion, cmap="Blues")
    axes.set_xticks(range(len(scores.labels)), scores.labels, rotation=30, ha="right")
    axes.set_yticks(range(len(scores.labels)), scores.labels)
    top = max((max(row) for row in scores.confusion), default=0)
    for i, row in enumerate(scores.confusion):
        for j, count in enumerate(row):
            color = "white" if top and count > top / 2 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=color)
    axes.set_title(f"{title}\nMacro-F1 {scores.macro_f1:.3f}, n={scores.n}", fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046)
    return _svg(figure)


def _trial_history(trials: Sequence, best: int) -> str:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.4, 3.6))
    numbers = [t.number for t in trials]
    axes.plot(numbers, [t.dev_macro_f1 for t in trials], "o-", label="Macro-F1")
    axes.set_xlabel("trial")
    axes.set_ylabel("Macro-F1 on the selection examples")
    if any(t.gold_log_prob is not None for t in trials):
        twin = axes.twinx()
        points = [(t.number, t.gold_log_prob) for t in trials if t.gold_log_prob is not None]
        twin.plot(*zip(*points, strict=True), "s--", color="tab:orange", label="gold log-prob")
        twin.set_ylabel("mean gold-label log-probability (nats)")
    chosen = [t for t in trials if t.number == best]
    if chosen:
        axes.scatter([best], [chosen[0].dev_macro_f1], s=160, facecolors="none", edgecolors="red")
    axes.set_title("Trial history (red ring: the search's best trial)", fontsize=10)
    return _svg(figure)


def _front(a: CompiledPrompt) -> str:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.4, 3.6))
    trials = a.provenance.trials
    axes.scatter(
        [t.tokens for t in trials], [t.dev_macro_f1 for t in trials], alpha=0.6, label="trials"
    )
    front = pareto_front(trials)
    axes.step(
        [t.tokens for t in front],
        [t.dev_macro_f1 for t in front],
        where="post",
        color="tab:red",
        label="Pareto front",
    )
    axes.set_xlabel("system-prompt tokens")
    axes.set_ylabel("Macro-F1 on the selection examples")
    axes.legend(fontsize=8)
    axes.set_title("Accuracy against prompt length", fontsize=10)
    return _svg(figure)


# Cells ------------------------------------------------------------------------------------


def _verification(rule: Rule) -> str:
    v = rule.verification
    if v is None:
        return '<span class="muted">not verified</span>'
    parts = []
    if v.gold_logprob_change is not None:
        c = v.gold_logprob_change
        parts.append(f"gold log-prob {c.mean:+.3f} [{c.low:+.3f}, {c.high:+.3f}] nats")
    if v.accuracy_change is not None:
        c = v.accuracy_change
        parts.append(f"accuracy {c.mean:+.3f} [{c.low:+.3f}, {c.high:+.3f}]")
    parts.append(
        f"changes {v.support} of {len(v.example_ids)} decisions, {v.support_correct} to gold"
    )
    if v.copied_specifics:
        parts.append("names case details: " + ", ".join(v.copied_specifics))
    return "<br>".join(_e(p) for p in parts)


def _history(rule: Rule) -> str:
    lines = [f"fate: {rule.fate}"]
    if rule.merged_texts:
        lines.append(f"merged from {len(rule.merged_texts)} teacher rules")
    lines += [f"earlier: {text}" for text in rule.previous_texts]
    if rule.leave_one_out_delta is not None:
        lines.append(f"dev Macro-F1 without it: {-rule.leave_one_out_delta:+.3f}")
    return "<br>".join(_e(line) for line in lines)


def _model(identity) -> str:
    digest = f", sha256 {identity.sha256[:16]}" if identity.sha256 else ""
    return f"{identity.name} ({identity.kind}, {identity.decoding}{digest})"


def _f1(scores: Scores) -> str:
    interval = scores.macro_f1_interval
    shown = f"{scores.macro_f1:.3f}"
    return shown + (f" [{interval.low:.3f}, {interval.high:.3f}]" if interval else "")


def _interval(interval: Interval, *, signed: bool = False) -> str:
    f = "+.3f" if signed else ".3f"
    return f"{interval.estimate:{f}} [{interval.low:{f}}, {interval.high:{f}}]"


def _table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, numeric=(), header: bool = True
) -> str:
    head = "<tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr>" if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def _e(text: object) -> str:
    return html.escape(str(text))
