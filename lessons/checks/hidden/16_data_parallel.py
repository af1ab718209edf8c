"""Hidden checks for lesson 16: other shapes and dtypes, one rank, many ranks, uneven chunks, a zero gradient."""

import numpy as np

from minigen.grading import case, check, expect_close, expect_true, public_checks

public = public_checks(__file__)


@check("pack", points=1)
def pack_other_arrays(student):
    """pack handles one array, 0-d arrays, empty arrays and float32"""
    with case("For one array"):
        public.check_pack(student, [np.arange(6.0).reshape(2, 3)])
    with case("For a 0-d array among others"):
        public.check_pack(student, [np.array(2.5), np.arange(3.0), np.ones((2, 2))])
    with case("For an empty array among others"):
        public.check_pack(student, [np.arange(2.0), np.zeros((0, 3)), np.ones(1)])
    arrays = [np.arange(4, dtype=np.float32), np.ones((2, 2), dtype=np.float32)]
    flat, _ = student.pack(arrays)
    expect_true(np.asarray(flat).dtype == np.float32, f"pack turned float32 gradients into {np.asarray(flat).dtype}: "
                                                       "keep their dtype (the all-reduce sends what you pack)")


@check("unpack", points=1)
def unpack_other_arrays(student):
    """unpack handles one array, 0-d arrays, empty arrays and many small arrays"""
    with case("For one array"):
        public.check_unpack(student, [np.arange(6.0).reshape(3, 2)])
    with case("For a 0-d array among others"):
        public.check_unpack(student, [np.array(2.5), np.arange(3.0), np.ones((2, 2))])
    with case("For an empty array among others"):
        public.check_unpack(student, [np.arange(2.0), np.zeros((0, 3)), np.ones(1)])
    with case("For 30 small arrays"):
        public.check_unpack(student, [np.full((k % 3 + 1, 2), float(k)) for k in range(30)])


@check("ring_all_reduce", points=3)
def ring_edge_cases(student):
    """ring_all_reduce is right on 1 rank, on 5 ranks with uneven chunks, and with fewer numbers than ranks"""
    rng = np.random.default_rng(4)
    with case("On 1 rank (no messages: the sum is the buffer)"):
        public.check_ring(student, [rng.standard_normal(7)], 0)
    buffers = [rng.standard_normal(13) for _ in range(5)]
    for rank in (0, 2, 4):
        with case(f"With 5 ranks and 13 numbers (chunks of 3 and 2), as rank {rank}"):
            public.check_ring(student, buffers, rank)
    small = [rng.standard_normal(2) for _ in range(4)]
    with case("With 4 ranks and 2 numbers (empty chunks), as rank 3"):
        public.check_ring(student, small, 3)
    ints = [np.arange(6) * (r + 1) for r in range(3)]
    with case("With integer buffers on 3 ranks, as rank 1"):
        public.check_ring(student, ints, 1)


@check("clip_sharded", points=2)
def clip_edge_cases(student):
    """clip_sharded handles a zero gradient, one rank, and a norm exactly at max_norm"""
    rng = np.random.default_rng(5)
    with case("For a zero gradient on 2 ranks"):
        public.check_clip(student, [np.zeros(3), np.zeros(2)], 0, 1.0)
    with case("On 1 rank"):
        public.check_clip(student, [rng.standard_normal(6) * 5], 0, 2.0)
    chunks = [np.array([3.0, 0.0]), np.array([0.0, 4.0])]              # |g| = 5
    with case("For |g| = 5 and max_norm 5"):
        public.check_clip(student, chunks, 1, 5.0)
    clipped, total = student.clip_sharded(np.array([3.0, 0.0]), 5.0, lambda v: v + 16.0)
    expect_close("clip_sharded", "total_norm", np.float64(total), 5.0, atol=1e-12, rtol=1e-12)
