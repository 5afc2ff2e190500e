"""A huge or hostile input ends in one line, in a child process whose own peak memory stays under
1 GB (issue 9's memory cases)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive_fixtures import archive_members, make_tweets, write_deflate_bomb

from bad_input_kit import GiB, MB, TINY, error_line, run_child, snapshot, write

pytestmark = pytest.mark.subprocess


def bomb(member: str):
    def setup(work: Path, request) -> None:
        # 5 MB on disk, 5 GiB once inflated
        others = {k: v for k, v in archive_members("2022", make_tweets(3)).items() if k != member}
        write_deflate_bomb(work / "bomb.zip", member, 5 * GiB, others=others)

    return setup


MEMORY_CASES = [
    ("tweets.js bomb, data", ["data", "bomb.zip"], bomb("data/tweets.js"), "data/tweets.js in bomb.zip is 5 GiB, over the 512 MiB limit"),
    ("tweets.js bomb, train", ["train", "bomb.zip", *TINY, "--output", "out"], bomb("data/tweets.js"), "over the 512 MiB limit"),
    ("account.js bomb, data", ["data", "bomb.zip"], bomb("data/account.js"), "data/account.js in bomb.zip is 5 GiB, over the 4 MiB limit"),
    ("50 MB line, data", ["data", "big.txt"], write("big.txt", "word " * 10_000_000), "big.txt line 1 holds 49,999,999 characters"),
    ("50 MB line, train", ["train", "big.txt", *TINY, "--output", "out"], write("big.txt", "word " * 10_000_000), "put one tweet per line"),
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the child's peak RSS from /proc (Linux)")
@pytest.mark.parametrize("args, setup, needle", [c[1:] for c in MEMORY_CASES], ids=[c[0] for c in MEMORY_CASES])
def test_huge_input_is_one_line_under_1_gb(args, setup, needle, work, request):
    setup(work, request)
    before = snapshot(work)
    code, err, peak = run_child(args, work)
    assert code == 1, err[-2000:]
    assert "Traceback" not in err
    assert needle in error_line(err)
    assert len(err) < 5000  # the line is named, never printed
    assert peak < 1 * GiB, f"peak RSS {peak / MB:.0f} MB"
    assert snapshot(work) == before


