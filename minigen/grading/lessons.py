"""The lesson catalogue: where the lessons are, listing them, copying them, and handouts.

The lessons folder (``lessons/`` at the root of a minigen checkout) holds::

    01_autograd.py ... 13_vae.py     the lessons, with reference solutions
    checks/05_lstm.py                public checks: they go out with the handout
    checks/hidden/05_lstm.py         hidden checks: they stay with the instructor

An instructor can keep a private lessons folder of the same shape (their own
solutions and hidden checks) and pass it as ``--lessons DIR``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import rules
from .notebooks import check_format, to_notebook
from .strip import find_exercises, strip_solutions

__all__ = ["Lesson", "lessons_dir", "edition", "list_lessons", "find_lesson", "check_files", "copy_lessons",
           "assign", "read_manifest", "MANIFEST", "LANGUAGES"]

MANIFEST = "assignment.json"
LANGUAGES = ("en", "zh")           # English (the lessons folder itself) and Simplified Chinese (its zh/ folder)
_NAME = re.compile(r"^(\d\d)_[A-Za-z0-9_]+\.py$")
_NO_LESSONS = "the lessons folder (--lessons) {!r} holds no lessons (files such as 05_lstm.py)"
_DAMAGED = '{} is damaged: expected an object such as {{"lessons": ["05_lstm"]}}; fix it or delete it'
_EXISTS = "{} already exists; pass --force to overwrite ({} file(s) would be replaced)"


@dataclass
class Lesson:
    number: str          # "05"
    name: str            # "05_lstm"
    path: Path
    title: str           # from the lesson's first heading

    def exercises(self):
        return find_exercises(self.path.read_text(encoding="utf-8"), self.number, str(self.path))


def lessons_dir(override=None) -> Path:
    """The lessons folder: ``override``, else the checkout's ``lessons/``, else the installed copy."""
    if override is not None:
        root = Path(override)
        if not root.is_dir():
            what = "is not a folder" if root.exists() else "does not exist"
            raise FileNotFoundError(f"the lessons folder (--lessons) {str(root)!r} {what}")
        if not any(_NAME.match(p.name) for p in root.glob("*.py")):
            raise FileNotFoundError(_NO_LESSONS.format(str(root)))
        return root
    candidates = [Path(__file__).resolve().parents[2] / "lessons",       # a checkout / editable install
                  Path(sys.prefix) / "share" / "minigen" / "lessons"]    # a wheel's data files
    for root in candidates:
        if root.is_dir() and any(root.glob("[0-9][0-9]_*.py")):
            return root
    raise FileNotFoundError("minigen's lessons were not found (looked in "
                            + ", ".join(str(c) for c in candidates) + "); pass --lessons DIR")


def edition(root=None, lang: str = "en") -> Path:
    """The folder of one language's lesson files: the lessons folder for ``"en"``, its ``zh/`` for ``"zh"``.

    The Chinese edition holds the same code, cell for cell (``tests/grading/test_zh.py``), so
    both share the lessons folder's checks; only prose, comments and docstrings differ.
    """
    lang = rules.choice("lessons", "lang", lang, LANGUAGES)
    root = lessons_dir(root)
    folder = root if lang == "en" else root / lang
    if not any(_NAME.match(p.name) for p in folder.glob("*.py")):
        raise FileNotFoundError(f"the lessons folder {str(root)!r} has no {lang!r} edition (no lessons in {folder})")
    return folder


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^# #+\s+(.*)", line)
        if m:
            return m.group(1).strip()
    return path.stem


def list_lessons(root=None) -> list:
    """Every lesson in the folder, in order."""
    root = lessons_dir(root)
    return [Lesson(m.group(1), p.stem, p, _title(p))
            for p in sorted(root.glob("*.py")) if (m := _NAME.match(p.name))]


def find_lesson(spec: str, root=None) -> Lesson:
    """A lesson by number (``5``, ``05``), file name (``05_lstm``, ``05_lstm.py``) or topic (``lstm``)."""
    lessons = list_lessons(root)
    s = str(spec).strip().removesuffix(".py").lower()
    for lesson in lessons:
        if s.isdigit() and int(s) == int(lesson.number):
            return lesson
        if s in (lesson.name.lower(), lesson.name[3:].lower()):
            return lesson
    names = ", ".join(lesson.name for lesson in lessons)
    raise ValueError(f"no lesson {spec!r}; expected a number or a name, one of: {names}")


def check_files(root: Path, lesson_name: str, hidden: bool = True) -> list:
    """The check files of a lesson: public, then (with ``hidden``) hidden."""
    root = Path(root)
    files = [root / "checks" / f"{lesson_name}.py"]
    if hidden:
        files.append(root / "checks" / "hidden" / f"{lesson_name}.py")
    return [f for f in files if f.is_file()]


def read_manifest(path: Path) -> dict:
    """``assignment.json``: ``{"lessons": [names]}``; a damaged one is a ValueError naming the file."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e}); fix it or delete it") from None
    lessons = manifest.get("lessons", []) if isinstance(manifest, dict) else None
    if not isinstance(lessons, list) or not all(isinstance(n, str) for n in lessons):
        raise ValueError(_DAMAGED.format(path))
    return {**manifest, "lessons": lessons}


def _refuse_overwrite(paths, force):
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise FileExistsError(_EXISTS.format(existing[0], len(existing)))


def copy_lessons(dest, root=None, force: bool = False, lang: str = "en", fmt: str = "py") -> list:
    """Copy the lessons of edition ``lang`` (with their solutions) and the public checks to ``dest``, for self-study.

    With ``fmt="ipynb"`` the lessons are written as notebooks (jupytext); the checks stay ``.py``.
    """
    fmt = check_format("lessons", "fmt", fmt)
    folder = edition(root, lang)
    root = lessons_dir(root)
    dest = Path(dest)
    pairs = [(lesson.path, dest / f"{lesson.name}.{fmt}") for lesson in list_lessons(folder)]
    pairs += [(p, dest / "checks" / p.name) for p in sorted((root / "checks").glob("*.py"))]
    if (folder / "README.md").is_file():
        pairs.append((folder / "README.md", dest / "README.md"))
    _refuse_overwrite([d for _, d in pairs], force)
    for src, dst in pairs:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.suffix == ".ipynb":
            text = src.read_text(encoding="utf-8")
            exercises = find_exercises(text, dst.stem[:2], str(src))
            dst.write_text(to_notebook(text, [e.function for e in exercises]), encoding="utf-8")
        else:
            shutil.copyfile(src, dst)
    return [d for _, d in pairs]


HANDOUT_README = """# Your assignment

Each lesson file here opens as a notebook (with jupytext) and runs as a script.
Where a function reads

    # YOUR CODE HERE
    raise NotImplementedError("L05.3: implement lstm_step_backward")

write its body. Keep the function's name and signature.

Check your work at any time, offline, with the public checks in `checks/`:

    python -m minigen grade . --public-only

Your instructor grades with more checks than these, so make your code right in
general, not just for the public checks' inputs.
"""


HANDOUT_README_ZH = """# 你的作业

这里的每个课程文件都可以作为笔记本打开（需要 jupytext），也可以作为脚本运行。
凡是函数体写着

    # YOUR CODE HERE
    raise NotImplementedError("L05.3: implement lstm_step_backward")

的地方，请写出函数体，不要改动函数名和参数。

随时可以离线地用 `checks/` 中的公开检查来检验你的代码：

    python -m minigen grade . --public-only

老师评分时用到的检查比这些更多，所以请让代码在一般情况下都正确，而不只是通过公开检查的输入。
"""


NOTEBOOK_NOTE = {
    "en": "\nHand back the `.ipynb` files. The grader reads their code cells only (not their outputs):\n"
          "you may add cells and move them, and a cell that does not parse costs only the exercises\n"
          "defined in it (the report names the cell, counting from 1 at the top, markdown included).\n",
    "zh": "\n请交回 `.ipynb` 文件。评分只读取其中的代码单元（不读输出）：你可以添加、移动单元；\n"
          "某个单元有语法错误时，只影响其中定义的练习\n"
          "（报告会给出单元序号，从顶部的 1 数起，Markdown 单元也计数）。\n",
}


def assign(specs, out, root=None, force: bool = False, lang: str = "en", fmt: str = "py") -> list:
    """Write the student version of the lessons ``specs`` (edition ``lang``) to ``out``, with their public checks.

    Each solution region becomes a ``NotImplementedError`` stub. Hidden checks are
    not copied. ``out/assignment.json`` records which lessons were assigned, so that
    the grader notices a lesson file that is missing from what comes back. With
    ``fmt="ipynb"`` the lessons are notebooks (jupytext), each exercise in a code cell of its own.
    """
    fmt = check_format("assign", "fmt", fmt)
    folder = edition(root, lang)
    root = lessons_dir(root)
    out = Path(out)
    lessons = []
    for s in specs:                 # 'all': every lesson with exercises, alone or beside others
        found = ([lesson for lesson in list_lessons(folder) if lesson.exercises()] if str(s).lower() == "all"
                 else [find_lesson(s, folder)])
        lessons += [lesson for lesson in found if lesson.name not in {x.name for x in lessons}]
    rules.require(lessons, "assign", "specs", "at least one lesson (a number such as 05, or 'all')", "none")
    texts = {}
    for lesson in lessons:
        text = lesson.path.read_text(encoding="utf-8")
        if not find_exercises(text, lesson.number, str(lesson.path)):
            raise ValueError(f"lesson {lesson.name} has no exercises to assign (no ### BEGIN SOLUTION regions)")
        texts[lesson.name] = strip_solutions(text, lesson.number, str(lesson.path))
        if fmt == "ipynb":
            texts[lesson.name] = to_notebook(texts[lesson.name], [e.function for e in lesson.exercises()])
    writes = {out / f"{name}.{fmt}": text for name, text in texts.items()}
    for lesson in lessons:
        for f in check_files(root, lesson.name, hidden=False):
            writes[out / "checks" / f.name] = f.read_text(encoding="utf-8")
    other = "py" if fmt == "ipynb" else "ipynb"           # the grader takes one file per lesson, .py or .ipynb
    stale = [out / f"{name}.{other}" for name in texts if (out / f"{name}.{other}").exists()]
    if stale and not force:
        raise FileExistsError(f"{stale[0]} is already there, and the grader takes one file per lesson; delete it, "
                              f"or pass --force to replace it with the .{fmt}")
    _refuse_overwrite(list(writes), force)
    for path in stale:
        path.unlink()
    manifest_path = out / MANIFEST
    manifest = read_manifest(manifest_path) if manifest_path.is_file() else {"lessons": []}
    manifest["lessons"] = sorted(set(manifest["lessons"]) | set(texts))
    writes[manifest_path] = json.dumps(manifest, indent=2) + "\n"
    writes.setdefault(out / "README.md", (HANDOUT_README_ZH if lang == "zh" else HANDOUT_README)
                      + (NOTEBOOK_NOTE[lang] if fmt == "ipynb" else ""))
    for path, text in writes.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(writes)
