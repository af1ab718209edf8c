"""Process-wide allocator settings for the host (glibc), which training scripts opt into."""

from __future__ import annotations


def tune_malloc() -> bool:
    """Ask glibc to keep freed memory instead of handing it back to the system at once.

    The recurrent kernels allocate and free many 32-128 KB arrays per time step. By
    default glibc serves the larger of these with fresh ``mmap`` calls and trims the
    heap after frees, so the same memory is faulted in again and again (a few us per
    page). Raising the mmap and trim thresholds removes that cost (about 10% of an
    LSTM training step on a small CPU). It changes process-wide allocator settings,
    so minigen never calls it on import: training scripts and benchmarks opt in.
    Returns False where glibc's ``mallopt`` is not available.
    """
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)          # glibc's maximum on 64-bit
    ok &= mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    ok &= mallopt(M_TOP_PAD, 64 * 1024 * 1024)
    return bool(ok)
