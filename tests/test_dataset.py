"""Building, balancing, splitting, saving and packing the dataset."""

import json
from collections import Counter

import pytest

from conftest import make_texts
from huggingtweets.dataset import TweetDataset, build_dataset, pack_blocks, split_tweets
from huggingtweets.errors import HuggingTweetsError, NotEnoughTweets
from huggingtweets.sources.base import Author, AuthorTweets, Tweet


def _raw(handle, texts, name=None):
    return AuthorTweets(Author(handle, name or handle.title()), [Tweet(str(i), t) for i, t in enumerate(texts)])


def _texts(prefix, n):
    return [f"{prefix} tweet number {i} says something about the sea and bread" for i in range(n)]


def test_build_dataset_splits_per_author_without_overlap():
    ds = build_dataset([_raw("a", _texts("a", 200)), _raw("b", _texts("b", 100))], validation_fraction=0.1, seed=1, require_enough=False)
    for a in ds.authors:
        assert not set(a.train) & set(a.valid)
        assert len(a.train) + len(a.valid) == a.stats.kept
    assert [len(a.valid) for a in ds.authors] == [20, 10]
    assert ds.slug == "a-b"


def test_duplicate_texts_stay_on_one_side():
    texts = ["same words every single day"] * 30 + _texts("x", 100)
    train, valid = split_tweets(texts, 0.2, __import__("random").Random(3))
    assert not set(train) & set(valid)
    assert len(train) + len(valid) == len(texts)


def test_split_is_seeded():
    raw = [_raw("a", _texts("a", 200))]
    ds = build_dataset(raw)
    assert ds.authors[0].valid == [] and ds.validation_fraction == 0  # training splits, with its own config
    assert ds.split(0.1, 5).authors[0].valid == ds.split(0.1, 5).authors[0].valid
    assert ds.split(0.1, 5).authors[0].valid != ds.split(0.1, 6).authors[0].valid
    # splitting later gives what splitting at build time gave, and a split dataset re-splits from all its tweets
    assert ds.split(0.1, 5).to_dict() == build_dataset(raw, validation_fraction=0.1, seed=5).to_dict()
    again = ds.split(0.1, 5).split(0.2, 5)
    assert len(again.authors[0].train) + len(again.authors[0].valid) == 200 and len(again.authors[0].valid) == 40


def test_balanced_train_oversamples_to_largest():
    ds = build_dataset([_raw("big", _texts("big", 300)), _raw("small", _texts("small", 70))], validation_fraction=0, require_enough=False)
    mix = ds.balanced_train()
    counts = Counter(t.split()[0] for t in mix)
    assert counts == {"big": 300, "small": 300}
    assert set(mix) == set(ds.all_train_tweets())
    assert mix == ds.balanced_train()  # seeded


def test_not_enough_text_is_an_error():
    with pytest.raises(NotEnoughTweets, match="@few"):
        build_dataset([_raw("few", _texts("few", 5))])
    ds = build_dataset([_raw("few", _texts("few", 5))], require_enough=False)
    assert ds.authors[0].stats.kept == 5


def test_thin_data_warns():
    ds = build_dataset([_raw("mid", _texts("mid", 200))])
    assert ds.warnings and "@mid" in ds.warnings[0]


def test_bad_fraction():
    with pytest.raises(HuggingTweetsError, match="validation fraction"):
        build_dataset([_raw("a", _texts("a", 200))], validation_fraction=1.5)


def test_save_and_load_roundtrip(tmp_path):
    ds = build_dataset([_raw("a", _texts("a", 200), name="A & <b>")], seed=9)
    path = ds.save(tmp_path / "out")
    assert path.name == "dataset.json"
    saved = json.loads(path.read_text())
    assert saved["seed"] == 9 and saved["authors"][0]["stats"]["kept"] == 200
    back = TweetDataset.load(tmp_path / "out")
    assert back.to_dict() == ds.to_dict()
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_load_missing(tmp_path):
    with pytest.raises(HuggingTweetsError, match="No dataset"):
        TweetDataset.load(tmp_path)


def test_pack_blocks_joins_with_eos_and_pads_last(tiny_tokenizer):
    texts = make_texts(30, seed=2)
    blocks = pack_blocks(texts, tiny_tokenizer, block_size=32)
    eos = tiny_tokenizer.eos_token_id
    stream = [i for b in blocks for i, m in zip(b["input_ids"], b["attention_mask"]) if m]
    expected = [eos]
    for t in texts:
        expected += tiny_tokenizer(t, add_special_tokens=False)["input_ids"] + [eos]
    assert stream == expected
    assert all(len(b["input_ids"]) == 32 == len(b["labels"]) for b in blocks)
    last = blocks[-1]
    n_real = sum(last["attention_mask"])
    assert last["labels"][n_real:] == [-100] * (32 - n_real)
    assert last["labels"][:n_real] == last["input_ids"][:n_real]


def test_pack_small_valid_set_gives_a_block(tiny_tokenizer):
    assert len(pack_blocks(["just one short tweet"], tiny_tokenizer, block_size=128)) == 1
    assert pack_blocks([], tiny_tokenizer, block_size=128) == []
