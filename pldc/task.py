"""What a task file declares: a DSPy signature plus where its labelled data lives.

A `Task` is what users write. `TaskSchema` is what pldc reads off the signature (instruction,
input fields, output field, label set); it is checked once, here, so every later stage can
trust it.
"""

from __future__ import annotations

import typing
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pldc.errors import TaskFileError


@dataclass(frozen=True)
class Splits:
    """Deterministic train / dev / test fractions of the task's data.

    Examples sharing a `group_by` value always land in the same split (e.g. the three sentences
    flattened from one StereoSet item). Without groups the split is stratified by label.
    """

    train: float = 0.6
    dev: float = 0.2
    test: float = 0.2
    seed: int = 0
    group_by: str | None = None

    def __post_init__(self) -> None:
        fractions = (self.train, self.dev, self.test)
        if not all(isinstance(f, int | float) and not isinstance(f, bool) for f in fractions):
            raise TaskFileError(
                f"Splits(train={self.train!r}, dev={self.dev!r}, test={self.test!r}): give each "
                "fraction as a number, e.g. Splits(train=0.6, dev=0.2, test=0.2)."
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise TaskFileError(f"Splits(seed={self.seed!r}): give the seed as a whole number.")
        if self.group_by is not None and not isinstance(self.group_by, str):
            raise TaskFileError(f"Splits(group_by={self.group_by!r}): give a column name.")
        if any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
            raise TaskFileError(
                f"Splits(train={self.train}, dev={self.dev}, test={self.test}): each fraction "
                "must be > 0 and they must sum to 1."
            )


@dataclass(frozen=True)
class Task:
    """A classification task: a DSPy signature and the labelled data for it.

    `data` is a path to a local JSON, JSONL or CSV file (relative paths are resolved against
    the task file), a Hugging Face `datasets` name or a folder of data files (both read by
    `datasets.load_dataset`, split `dataset_split`), a `datasets.Dataset`, a list of records
    (mappings or `dspy.Example`s), or a `datasets.DatasetDict`, whose own splits are used. A
    `ClassLabel` column is read as its label names.
    Instead of `data`, `train=`, `dev=` and `test=` give sets already split, each in any of
    those forms; a set left out (and a DatasetDict's missing `validation` or `test` split) is
    carved from train by `splits`, in proportion.
    `columns` maps signature field names to data columns when they differ. `teacher` and
    `student` override pldc's default models for this task; the command line overrides both.
    `pinned_rules` are rules the compiled prompt always states first, in this order (mandatory
    compliance rules, say); they count against the token budget and the search never drops them.
    `truncate` names input fields whose end pldc may cut (marked "…") when an example would not
    fit the student's context at the token budget; without it such examples are refused, by id.
    """

    signature: type
    data: Any = None
    splits: Splits = field(default_factory=Splits)
    columns: Mapping[str, str] = field(default_factory=dict)
    id_column: str | None = None
    dataset_split: str = "train"
    name: str | None = None
    teacher: str | None = None
    student: str | None = None
    pinned_rules: tuple[str, ...] = ()
    truncate: tuple[str, ...] = ()
    train: Any = None
    dev: Any = None
    test: Any = None

    def __post_init__(self) -> None:
        self._check_types()
        self._check_data_given()
        rules = self.pinned_rules
        if isinstance(rules, str) or not all(isinstance(r, str) and r.strip() for r in rules):
            raise TaskFileError(
                f"Task(pinned_rules={rules!r}): give a list of non-empty rule texts, e.g. "
                'pinned_rules=["Escalate every claim above $5,000."].'
            )
        object.__setattr__(self, "pinned_rules", tuple(r.strip() for r in rules))
        fields = self.truncate
        if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
            raise TaskFileError(
                f"Task(truncate={fields!r}): give a list of input field names, e.g. "
                'truncate=["claim"].'
            )
        object.__setattr__(self, "truncate", tuple(fields))

    def _check_types(self) -> None:
        """Refuse a field of the wrong type, which would otherwise fail later as a raw error."""
        if not isinstance(self.splits, Splits):
            raise TaskFileError(
                f"Task(splits={self.splits!r}): give a pldc.Splits, e.g. "
                "splits=pldc.Splits(train=0.6, dev=0.2, test=0.2)."
            )
        if not isinstance(self.columns, Mapping):
            raise TaskFileError(
                f"Task(columns={self.columns!r}): give a dict of signature field -> data column, "
                'e.g. columns={"claim": "text"}.'
            )
        for name in ("id_column", "name", "teacher", "student", "dataset_split"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TaskFileError(f"Task({name}={value!r}): give a string.")

    def _check_data_given(self) -> None:
        """Exactly one source: `data`, or `train` (with `dev` and `test` if it has them)."""
        explicit = [name for name in ("train", "dev", "test") if getattr(self, name) is not None]
        if self.data is not None and explicit:
            raise TaskFileError(
                f"Task(data=..., {'=..., '.join(explicit)}=...): give either data= (which "
                "splits= divides) or train=/dev=/test= (sets already split), not both."
            )
        if self.data is None and not explicit:
            raise TaskFileError(
                "Task(...) has no data: give data= (a file, a `datasets` name or object, or a "
                "list of records) or train=, dev= and test= sets."
            )
        if explicit and "train" not in explicit:
            raise TaskFileError(
                f"Task({'=..., '.join(explicit)}=...) has no train= set; give train= too "
                "(dev= and test= alone leave nothing to learn from)."
            )

    @property
    def given_sets(self) -> dict[str, Any]:
        """The sets already split: train, and dev and test when given ({} when `data` is)."""
        return {
            n: getattr(self, n) for n in ("train", "dev", "test") if getattr(self, n) is not None
        }

    def check_field_names(self) -> None:
        """Refuse `columns` keys and `truncate` names that are not fields of the signature,
        which would otherwise be silently ignored."""
        schema = self.schema
        fields = (*schema.input_names, schema.output_field)
        for name, column in self.columns.items():
            if name not in fields:
                raise TaskFileError(
                    f"Task(columns={dict(self.columns)!r}) maps {name!r}, which is not a field "
                    f"of signature {schema.signature_name!r} (fields: "
                    f"{', '.join(map(repr, fields))}); key columns= by field name."
                )
            if not isinstance(column, str):
                raise TaskFileError(
                    f"Task(columns=...) maps field {name!r} to {column!r}; give a column name."
                )
        for name in self.truncate:
            if name not in schema.input_names:
                raise TaskFileError(
                    f"Task(truncate={list(self.truncate)!r}) names {name!r}, which is not an "
                    f"input field of signature {schema.signature_name!r} (input fields: "
                    f"{', '.join(map(repr, schema.input_names))})."
                )

    @property
    def schema(self) -> TaskSchema:
        return TaskSchema.from_signature(self.signature)

    @property
    def display_name(self) -> str:
        return self.name or _snake_case(self.signature.__name__)


@dataclass(frozen=True)
class InputFieldSpec:
    name: str
    title: str
    """What prompts call the field: its `prefix` if the signature gives one, else its name."""
    description: str
    """The field's `desc`, shown to the student and the teacher ("" if none was given)."""


@dataclass(frozen=True)
class TaskSchema:
    signature_name: str
    instruction: str
    input_fields: tuple[InputFieldSpec, ...]
    output_field: str
    labels: tuple[str, ...]
    output_description: str = ""
    """The output field's `desc`, shown beside the input fields' ("" if none was given)."""

    @classmethod
    def from_signature(cls, signature: type) -> TaskSchema:
        name = getattr(signature, "__name__", repr(signature))
        input_fields = getattr(signature, "input_fields", None)
        output_fields = getattr(signature, "output_fields", None)
        if input_fields is None or output_fields is None:
            raise TaskFileError(
                f"signature {name!r} is not a dspy.Signature: declare it as "
                "`class MyTask(dspy.Signature)` with InputField / OutputField attributes."
            )
        if not input_fields:
            raise TaskFileError(f"signature {name!r} has no input field: add a dspy.InputField().")
        if len(output_fields) != 1:
            raise TaskFileError(
                f"signature {name!r} has {len(output_fields)} output fields "
                f"({', '.join(output_fields) or 'none'}); declare exactly one, typed "
                "Literal[...] of the labels."
            )
        ((output_name, output_info),) = output_fields.items()
        labels = _literal_labels(output_info.annotation)
        if labels == ():
            raise TaskFileError(
                f"signature {name!r}: output field {output_name!r} is a Literal of non-string "
                f"values {list(typing.get_args(output_info.annotation))}; labels must be strings, "
                f'e.g. `{output_name}: Literal["yes", "no"] = dspy.OutputField()`.'
            )
        if labels is None:
            raise TaskFileError(
                f"signature {name!r}: output field {output_name!r} is typed "
                f"{_type_name(output_info.annotation)}; type it Literal[...] of the labels, "
                f'e.g. `{output_name}: Literal["yes", "no"] = dspy.OutputField()`.'
            )
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise TaskFileError(
                f"signature {name!r}: output field {output_name!r} needs at least two distinct "
                f"string labels, got {list(labels)}."
            )
        _check_labels_readable(f"signature {name!r}: output field {output_name!r}", labels)
        for field_name, info in [*input_fields.items(), (output_name, output_info)]:
            _check_field_options(name, field_name, info, field_name == output_name)
        instruction = (getattr(signature, "instructions", "") or "").strip()
        if not instruction or instruction == _dspy_default_instruction(signature):
            raise TaskFileError(
                f"signature {name!r} has no docstring: the docstring is the task instruction."
            )
        specs = tuple(_input_spec(field, info) for field, info in input_fields.items())
        return cls(
            name,
            instruction,
            specs,
            output_name,
            labels,
            _field_description(output_info, output_name),
        )

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.input_fields)


def _input_spec(field_name: str, info: Any) -> InputFieldSpec:
    return InputFieldSpec(
        name=field_name,
        title=_field_title(info, field_name),
        description=_field_description(info, field_name),
    )


def _literal_labels(annotation: Any) -> tuple[str, ...] | None:
    if typing.get_origin(annotation) is not Literal:
        return None
    values = typing.get_args(annotation)
    if not all(isinstance(v, str) for v in values):
        return ()
    return tuple(values)


def label_key(label: str) -> str:
    """What a reader (or a student's reply) can tell of a label: its Unicode NFC form,
    case-folded, with runs of whitespace made one space and the ends trimmed."""
    return " ".join(unicodedata.normalize("NFC", label).casefold().split())


def _check_labels_readable(where: str, labels: tuple[str, ...]) -> None:
    """Refuse labels the prompt cannot list, or a reply cannot tell apart: empty ones, ones
    with surrounding whitespace, a comma (the answer format lists labels separated by ", ") or
    a line break, and two that differ only in case, whitespace or Unicode normalization."""
    for label in labels:
        problem = _unreadable(label)
        if problem:
            raise TaskFileError(
                f"{where}: label {label!r} {problem}; every label must be a non-empty name the "
                'answer format can list, e.g. Literal["approve", "reject"].'
            )
    seen: dict[str, str] = {}
    for label in labels:
        earlier = seen.setdefault(label_key(label), label)
        if earlier != label:
            raise TaskFileError(
                f"{where}: labels {earlier!r} and {label!r} differ only in case, whitespace or "
                "Unicode normalization, so a reply cannot tell them apart; merge them or rename "
                "one."
            )


def _unreadable(label: str) -> str | None:
    if not label.strip():
        return "is empty"
    if label != label.strip():
        return "has leading or trailing whitespace"
    if "," in label:
        return 'holds a comma, which the answer format uses to separate labels (", ")'
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in label):
        return "holds a line break or control character"
    return None


def _dspy_default_instruction(signature: Any) -> str:
    """The instruction dspy writes into a signature that has no docstring: "Given the fields
    `a`, `b`, produce the fields `c`." dspy builds it in a private helper, so pldc builds the
    same text itself; a test checks that dspy still writes it."""
    inputs = ", ".join(f"`{name}`" for name in signature.input_fields)
    outputs = ", ".join(f"`{name}`" for name in signature.output_fields)
    return f"Given the fields {inputs}, produce the fields {outputs}."


def _field_description(info: Any, field_name: str) -> str:
    extra = getattr(info, "json_schema_extra", None) or {}
    desc = " ".join(str(extra.get("desc", "") or "").split())
    # dspy fills a placeholder description when none is given; it carries no meaning.
    return "" if desc == f"${{{field_name}}}" else desc


def _check_field_options(signature: str, field_name: str, info: Any, output: bool) -> None:
    """Refuse what a signature declares that no prompt can show (issue 20 C8): `format` and
    `parser` (dspy 3 ignores both), and a `prefix` on the output field, which every prompt
    calls "Answer"."""
    extra = getattr(info, "json_schema_extra", None) or {}
    for option in ("format", "parser"):
        if extra.get(option) is not None:
            raise TaskFileError(
                f"signature {signature!r}: field {field_name!r} sets {option}=, which pldc "
                f"cannot show the student or the teacher; remove {option}= from the field."
            )
    if output:
        from dspy.signatures.signature import infer_prefix

        prefix = " ".join(str(extra.get("prefix", "") or "").split())
        if prefix and prefix.rstrip(":").strip() != infer_prefix(field_name):
            raise TaskFileError(
                f"signature {signature!r}: output field {field_name!r} sets prefix={prefix!r}, "
                "but pldc's prompts always name the answer 'Answer'; remove prefix= (describe "
                "the answer with desc= instead, which the prompts show)."
            )


def _field_title(info: Any, field_name: str) -> str:
    """The field's `prefix` without its colon when the signature set one (dspy 3 ignores it,
    pldc titles the field with it), else the name, e.g. "claim_text" -> "Claim text"."""
    from dspy.signatures.signature import infer_prefix

    extra = getattr(info, "json_schema_extra", None) or {}
    prefix = " ".join(str(extra.get("prefix", "") or "").split()).rstrip(":").strip()
    if prefix and prefix != infer_prefix(field_name):
        return prefix
    return field_name.replace("_", " ").capitalize()


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)


def _snake_case(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
