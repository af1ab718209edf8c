"""The ``minigen`` command line: ``python -m minigen COMMAND`` (or the ``minigen`` script).

Commands:

- ``train``: train a language model; with no options, minigen's main job (a
  character LSTM on Shakespeare for 10 minutes);
- ``sample``: continue a prompt with a trained checkpoint;
- ``finetune``: fine-tune a trained checkpoint toward a reward (a lipogram, a word to
  include, a discriminator's verdict) by REINFORCE with a KL penalty;
- ``gradcheck``: gradient checking on a small network, and why the check must use
  a random upstream gradient;
- ``lessons``: list the numbered lessons, copy them out, or run one;
- ``assign``: write the student version of lessons (solutions stripped);
- ``grade``: grade a student's folder offline.

Mistakes in the options or the data end with one line on stderr and exit status 1;
set ``MINIGEN_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import distributed
from ..backend import CupyUnavailableError
from ..checkpoint import CheckpointError
from ..data import CorpusError
from ..train import TrainingError
from . import finetune_cmd, gradcheck_demo, lessons_cmd, sample_cmd, train_cmd

USER_ERRORS = (CorpusError, CheckpointError, TrainingError, CupyUnavailableError, ValueError, IndexError, OSError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigen", description=__doc__.splitlines()[0].replace("``", ""))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    train_cmd.add_parser(sub)
    sample_cmd.add_parser(sub)
    finetune_cmd.add_parser(sub)
    gradcheck_demo.add_parser(sub)
    lessons_cmd.add_parsers(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except USER_ERRORS as e:
        if os.environ.get("MINIGEN_DEBUG"):
            raise
        if distributed.rank() == 0:          # under mpiexec every rank meets the same error: one says it
            print(f"minigen {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"minigen {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
