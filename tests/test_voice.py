"""The voice score (voice.py): its classifier, its fluency gate, its calibration, and the report
wherever a model is (metrics, card, CLI), on small fixed fixtures.

A small GPT-2 trained here on ordered sentences stands in for a pretrained base model: it
knows word order, so shuffled text costs it more than the sentences it learned.
"""

from __future__ import annotations

import json
import random

import pytest

from conftest import SMALL_SCORE, sentences
from huggingtweets import voice
from huggingtweets.voice import (
    AuthorVoice, StyleClassifier, VoiceReport, calibrated, pass_rate, PostVoice, shuffled, split_rows,
)

# --- the pieces ----------------------------------------------------------------------------
def test_the_classifier_tells_two_styles_apart_and_reads_its_threshold_as_50():
    clf = StyleClassifier(sentences(120, 1, "wren"), sentences(120, 2))
    assert 0 < clf.threshold < 1
    wren, other = clf.proba(sentences(20, 3, "wren")), clf.proba(sentences(20, 4))
    assert min(wren) > max(other)
    assert clf.voice(clf.threshold) == 50 and clf.voice(0.0) == 0 and clf.voice(1.0) == 100
    assert all(clf.voice(p) >= 50 for p in wren) and all(clf.voice(p) < 50 for p in other)
    again = StyleClassifier(sentences(120, 1, "wren"), sentences(120, 2))
    assert again.threshold == clf.threshold and again.proba(["a gull hides the clock"]) == clf.proba(["a gull hides the clock"])


def test_a_saved_threshold_is_taken_as_it_is():
    assert StyleClassifier(sentences(30, 1, "wren"), sentences(30, 2), threshold=0.7).threshold == 0.7


def test_shuffles_are_seeded_and_keep_the_words_or_the_characters():
    text = "the keeper watches the tide at dawn"
    a, b = shuffled(text, random.Random(1)), shuffled(text, random.Random(1))
    assert a == b and sorted(a.split()) == sorted(text.split()) and a != text
    cjk = "今天的海很平静我去看灯塔"
    mixed = shuffled(cjk, random.Random(2))
    assert sorted(mixed) == sorted(cjk) and mixed != cjk


@pytest.mark.parametrize("rate, real, base, expected", [
    (0.5, 0.8, 0.2, 50.0), (0.8, 0.8, 0.2, 100.0), (0.9, 0.8, 0.2, 100.0), (0.1, 0.8, 0.2, 0.0), (0.2, 0.8, 0.2, 0.0),
])
def test_calibration_puts_real_posts_at_100_and_imitations_at_0(rate, real, base, expected):
    assert calibrated(rate, real, base) == pytest.approx(expected)


def test_near_copies_are_left_out_of_the_rate():
    judged = [PostVoice(80, True, True, False), PostVoice(90, False, True, True), PostVoice(20, False, True, False)]
    assert pass_rate(judged) == (1, 2, 1)


def test_rows_of_one_prompt_stay_on_one_side():
    rows = [["a1", "a2"], ["b1", "b2", "b3"], ["c1"], ["d1", "d2"]]
    fit, held = split_rows(rows, 3)
    assert held == ["d1", "d2", "c1"] and fit == ["b1", "b2", "b3", "a1", "a2"]


def test_a_report_says_its_figures_in_one_line_and_round_trips():
    measured = AuthorVoice("wren", score=64.0, passed=71, counted=100, real_rate=0.88, base_rate=0.07)
    line = measured.line()
    assert line == "Voice 64/100: 71 of 100 posts pass as @wren; the author's real held-out posts 88%, the base model's 7%"
    report = VoiceReport([measured, AuthorVoice("gull", reason="no post was held out.")])
    assert report.score == 64.0
    assert VoiceReport.from_dict(json.loads(json.dumps(report.to_dict()))).to_dict() == report.to_dict()
    assert report.lines()[1] == "Voice of @gull not measured: no post was held out."


# --- the card ------------------------------------------------------------------------------
def test_the_card_carries_the_voice_paragraph_and_takes_a_new_one():
    from huggingtweets.card import VOICE_END, VOICE_START, render_card, with_voice
    from huggingtweets.cleaning import AuthorStats
    from huggingtweets.config import TrainConfig
    from huggingtweets.sources.base import Author

    card = render_card([Author("wren", "Wren")], [AuthorStats("wren", "Wren", 10, 0, 0, 10)], TrainConfig(model="gpt2"),
                       {"eval_loss": 3.5, "eval_loss_before": 5.0}, "m")
    assert VOICE_START in card and "Voice score: not measured" in card
    report = VoiceReport([AuthorVoice("wren", score=64.0, passed=71, counted=100, real_rate=0.88, base_rate=0.07)]).to_dict()
    scored = with_voice(card, report)
    body = scored[scored.index(VOICE_START):scored.index(VOICE_END)]
    assert "**64/100**" in body and "71 of 100 posts" in body and "How to read it" in body and "not a" not in body.split("How")[0]
    assert scored.index("## Training procedure") < scored.index(VOICE_START) < scored.index("## How to use")
    assert with_voice(scored, report) == scored  # set again, not added twice
    legacy = card.replace(card[card.index(VOICE_START):card.index(VOICE_END) + len(VOICE_END)], "")
    assert with_voice(legacy, report).count(VOICE_START) == 1
    hostile = VoiceReport([AuthorVoice("<img src=x onerror=alert(1)>", reason="[x](javascript:alert(1))")]).to_dict()
    shown = with_voice(card, hostile)
    assert "<img" not in shown and "[x](javascript" not in shown


# --- a whole model folder ----------------------------------------------------------------
@pytest.mark.slow
def test_a_folder_is_scored_the_same_twice_and_shuffled_posts_fail_the_gate(wren_model, small_score):
    from huggingtweets.voice import score_folder

    first = VoiceReport.from_dict(json.loads((wren_model / "voice.json").read_text()))  # scored by the fixture
    (author,) = first.authors
    assert author.reason == "" and author.score is not None, author.reason
    assert author.real_rate > author.base_rate
    assert author.shuffled_score is not None and author.shuffled_score <= 20
    again = score_folder(wren_model, cache_dir=wren_model.parent / "cache")
    assert again.to_dict()["authors"] == first.to_dict()["authors"]


@pytest.mark.slow
def test_gains_of_the_fixed_texts_are_kept_and_only_generated_posts_are_measured_again(wren_model, small_score, tmp_path, monkeypatch):
    """The base model's fluency gains of the real held-out posts, their shuffles and the held-out
    imitations are kept (the cache, or the package's bundle): a second score measures only the
    posts it writes, and gives the same report; generated posts' gains are never kept."""
    from huggingtweets import imitation, quality, voice
    from huggingtweets.dataset import TweetDataset

    cache = wren_model.parent / "cache"
    (kept_file,) = (cache / imitation.CACHE_FOLDER).glob("gains-*.json")
    kept = json.loads(kept_file.read_text())["gains"]
    dataset = TweetDataset.load(wren_model)
    (author,) = dataset.authors
    assert {imitation.text_id(t) for t in author.valid} <= set(kept)
    measured = []
    real_bits = quality.text_bits
    monkeypatch.setattr(quality, "text_bits", lambda model, tok, texts, *a, **k: measured.extend(texts) or real_bits(model, tok, texts, *a, **k))
    again = voice.score_folder(wren_model, cache_dir=cache)
    per_post = 1 + voice.SHUFFLES
    assert 0 < len(measured) <= voice.N_POSTS * per_post  # the generated posts and their shuffles alone
    originals = measured[: len(measured) // per_post]
    assert not {imitation.text_id(t) for t in originals} & set(kept)  # and never kept
    assert json.loads(kept_file.read_text())["gains"] == kept
    first = json.loads((wren_model / "voice.json").read_text())
    assert again.to_dict()["authors"] == first["authors"]

    # bundled: what a fresh cache finds in the package
    monkeypatch.setattr(imitation, "BUNDLED_GAINS", tmp_path / "gains.json")
    voice.bundle_sample_gains(wren_model)
    bundled = json.loads((tmp_path / "gains.json").read_text())
    assert list(bundled) == [kept_file.stem.removeprefix("gains-")] and bundled[kept_file.stem.removeprefix("gains-")] == kept
    measured.clear()
    fresh = voice.score_folder(wren_model, cache_dir=tmp_path / "empty-cache")
    assert 0 < len(measured) <= voice.N_POSTS * per_post
    assert fresh.to_dict()["authors"] == first["authors"]


# --- voices: a model of several authors -----------------------------------------------------
def test_each_training_post_of_several_authors_starts_with_its_marker():
    from huggingtweets.dataset import build_dataset, split_marker, voice_marker
    from huggingtweets.sources.base import Author, AuthorTweets, Tweet

    raw = [AuthorTweets(Author(h, h.title()), [Tweet(str(i), t) for i, t in enumerate(sentences(200, seed, style))])
           for h, seed, style in (("wren", 1, "wren"), ("gull", 2, "plain"))]
    data = build_dataset(raw, validation_fraction=0.1, seed=3)
    marked = data.balanced_train(marked=True)
    assert all(split_marker(t)[0] in ("wren", "gull") for t in marked)
    assert sorted(split_marker(t)[1] for t in marked) == sorted(data.balanced_train())  # the same posts, in the same draw
    assert all(t.startswith(voice_marker(a.author.handle)) for a in data.authors for t in data.valid_texts(marked=True) if t[len(voice_marker(a.author.handle)):] in a.valid)
    assert split_marker("@gull: not a marker") == (None, "@gull: not a marker")
    assert split_marker("[@wren] Tide's out") == ("wren", "Tide's out")


@pytest.mark.slow
def test_two_voices_are_asked_for_by_handle_and_the_card_names_their_markers(ordered_lm, tmp_path):
    from huggingtweets.config import SamplingConfig, TrainConfig
    from huggingtweets.dataset import build_dataset
    from huggingtweets.errors import HuggingTweetsError
    from huggingtweets.generation import load_generator
    from huggingtweets.sources.base import Author, AuthorTweets, Tweet
    from huggingtweets.training import fine_tune

    raw = [AuthorTweets(Author(h, h.title()), [Tweet(str(i), t) for i, t in enumerate(sentences(200, seed, style))])
           for h, seed, style in (("wren", 1, "wren"), ("gull", 2, "plain"))]
    out = tmp_path / "two"
    config = TrainConfig(model=ordered_lm, output_dir=str(out), epochs=3, learning_rate=2e-3, voice_score=False, save_steps=0)
    result = fine_tune(config, build_dataset(raw))
    assert result.metrics["voices"] == ["wren", "gull"]
    card = (out / "README.md").read_text()
    assert "`[@wren]`" in card and "`[@gull]`" in card and '"[@wren] My dream is"' in card
    generator = load_generator(out)
    assert generator.voices == ["wren", "gull"]
    wren = generator.generate(SamplingConfig(prompt="", n=12, seed=1, author="@Wren"))
    gull = generator.generate(SamplingConfig(prompt="", n=12, seed=1, author="gull"))
    assert {t.author for t in wren} == {"wren"} and {t.author for t in gull} == {"gull"}
    assert not any(t.text.startswith("[@") for t in wren + gull)  # the marker is not part of the post
    assert sum(t.text.endswith("och!") for t in wren) > sum(t.text.endswith("och!") for t in gull)
    blend = generator.generate(SamplingConfig(prompt="", n=12, seed=2))
    assert {t.author for t in blend} <= {"wren", "gull", None}
    with pytest.raises(HuggingTweetsError, match="not an author of this model"):
        generator.generate(SamplingConfig(author="@nobody"))


@pytest.mark.slow
def test_a_model_without_held_out_posts_or_a_base_says_not_measured(tmp_path):
    from huggingtweets.config import TrainConfig
    from huggingtweets.dataset import build_dataset
    from huggingtweets.sources.base import Author, AuthorTweets, Tweet
    from huggingtweets.training import fine_tune
    from huggingtweets.voice import measure

    raw = AuthorTweets(Author("wren", "Wren"), [Tweet(str(i), t) for i, t in enumerate(sentences(150, 5, "wren"))])
    out = tmp_path / "tiny"
    fine_tune(TrainConfig(model="tiny", output_dir=str(out), epochs=1, voice_score=False, save_steps=0), build_dataset([raw]))
    report = measure(out)
    assert report.score is None and "tiny model is trained from scratch" in report.authors[0].reason
    assert report.lines() == ["Voice of @wren not measured: the tiny model is trained from scratch, so it has no base model to compare with."]


@pytest.mark.slow
def test_no_held_out_posts_is_not_measured_before_any_model_loads(ordered_lm, tmp_path, monkeypatch):
    from huggingtweets.config import TrainConfig
    from huggingtweets.dataset import build_dataset
    from huggingtweets.sources.base import Author, AuthorTweets, Tweet
    from huggingtweets.training import fine_tune
    from huggingtweets import models

    raw = AuthorTweets(Author("wren", "Wren"), [Tweet(str(i), t) for i, t in enumerate(sentences(150, 5, "wren"))])
    out = tmp_path / "all-train"
    fine_tune(TrainConfig(model=ordered_lm, output_dir=str(out), epochs=1, voice_score=False, save_steps=0, validation_fraction=0.0),
              build_dataset([raw]))
    monkeypatch.setattr(models, "load_pretrained", None)  # must not be reached
    report = voice.measure(out)
    assert report.score is None and "no post was held out" in report.authors[0].reason
