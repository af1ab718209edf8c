"""The Chinese edition (lessons/zh/): the same code as the English lessons, cell for cell.

Prose, comments and docstrings are translated; everything else (the cells, their order,
every statement and string literal, the exercises and their solution regions) is the same,
so that the two editions cannot drift apart.
"""

import ast
import re

import pytest

from minigen.cli import main
from minigen.grading import assign, grade, lessons_dir, list_lessons
from minigen.grading.strip import find_exercises, strip_solutions

ROOT = lessons_dir()
ZH = ROOT / "zh"
ENGLISH = list_lessons(ROOT)
CELL = re.compile(r"^# %%.*$", re.M)


def cells(text: str) -> list:
    """[(marker line, body)] of a percent-format file; the jupytext header before the first cell is left out."""
    markers = list(CELL.finditer(text))
    return [(m.group(0), text[m.end():markers[i + 1].start() if i + 1 < len(markers) else len(text)])
            for i, m in enumerate(markers)]


def without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
                    isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def code(body: str) -> str:
    """A code cell's statements, without comments and docstrings."""
    return ast.dump(without_docstrings(ast.parse(body)))


def same_code(english: str, chinese: str, what: str) -> None:
    en, zh = cells(english), cells(chinese)
    assert [m for m, _ in zh] == [m for m, _ in en], f"{what}: the cells' markers differ (kinds, order or count)"
    for k, ((marker, en_body), (_, zh_body)) in enumerate(zip(en, zh)):
        if "[markdown]" not in marker:
            assert code(zh_body) == code(en_body), f"{what}: code cell {k} differs from the English one"


def zh_lessons():
    return [lesson for lesson in ENGLISH if (ZH / lesson.path.name).is_file()]


@pytest.mark.parametrize("lesson", zh_lessons(), ids=lambda lesson: lesson.name)
def test_the_chinese_lesson_has_the_english_code(lesson):
    english = lesson.path.read_text(encoding="utf-8")
    chinese = (ZH / lesson.path.name).read_text(encoding="utf-8")
    assert chinese.split("# %%", 1)[0] == english.split("# %%", 1)[0], "the jupytext header differs"
    same_code(english, chinese, lesson.name)
    ids = [(e.id, e.function) for e in find_exercises(chinese, lesson.number, lesson.name)]
    assert ids == [(e.id, e.function) for e in find_exercises(english, lesson.number, lesson.name)]
    same_code(strip_solutions(english, lesson.number, lesson.name),
              strip_solutions(chinese, lesson.number, lesson.name), f"{lesson.name} (the handout)")
    first = cells(chinese)[0][1].lstrip().splitlines()[0]
    assert first.startswith(f"# # 第 {int(lesson.number)} 课："), first


def test_the_comparison_catches_changed_code():
    english = "# %% [markdown]\n# # Lesson 1: x\n\n# %%\nx = 1  # one\n"
    assert code(cells(english)[1][1]) == code("x = 1  # 一\n")
    with pytest.raises(AssertionError, match="code cell 1"):
        same_code(english, "# %% [markdown]\n# # 第 1 课：x\n\n# %%\nx = 2\n", "demo")
    with pytest.raises(AssertionError, match="markers"):
        same_code(english, "# %% [markdown]\n# # 第 1 课：x\n", "demo")


@pytest.mark.parametrize("number", ["05", "14"])
def test_a_chinese_handout_grades_like_the_english_one(tmp_path, number):
    if not any(p.name.startswith(number) for p in ZH.glob("*.py")):
        pytest.skip(f"lesson {number} has no Chinese edition yet")
    assign([number], tmp_path / "handout", lang="zh")
    name = next(p.name for p in ZH.glob(f"{number}_*.py"))
    assert (tmp_path / "handout" / name).read_text(encoding="utf-8").count("课") > 0
    assert "你的作业" in (tmp_path / "handout" / "README.md").read_text(encoding="utf-8")
    untouched = grade(tmp_path / "handout", public_only=True)
    assert untouched["score"] == 0 and untouched["max_score"] > 0
    (tmp_path / "solved").mkdir()
    (tmp_path / "solved" / name).write_text((ZH / name).read_text(encoding="utf-8"), encoding="utf-8")
    solved = grade(tmp_path / "solved")
    assert solved["score"] == solved["max_score"] > 0, [e["diagnosis"] for e in solved["exercises"]]


def test_the_cli_speaks_both_editions(tmp_path, capsys):
    assert main(["lessons", "list", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "第 1 课：" in out and "Lesson 01" not in out
    assert main(["lessons", "copy", str(tmp_path / "zh"), "--lang", "zh"]) == 0
    copied = sorted(p.name for p in (tmp_path / "zh").glob("*.py"))
    assert copied == sorted(p.name for p in ZH.glob("[0-9][0-9]_*.py")) and (tmp_path / "zh" / "checks").is_dir()
    with pytest.raises(SystemExit):
        main(["lessons", "list", "--lang", "fr"])
    assert "invalid choice: 'fr'" in capsys.readouterr().err


def test_every_lesson_has_its_chinese_edition():
    missing = [lesson.name for lesson in ENGLISH if not (ZH / lesson.path.name).is_file()]
    assert not missing, f"lessons without a Chinese edition in lessons/zh/: {missing}"
