"""Uploads counted by the bytes received: a visitor cannot fill the disk of the machine running the app.

The widget's Python side is driven as the browser drives it (``start``, ``chunk`` + buffer, ``end``),
but by a sender that may lie about the size and keeps sending after a refusal, as a hostile page would.
"""

import collections
import shutil

import pytest

pytest.importorskip("ipywidgets")

from huggingtweets.ui import App  # noqa: E402
from app_driver import Browser  # noqa: E402
from huggingtweets.ui.upload_limits import (  # noqa: E402
    DEFAULT_KEEP_FREE_MB, DEFAULT_MAX_MB, DEFAULT_TOTAL_MB, KEEP_FREE_ENV, MAX_ENV, MB, TOTAL_ENV, Limits,
)

MiB = 1024 * 1024
ENVS = (MAX_ENV, TOTAL_ENV, KEEP_FREE_ENV)
Usage = collections.namedtuple("Usage", "total used free")


class Sender(Browser):
    """A page that sends whatever it likes; keeps every answer of the kernel."""

    def start(self, name: str, size):
        return self.say({"kind": "start", "name": name, "size": size})

    def piece(self, offset: int, data: bytes):
        return self.say({"kind": "chunk", "offset": offset}, [memoryview(data)])

    def chunks(self, data: bytes, chunk: int = MiB, start: int = 0) -> list:
        """Every piece, whatever the kernel answers (a hostile page does not stop)."""
        return [self.piece(start + offset, data[offset:offset + chunk]) for offset in range(0, len(data), chunk)]


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    for name in ENVS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app(tmp_path):
    return App(demo="tiny", output_dir=tmp_path)


@pytest.fixture
def sender(app, monkeypatch):
    return Sender(app.data.files.upload, monkeypatch)


def folder_files(tmp_path) -> dict:
    uploads = tmp_path / "uploads"
    return {p.name: p.stat().st_size for p in uploads.iterdir()} if uploads.exists() else {}


def shown(app) -> str:
    return app.data.files.message.value


def one_line(answer) -> str:
    assert answer["kind"] == "error", answer
    text = answer["text"]
    assert "\n" not in text and "Traceback" not in text and len(text) < 400, text
    return text


# --- the size announced ---------------------------------------------------------------------------
def test_a_file_longer_than_announced_stops_at_the_first_piece_past_it(app, sender, tmp_path):
    assert sender.start("twitter.zip", 10)["kind"] == "ready"
    text = one_line(sender.piece(0, b"x" * MiB))
    assert "twitter.zip sent more than the 10 bytes it announced" in text and "stopped" in text and "deleted" in text
    assert folder_files(tmp_path) == {}, "a byte past the announced size reached the disk"
    assert "ht-error" in shown(app) and "it announced" in shown(app)
    # the pieces a hostile page sends after the refusal write nothing either
    assert all(a["kind"] == "error" for a in sender.chunks(b"x" * (2 * MiB), start=MiB))
    assert sender.say({"kind": "end"})["kind"] == "error"
    assert folder_files(tmp_path) == {} and app.data.files.uploads == []


def test_the_part_received_before_the_lie_shows_is_deleted(app, sender, tmp_path):
    assert sender.start("archive.zip", MiB + 100)["kind"] == "ready"
    assert sender.piece(0, b"y" * MiB) == {"kind": "ack", "received": MiB}
    [(part, size)] = folder_files(tmp_path).items()
    assert part.startswith(".archive.zip.") and part.endswith(".part") and size == MiB
    assert "sent more than the 1.0 MB it announced" in one_line(sender.piece(MiB, b"y" * MiB))
    assert folder_files(tmp_path) == {}
    assert "ht-error" in shown(app) and "archive.zip sent more than" in shown(app)


# --- caps set by whoever serves the app -----------------------------------------------------------
def test_one_file_over_the_cap_is_refused_before_a_byte(app, sender, tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_ENV, "2")
    text = one_line(sender.start("big.zip", 3 * MB))
    assert "big.zip is 3.0 MB but this app takes uploads of at most 2.0 MB (HUGGINGTWEETS_UPLOAD_MAX_MB)" in text and "path" in text
    assert one_line(sender.chunks(b"z" * MiB)[0])  # pieces sent anyway are refused
    assert folder_files(tmp_path) == {}


def test_the_uploads_folder_has_a_total(app, sender, tmp_path, monkeypatch):
    monkeypatch.setenv(TOTAL_ENV, "3")
    data = b"a" * (2 * MB)
    assert sender.start("one.txt", len(data))["kind"] == "ready"
    assert [a["kind"] for a in sender.chunks(data)] == ["ack", "ack"] and sender.say({"kind": "end"})["kind"] == "done"
    text = one_line(sender.start("two.txt", len(data)))
    assert "would take the uploads folder past its 3.0 MB (HUGGINGTWEETS_UPLOAD_TOTAL_MB; 2.0 MB already there)" in text
    assert folder_files(tmp_path) == {"one.txt": 2 * MB}
    # the same name replaces nothing (it would be one-2.txt), so it counts as a file more
    assert "past its 3.0 MB" in one_line(sender.start("one.txt", len(data)))
    # another visitor's kernel fills the folder during an upload: the next piece is refused
    assert sender.start("three.txt", MB)["kind"] == "ready"
    (tmp_path / "uploads" / ".other.zip.part").write_bytes(b"o" * MB)
    assert "past its 3.0 MB" in one_line(sender.chunks(b"t" * MB, chunk=MB // 2)[0])
    assert folder_files(tmp_path) == {"one.txt": 2 * MB, ".other.zip.part": MB}


def test_free_space_kept_at_the_start_and_during_the_upload(app, sender, tmp_path, monkeypatch):
    disk = {"free": 10**9}
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 10**12 - disk["free"], disk["free"]))
    text = one_line(sender.start("twitter.zip", 300 * MB))
    assert "twitter.zip is 300.0 MB but only 1.0 GB are free on the machine running the app" in text
    assert "keeps 1.0 GB" in text and KEEP_FREE_ENV in text

    disk["free"] = 2 * 10**9
    assert sender.start("twitter.zip", 3 * MiB)["kind"] == "ready"
    assert sender.piece(0, b"q" * MiB)["kind"] == "ack"
    disk["free"] = DEFAULT_KEEP_FREE_MB * MB + MiB // 2  # something else is filling the disk
    text = one_line(sender.piece(MiB, b"q" * MiB))
    assert "twitter.zip: the machine running the app is down to 1.0 GB free, under the 1.0 GB it keeps" in text and "deleted" in text
    assert folder_files(tmp_path) == {} and "ht-error" in shown(app)


def test_the_reserve_can_be_changed(app, sender, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 5 * MB, 5 * MB))
    assert sender.start("small.txt", MB)["kind"] == "error"  # the default keeps 1 GB free
    monkeypatch.setenv(KEEP_FREE_ENV, "2")
    assert sender.start("small.txt", MB)["kind"] == "ready"
    assert sender.chunks(b"s" * MB)[0] == {"kind": "ack", "received": MB}
    assert sender.say({"kind": "end"}) == {"kind": "done", "name": "small.txt"}


# --- the variables' values ------------------------------------------------------------------------
def test_defaults():
    assert Limits.from_env() == Limits(DEFAULT_MAX_MB * MB, DEFAULT_TOTAL_MB * MB, DEFAULT_KEEP_FREE_MB * MB)


@pytest.mark.parametrize("value", ["lots", "-5", "0", "nan", "inf", "1e999", " ", "2 MB", "0x10"])
def test_a_bad_value_falls_back_to_the_default(value, monkeypatch):
    for name in (MAX_ENV, TOTAL_ENV):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(KEEP_FREE_ENV, value if value != "0" else "-1")
    assert Limits.from_env() == Limits(DEFAULT_MAX_MB * MB, DEFAULT_TOTAL_MB * MB, DEFAULT_KEEP_FREE_MB * MB)


def test_good_values_are_honoured(monkeypatch):
    monkeypatch.setenv(MAX_ENV, "0.5")
    monkeypatch.setenv(TOTAL_ENV, " 20000 ")
    monkeypatch.setenv(KEEP_FREE_ENV, "0")  # no reserve is a choice, not a mistake
    assert Limits.from_env() == Limits(500_000, 20_000 * MB, 0)


def test_a_bad_value_does_not_stop_an_upload(app, sender, tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_ENV, "a lot")
    data = b"hello tweets\n" * 1000
    assert sender.start("hello.txt", len(data))["kind"] == "ready"
    assert {a["kind"] for a in sender.chunks(data, chunk=4096)} == {"ack"}
    assert sender.say({"kind": "end"})["kind"] == "done"
    assert (tmp_path / "uploads" / "hello.txt").read_bytes() == data


# --- the honest path, and pages that send nonsense -------------------------------------------------
def test_an_honest_upload_in_pieces(app, sender, tmp_path):
    data = bytes(range(256)) * (10 * 1024 + 7)  # 2.5 MiB and a bit: three pieces, the last short
    assert sender.start("../../etc/tweets.txt", len(data))["kind"] == "ready"
    answers = sender.chunks(data)
    assert [a["kind"] for a in answers] == ["ack"] * 3 and answers[-1]["received"] == len(data)
    assert sender.say({"kind": "end"}) == {"kind": "done", "name": "tweets.txt"}
    assert (tmp_path / "uploads" / "tweets.txt").read_bytes() == data
    assert folder_files(tmp_path) == {"tweets.txt": len(data)}
    assert app.data.files.uploads == [tmp_path / "uploads" / "tweets.txt"] and shown(app) == ""


@pytest.mark.parametrize("content", [
    {"kind": "start", "name": "a.txt", "size": "lots"},
    {"kind": "start", "name": "a.txt", "size": float("inf")},
    {"kind": "start", "name": "a.txt", "size": None},
])
def test_a_start_that_makes_no_sense_is_one_line(app, sender, tmp_path, content):
    assert "cannot read" in one_line(sender.say(content))
    assert folder_files(tmp_path) == {}


def test_a_piece_that_makes_no_sense_is_one_line(app, sender, tmp_path):
    assert sender.start("a.txt", 10)["kind"] == "ready"
    assert "cannot read" in one_line(sender.say({"kind": "chunk", "offset": "zero"}, [b"12345"]))
    assert sender.start("a.txt", 10)["kind"] == "ready"
    assert "cannot read" in one_line(sender.say({"kind": "chunk", "offset": 0}, [12345]))
    assert folder_files(tmp_path) == {}


# --- two uploads of one name ------------------------------------------------------------------------
def send_whole(sender, name: str, data: bytes) -> dict:
    assert sender.start(name, len(data))["kind"] == "ready"
    assert all(a["kind"] == "ack" for a in sender.chunks(data))
    return sender.say({"kind": "end"})


def test_two_uploads_of_one_name_at_once_keep_their_own_bytes(tmp_path, monkeypatch):
    """Two visitors' kernels (or two tabs) sending diary.txt into one folder at the same time:
    each writes its own part file, neither is told "done" holding the other's bytes, neither replaces the other."""
    first, second = App(demo="tiny", output_dir=tmp_path), App(demo="tiny", output_dir=tmp_path)
    a, b = Sender(first.data.files.upload, monkeypatch), Sender(second.data.files.upload, monkeypatch)
    mine, theirs = b"mine " * 100_000, b"theirs " * 100_000
    assert a.start("diary.txt", len(mine))["kind"] == "ready" and b.start("diary.txt", len(theirs))["kind"] == "ready"
    for offset in range(0, max(len(mine), len(theirs)), MiB // 4):  # interleaved pieces
        if offset < len(mine):
            assert a.piece(offset, mine[offset:offset + MiB // 4])["kind"] == "ack"
        if offset < len(theirs):
            assert b.piece(offset, theirs[offset:offset + MiB // 4])["kind"] == "ack"
    assert a.say({"kind": "end"}) == {"kind": "done", "name": "diary.txt"}
    assert b.say({"kind": "end"}) == {"kind": "done", "name": "diary-2.txt"}
    [got_a], [got_b] = first.data.files.uploads, second.data.files.uploads
    assert got_a.read_bytes() == mine and got_b.read_bytes() == theirs
    assert folder_files(tmp_path) == {"diary.txt": len(mine), "diary-2.txt": len(theirs)}


def test_the_same_file_again_is_the_same_upload(app, sender, tmp_path):
    data = b"the same archive" * 1000
    assert send_whole(sender, "archive.txt", data) == {"kind": "done", "name": "archive.txt"}
    assert send_whole(sender, "archive.txt", data) == {"kind": "done", "name": "archive.txt"}
    assert folder_files(tmp_path) == {"archive.txt": len(data)} and len(app.data.files.uploads) == 1
