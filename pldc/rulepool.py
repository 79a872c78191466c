"""The rule pool: teacher rules embedded, clustered, and merged into one rule per cluster.

Rules are clustered with DBSCAN on cosine distance, separately for each label they argue for
(a cluster spanning two labels would merge contradicting rules). The teacher writes one
general rule per cluster from its members. Noise points are kept as singletons. Every pooled
rule carries its provenance: source example ids, support, the member rules, and its fate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import DBSCAN

from pldc.embed import Embedder
from pldc.extract import Ask, copied_specifics
from pldc.progress import NullProgress, Progress
from pldc.records import Rule, TeacherTrace
from pldc.render import parse_rule, render_synthesis_messages
from pldc.settings import ClusterSettings
from pldc.task import TaskSchema


def pinned_rules(texts: Sequence[str]) -> list[Rule]:
    """The task file's pinned rules, as rules with no source examples."""
    return [
        Rule(
            id=f"pinned-{i}", text=text, labels=[], source_example_ids=[], support=0, fate="pinned"
        )
        for i, text in enumerate(texts, start=1)
    ]


def build_rule_pool(
    schema: TaskSchema,
    traces: Sequence[TeacherTrace],
    embedder: Embedder,
    ask_teacher: Ask,
    settings: ClusterSettings | None = None,
    progress: Progress | None = None,
) -> list[Rule]:
    """Cluster the traces' rules per label and synthesise one rule per cluster.

    Ordered by support (how many examples back a rule), then by first appearance.
    """
    progress = progress or NullProgress()
    groups = cluster_rules(traces, embedder, settings or ClusterSettings())
    pool = []
    merged = sum(1 for g in groups if len(g) > 1)
    with progress.stage("rule synthesis", total=merged) as stage:
        for number, members in enumerate(groups, start=1):
            rule_id = f"rule-{number:02d}"
            pool.append(_pooled_rule(rule_id, members, ask_teacher, schema))
            if len(members) > 1:
                stage.advance()
    return pool


def cluster_rules(
    traces: Sequence[TeacherTrace], embedder: Embedder, settings: ClusterSettings
) -> list[list[TeacherTrace]]:
    """The traces that have a rule, grouped by their rules' meaning.

    Per label, the rules are embedded in one batch and clustered by DBSCAN (`settings.eps`,
    `settings.min_samples`) on cosine distance; a rule DBSCAN leaves as noise is a group of
    its own. Groups are ordered largest first, then by their first trace's position in
    `traces`; within a group, traces keep their order.
    """
    usable = [t for t in traces if t.rule]
    groups: list[list[int]] = []
    for label in dict.fromkeys(t.label for t in usable):
        members = [i for i, t in enumerate(usable) if t.label == label]
        vectors = embedder.embed([usable[i].rule for i in members])
        distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
        assignment = (
            DBSCAN(eps=settings.eps, min_samples=settings.min_samples, metric="precomputed")
            .fit(distances)
            .labels_
        )
        clusters: dict[int, list[int]] = {}
        for position, cluster in enumerate(assignment):
            if cluster == -1:
                groups.append([members[position]])
            else:
                clusters.setdefault(int(cluster), []).append(members[position])
        groups.extend(clusters.values())
    groups.sort(key=lambda g: (-len(g), min(g)))
    return [[usable[i] for i in group] for group in groups]


def raw_rule_pool(traces: Sequence[TeacherTrace]) -> list[Rule]:
    """Every per-example teacher rule as its own candidate, in extraction order: no clustering."""
    usable = [t for t in traces if t.rule]
    return [
        Rule(
            id=f"raw-{number:02d}",
            text=trace.rule,
            labels=[trace.label],
            source_example_ids=_sources([trace]),
            support=1,
            copied_specifics=trace.copied_specifics,
        )
        for number, trace in enumerate(usable, start=1)
    ]


def _pooled_rule(
    rule_id: str, members: Sequence[TeacherTrace], ask_teacher: Ask, schema: TaskSchema
) -> Rule:
    provenance = {
        "labels": sorted({t.label for t in members}),
        "source_example_ids": _sources(members),
        "support": len(members),
        "merged_texts": [t.rule for t in members] if len(members) > 1 else [],
    }
    if len(members) == 1:
        (only,) = members
        return Rule(
            id=rule_id,
            text=only.rule,
            fate="singleton",
            copied_specifics=only.copied_specifics,
            **provenance,
        )
    label = members[0].label
    reply = ask_teacher(render_synthesis_messages(schema, [t.rule for t in members], label))
    synthesized = parse_rule(reply)
    member_text = " ".join(t.rule for t in members)
    if synthesized is not None:
        # Specifics every member shares are the cluster's; one member's alone are not general.
        return Rule(
            id=rule_id,
            text=synthesized,
            fate="synthesized",
            copied_specifics=copied_specifics(synthesized, member_text),
            **provenance,
        )
    first = members[0]
    return Rule(
        id=rule_id,
        text=first.rule,
        fate="unsynthesized",
        copied_specifics=first.copied_specifics,
        **provenance,
    )


def _sources(traces: Sequence[TeacherTrace]) -> list[str]:
    """The training examples the teacher saw for `traces`: each one's own, then its peers."""
    ids = [i for trace in traces for i in (trace.example_id, *trace.peer_example_ids)]
    return list(dict.fromkeys(ids))
