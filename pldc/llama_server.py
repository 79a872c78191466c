"""llama-cpp-python's OpenAI-compatible server, loading its model as pldc loads local models.

    python -m pldc.llama_server --model student.gguf --host 127.0.0.1 --port 8000

Takes exactly `python -m llama_cpp.server`'s arguments (the `dev` extra installs it) and runs
that server, with llama.cpp's weight repacking set as pldc sets it (off unless
`PLDC_LLAMA_REPACK=on`; `pldc.backends._cpu`): llama-cpp-python has no flag for it. The server
evaluates each prompt in whatever pieces its prefix cache leaves, and repacked kernels round
differently for different pieces: a plain `python -m llama_cpp.server` scored the demo's dev
claims up to 0.14 nats away from pldc's in-process student and decided 6 of 89 otherwise;
started this way, within 0.001 nats, all 89 alike (benchmarks/results/served-concurrency.md).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from pldc.backends._cpu import weight_layout
    from pldc.backends._llama import model_params

    args = sys.argv[1:] if argv is None else argv
    if {"-h", "--help"} & set(args):
        print(__doc__.strip() + "\n\nllama-cpp-python's own arguments:\n")
    model = args[args.index("--model") + 1] if "--model" in args[:-1] else None
    if model is not None and not Path(model).expanduser().is_file():
        raise SystemExit(f"error: --model {model}: no such file; give the path of a .gguf file.")
    with model_params(weight_layout()):
        sys.argv = ["python -m pldc.llama_server", *args]
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
