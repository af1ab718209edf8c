"""Data-parallel training on MPI: N ranks with B / N rows each equal one process with B rows.

The tests start real ranks with ``mpiexec`` (MPICH from the ``distributed`` extra; 3 ranks
oversubscribe a 2-core machine, which MPICH allows). Without mpi4py or mpiexec they skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minigen
from minigen import distributed
from minigen.distributed import SINGLE, Group
from minigen.models import RNNLanguageModel
from minigen.train import Trainer

HERE = os.path.dirname(os.path.abspath(__file__))
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return MPIEXEC is not None


mpi = pytest.mark.skipif(not mpi_available(), reason="needs mpiexec and mpi4py (pip install \"minigen[distributed]\")")


def run(ranks, *args, timeout=120, check=True):
    """run_training.py under ``mpiexec -n ranks`` (or alone for ranks=0); returns the finished process."""
    script = [sys.executable, os.path.join(HERE, "run_training.py"), *map(str, args)]
    command = [MPIEXEC, "-n", str(ranks), *script, "--distributed"] if ranks else script
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def weights(path):
    saved = np.load(path)
    return {k: saved[k] for k in saved.files if k not in ("step", "val_loss")}, int(saved["step"]), saved["val_loss"]


def assert_same_run(a, b, atol=1e-12):
    (wa, sa, la), (wb, sb, lb) = weights(a), weights(b)
    assert sa == sb and wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_allclose(wb[name], wa[name], rtol=0, atol=atol, err_msg=name)
    np.testing.assert_allclose(lb, la, rtol=1e-12)


# ---------------------------------------------------------------------------- without MPI

def test_a_single_process_group_is_the_identity():
    assert (SINGLE.rank, SINGLE.world_size, SINGLE.is_main) == (0, 1, True)
    assert SINGLE.rows(32) == slice(0, 32)
    assert SINGLE.sum([1.5, 2]) == [1.5, 2.0] and SINGLE.mean(3.0) == 3.0
    assert SINGLE.agree(True, False) == (True, False)
    w = minigen.nn.Parameter(np.ones(3))
    w.grad = np.array([1.0, 2.0, 3.0])
    SINGLE.all_reduce_gradients([w])
    assert w.grad.tolist() == [1.0, 2.0, 3.0]
    assert distributed.rank() == 0 and distributed.world_size() == 1


class FakeComm:
    """A communicator of ``size`` ranks seen from ``rank``, for what needs no message."""

    def __init__(self, rank, size):
        self.rank, self.size = rank, size

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size


def test_rows_split_a_batch_in_order():
    blocks = [Group(FakeComm(r, 3)).rows(10) for r in range(3)]
    assert [(b.start, b.stop) for b in blocks] == [(0, 3), (3, 6), (6, 10)]
    assert [Group(FakeComm(r, 2)).rows(32) for r in range(2)] == [slice(0, 16), slice(16, 32)]


def test_the_batch_must_split_evenly():
    model = RNNLanguageModel(5, 4, 8, num_layers=1)
    with pytest.raises(ValueError, match="Trainer: batch_size must be a multiple of the 3 ranks.*got 32"):
        Trainer(model, minigen.optim.Adam(model.parameters()), np.arange(200) % 5, batch_size=32, max_steps=1,
                group=Group(FakeComm(1, 3)))


def test_without_mpi4py_init_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r'pip install "minigen\[distributed\]"'):
        distributed.init()


# ---------------------------------------------------------------------------- with MPI

@mpi
@pytest.mark.parametrize("model", ["lstm", "gpt"])
@pytest.mark.parametrize("clip", [None, 0.05])
def test_two_ranks_of_16_rows_equal_one_process_of_32(tmp_path, model, clip):
    extra = ["--model", model] + (["--clip", clip] if clip else [])
    run(0, tmp_path / "one.npz", "--batch-size", 32, *extra)
    run(2, tmp_path / "two.npz", "--batch-size", 32, *extra)
    assert_same_run(tmp_path / "one.npz", tmp_path / "two.npz")


@mpi
def test_three_ranks_oversubscribed(tmp_path):
    run(0, tmp_path / "one.npz", "--batch-size", 30)
    run(3, tmp_path / "three.npz", "--batch-size", 30)
    assert_same_run(tmp_path / "one.npz", tmp_path / "three.npz")


@mpi
def test_a_killed_rank_stops_the_others_and_the_run_resumes(tmp_path):
    ckpt = tmp_path / "run"
    killed = run(2, tmp_path / "killed.npz", "--steps", 10, "--checkpoint-dir", ckpt, "--kill-rank-1-at", 5,
                 timeout=60, check=False)
    assert killed.returncode != 0 and "Killed" in killed.stdout + killed.stderr       # MPICH's report, not a hang
    assert not (tmp_path / "killed.npz").exists()
    run(2, tmp_path / "resumed.npz", "--steps", 10, "--checkpoint-dir", ckpt, "--resume")
    run(0, tmp_path / "whole.npz", "--steps", 10)
    assert_same_run(tmp_path / "whole.npz", tmp_path / "resumed.npz")


@mpi
def test_a_two_rank_checkpoint_resumes_in_one_process(tmp_path):
    """The checkpoint holds the whole global batch's carried state: any number of ranks that divides B resumes it."""
    ckpt = tmp_path / "run"
    run(2, tmp_path / "first.npz", "--steps", 10, "--checkpoint-dir", ckpt, "--kill-rank-1-at", 5, check=False)
    run(0, tmp_path / "second.npz", "--steps", 10, "--checkpoint-dir", ckpt, "--resume")
    run(0, tmp_path / "whole.npz", "--steps", 10)
    assert_same_run(tmp_path / "whole.npz", tmp_path / "second.npz")


GRADIENTS = textwrap.dedent("""
    import pathlib
    import sys

    import numpy as np
    import minigen
    from minigen import distributed

    group = distributed.init()
    r = group.rank
    params = [minigen.nn.Parameter(np.zeros(shape, dtype)) for shape, dtype in
              [((3, 4), np.float64), ((5,), np.float32), ((2, 2, 2), np.float64), ((1,), np.float32)]]
    for k, p in enumerate(params):
        if k != 3:                                          # the last one has no gradient: zeros
            p.grad = (np.arange(p.data.size).reshape(p.data.shape) * (r + 1) + k).astype(p.data.dtype)
    group.all_reduce_gradients(params)
    N = group.world_size
    for k, p in enumerate(params):
        want = 0 if k == 3 else np.arange(p.data.size).reshape(p.data.shape) * (N + 1) / 2 + k
        assert p.grad.dtype == p.data.dtype and np.allclose(p.grad, want), (k, p.grad, want)
    assert group.sum([r, 1.0]) == [N * (N - 1) / 2, N]
    assert group.agree(r == N - 1, False) == (True, False) and group.agree(False, True) == (False, True)
    state = np.full((2, 3, 4), float(r))                    # (layers, this rank's 3 rows, H)
    gathered = group.gather_rows(state)
    assert (gathered is None) == (r != 0)
    if r == 0:
        assert gathered.shape == (2, 3 * N, 4) and gathered[:, 3 * (N - 1):].max() == N - 1
    weights = [minigen.nn.Parameter(np.full(3, float(r)))]
    group.broadcast_parameters(weights)
    assert weights[0].data.tolist() == [0.0, 0.0, 0.0]
    (pathlib.Path(sys.argv[1]) / f"ok{r}").touch()
""")


@mpi
@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_the_collectives(tmp_path, ranks):
    script = tmp_path / "collectives.py"
    script.write_text(GRADIENTS)
    done = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, str(script), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.glob("ok*")) == [f"ok{r}" for r in range(ranks)]


def corpus(folder):
    path = folder / "corpus.txt"
    path.write_text("To be, or not to be, that is the question.\n" * 200)
    return path


@mpi
def test_the_cli_trains_on_two_ranks(tmp_path):
    out = tmp_path / "run"
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "minigen", "train", "--distributed", "--corpus",
               str(corpus(tmp_path)), "--steps", "6", "--eval-interval", "3", "--batch-size", "8", "--seq-len", "16",
               "--hidden-size", "16", "--embed-dim", "8", "--sample-length", "10", "--no-progress", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("done: step 6") == 1                   # rank 0 speaks for all
    assert (out / "checkpoint.safetensors").is_file() and (out / "loss.png").is_file()
    odd = subprocess.run(command[:-2] + ["--batch-size", "7", "--out", str(tmp_path / "odd")], capture_output=True,
                         text=True, timeout=120)
    assert odd.returncode != 0
    assert odd.stderr.count("--batch-size must be a multiple of the 2 ranks") == 1



@mpi
def test_lesson_16_runs_on_two_ranks(tmp_path):
    lesson = os.path.join(os.path.dirname(os.path.dirname(HERE)), "lessons", "16_data_parallel.py")
    env = dict(os.environ, MINIGEN_QUICK="1", MPLBACKEND="Agg")
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, lesson], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on 2 MPI ranks: your ring equals MPI's Allreduce on every rank: True" in done.stdout
    assert "fitted to MPI's Allreduce" in done.stdout and "Traceback" not in done.stderr
