"""Sampling tweets from a tiny local GPT-2, cutting them, and spotting near copies."""

import random
from difflib import SequenceMatcher

import pytest

from huggingtweets.config import SamplingConfig
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.generation import (
    GeneratedTweet,
    Generator,
    NearestIndex,
    cut_tweet,
    generate,
    load_generator,
    normalize,
)
from huggingtweets.models import EOS

from conftest import make_texts

# A handful of tweets the tiny model learns by heart (words from the conftest tokenizer).
TWEETS = [
    "my dream is a quiet harbour at dawn while the bread is rising",
    "gulls argue about crusts on the rail under a grey sea",
    "the lamp is lit and bees sleep while the bread is rising",
    "a grey sea at dawn and the gulls argue about the lamp",
    "bees sleep under the rail while my dream is a quiet harbour",
    "the bread is rising and the lamp is lit at dawn",
]


def _train(model, tokenizer, texts, steps=100):
    """A plain loop: each tweet its own row, ``eos tweet eos``, as a prompt will start it."""
    import torch

    eos = tokenizer.eos_token_id
    rows = [[eos, *tokenizer(t, add_special_tokens=False)["input_ids"], eos] for t in texts]
    width = max(map(len, rows))
    input_ids = torch.tensor([r + [eos] * (width - len(r)) for r in rows])
    labels = torch.tensor([r + [-100] * (width - len(r)) for r in rows])
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    model.eval()
    return loss.item()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """A 32-wide model gains nothing from threads, and on a busy machine they spin for seconds."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, tiny_tokenizer):
    """A saved tiny GPT-2 that has memorised TWEETS, with its tokenizer and dataset.json."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from huggingtweets.dataset import build_dataset
    from huggingtweets.sources.base import Author, AuthorTweets, Tweet

    torch.manual_seed(0)
    eos = tiny_tokenizer.eos_token_id
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=len(tiny_tokenizer), n_positions=128, bos_token_id=eos, eos_token_id=eos)
    model = GPT2LMHeadModel(config)
    loss = _train(model, tiny_tokenizer, TWEETS)
    assert loss < 0.5, f"the tiny model did not learn its tweets (loss {loss:.2f})"
    folder = tmp_path_factory.mktemp("model")
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    raw = AuthorTweets(Author("wren"), [Tweet(str(i), t) for i, t in enumerate(TWEETS)])
    build_dataset([raw], validation_fraction=0.0, require_enough=False).save(folder)
    return folder


@pytest.fixture(scope="module")
def generator(model_folder):
    return load_generator(model_folder)


# --- cutting -------------------------------------------------------------------


@pytest.mark.parametrize(
    "decoded, expected",
    [
        ("My dream is a harbour", "My dream is a harbour"),
        ("My dream is a harbour\nand more", "My dream is a harbour"),
        (f"My dream is a harbour{EOS}another tweet", "My dream is a harbour"),
        (f"My dream is{EOS}x\ny", "My dream is"),
        ("My dream is\r\nwhat", "My dream is"),
        ("  padded both sides  ", "padded both sides"),
        ("\n\nfirst line after blank lines\nsecond", "first line after blank lines"),
        (f"{EOS}", ""),
        ("", ""),
        ("ends with space \n", "ends with space"),
    ],
)
def test_cut_tweet(decoded, expected):
    assert cut_tweet(decoded) == expected


def test_cut_tweet_other_end_token():
    assert cut_tweet("hello there</s>next", eos="</s>") == "hello there"
    assert cut_tweet("no end token here", eos=None) == "no end token here"


# --- nearest index ---------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus():
    return make_texts(2000, seed=3) + TWEETS


def test_index_exact_tweet_is_near_copy(corpus):
    index = NearestIndex(corpus)
    tweet, sim = index.nearest(TWEETS[1])
    assert tweet == TWEETS[1] and sim == 1.0
    assert index.is_near_copy(TWEETS[1])


def test_index_ignores_case_and_whitespace(corpus):
    index = NearestIndex(corpus)
    shouted = "  " + "   ".join(TWEETS[0].upper().split()) + "\n"
    assert index.nearest(shouted) == (TWEETS[0], 1.0)
    assert index.is_near_copy(shouted)


def test_index_one_word_changed_is_near_copy():
    index = NearestIndex(make_texts(500, seed=1) + ["my cat thinks the radiator is a throne and she rules the flat"])
    match = index.lookup("my cat thinks the radiator is a throne and she rules the house")
    assert match.tweet.startswith("my cat thinks")
    assert 0.8 <= match.similarity < 1.0 and match.near_copy


def test_index_eight_word_run_inside_longer_text():
    tweet = "seven small owls counted every single lantern on the bridge tonight"
    index = NearestIndex(make_texts(500, seed=2) + [tweet])
    text = "completely unrelated opening words then owls counted every single lantern on the bridge and we went home for soup"
    match = index.lookup(text)
    assert match.similarity < 0.8  # the run alone makes it a copy
    assert match.near_copy and match.tweet == tweet
    seven = "completely unrelated opening words then counted every single lantern on the bridge and we went home for soup"
    assert not index.is_near_copy(seven.replace("counted every", "counted each"))  # longest run is now 6 words


@pytest.mark.parametrize("tweet, copied, fresh", [
    # Chinese and Japanese put no spaces between words: 16 characters shared are the 8-word run.
    ("今天早上港口起了大雾海鸥叫得比平时更响我又烤了面包可是外皮还是烤得太黑了灯塔亮了一整夜",
     "海鸥叫得比平时更响我又烤了面包可是", "晚上我们去河边散步看见很多星星"),
    ("けさは港に濃い霧がかかってかもめがいつもよりうるさくないていたのでパンをやきました",
     "かもめがいつもよりうるさくないていた", "よるはほしがきれいでした"),
])
def test_a_run_in_a_script_without_spaces_is_a_copy(tweet, copied, fresh):
    index = NearestIndex(make_texts(300, seed=4) + [tweet])
    match = index.lookup(f"{fresh}{copied}{fresh}")
    assert match.similarity < 0.8 and match.near_copy and match.tweet == tweet  # the run alone makes it a copy
    assert not index.is_near_copy(f"{fresh}{copied[:12]}{fresh}")  # 12 characters: six words' worth
    assert not index.is_near_copy(fresh)


@pytest.mark.parametrize("tweet, changed", [
    ("مرحبا بكم في المنارة الضوء يعمل طوال الليل والقوارب عادت", "مرحبا بكم في المنارة الضوء يعمل طوال الليل والقوارب رجعت"),
    ("השמש שקעה מעל הנמל והסירות חזרו הביתה בשלום אחרי יום ארוך", "השמש שקעה מעל הנמל והסירות חזרו הביתה בשלום אחרי לילה ארוך"),
])
def test_right_to_left_posts_one_word_changed_are_near_copies(tweet, changed):
    index = NearestIndex(make_texts(300, seed=5) + [tweet])
    match = index.lookup(changed)
    assert match.tweet == tweet and match.near_copy


def test_index_unrelated_text_is_not_a_copy(corpus):
    index = NearestIndex(corpus)
    match = index.lookup("quantum pineapples demand a recount of the vote in tuesday's meeting")
    assert not match.near_copy and match.similarity < 0.8


def test_index_empty():
    assert NearestIndex([]).nearest("anything at all") == ("", 0.0)
    assert not NearestIndex([]).is_near_copy("anything")
    assert NearestIndex(["", "   "]).nearest("x") == ("", 0.0)
    assert NearestIndex(TWEETS).nearest("") == ("", 0.0)
    assert NearestIndex(TWEETS).nearest("zzzzzzzz") == ("", 0.0)  # no shingle in common


@pytest.mark.slow
def test_index_agrees_with_brute_force_difflib():
    """Where a real neighbour exists the index finds difflib's best; the near-copy verdict always agrees.

    (For unrelated text every tweet scores ~0.3-0.5 on character noise, and which of
    those the index names is not worth a full scan.)
    """
    rng = random.Random(5)
    tweets = make_texts(400, seed=4)
    index = NearestIndex(tweets)
    norms = [normalize(t) for t in tweets]
    edited = [t.replace(" the ", " a ", 1) + rng.choice(["", " at dawn", " and bees"]) for t in rng.sample(tweets, 20)]
    close = 0
    for q in make_texts(20, seed=6) + edited:
        brute = max(SequenceMatcher(None, n, normalize(q), autojunk=False).ratio() for n in norms)
        sim = index.nearest(q)[1]
        assert sim <= brute + 1e-9
        if brute >= 0.7:
            close += 1
            assert sim == pytest.approx(brute), q
        assert (sim >= 0.8) == (brute >= 0.8), q
    assert close >= 15  # the edited tweets really were checked


def test_index_dedupes_and_keeps_original_text():
    index = NearestIndex(["Hello  World again friends", "hello world again friends", "other words entirely here"])
    assert len(index) == 2
    assert index.nearest("hello world again friends")[0] == "Hello  World again friends"


# --- generation ------------------------------------------------------------------


def test_generate_returns_n_tweets(generator):
    out = generator.generate(n=4, seed=1)
    assert len(out) == 4
    assert all(isinstance(t, GeneratedTweet) for t in out)


def test_generate_is_deterministic_under_a_seed(generator):
    a = [t.text for t in generator.generate(n=5, seed=7, temperature=1.5)]
    b = [t.text for t in generator.generate(n=5, seed=7, temperature=1.5)]
    c = [t.text for t in generator.generate(n=5, seed=8, temperature=1.5)]
    assert a == b
    assert a != c


def test_generate_texts_start_with_prompt_and_are_cut(generator):
    for t in generator.generate(prompt="the lamp", n=8, seed=3, temperature=2.0, max_new_tokens=40):
        assert t.text.startswith("the lamp")
        assert "\n" not in t.text and EOS not in t.text and t.text == t.text.strip()


def test_generate_accepts_a_sampling_config(generator, model_folder):
    config = SamplingConfig(prompt="gulls argue", n=3, seed=11)
    by_config = [t.text for t in generator.generate(config)]
    by_function = [t.text for t in generate(model_folder, SamplingConfig(prompt="gulls argue", n=3, seed=11))]
    by_override = [t.text for t in generator.generate(SamplingConfig(prompt="x", n=3), prompt="gulls argue", seed=11)]
    assert by_config == by_function == by_override


def test_generate_empty_prompt(generator):
    out = generator.generate(prompt="", n=3, seed=2)
    assert len(out) == 3 and all(t.text and "\n" not in t.text for t in out)


def test_memorised_tweet_is_flagged(generator):
    # low temperature: the model that learnt TWEETS by heart recites the one it is prompted with
    out = generator.generate(prompt="gulls argue about", n=3, seed=0, temperature=0.05)
    assert any(t.near_copy and t.nearest == TWEETS[1] for t in out), [t.to_dict() for t in out]


def test_generate_calls_model_as_the_original(generator, monkeypatch):
    import torch

    seen = {}
    real = generator.model.generate

    def spy(**kwargs):
        seen.update(kwargs, inference=torch.is_inference_mode_enabled())
        return real(**kwargs)

    monkeypatch.setattr(generator.model, "generate", spy)
    generator.generate(prompt="My dream is", n=2, seed=0)
    eos = generator.tokenizer.eos_token_id
    from transformers import TopPLogitsWarper

    from huggingtweets.models import _Draw

    assert seen["input_ids"].shape[0] == 2 and (seen["input_ids"][:, 0] == eos).all()  # the prompt once a post
    assert (seen["input_ids"][:, 1] != eos).all()  # exactly one end-of-text in front
    # sampling: the top-p warper (temperature 1 and top-k 0 add none), then our draw under greedy decoding
    processors = seen["logits_processor"]
    assert not seen["do_sample"] and [type(p) for p in processors] == [TopPLogitsWarper, _Draw] and processors[0].top_p == 0.95
    assert "num_return_sequences" not in seen and seen["pad_token_id"] is not None
    assert seen["inference"]


def test_the_draw_follows_the_warped_distribution():
    """``_Draw`` (the inverse of the running sum, not torch.multinomial): each token as often as its
    probability, never one the warpers set to -inf, the same draws from the same seed."""
    import torch

    from huggingtweets.models import _Draw

    scores = torch.tensor([[0.0, 1.0, 2.0, float("-inf"), 0.5]] * 20_000)
    torch.manual_seed(0)
    out = _Draw()(None, scores.clone())
    tokens = out.argmax(-1)
    assert (torch.isfinite(out).sum(-1) == 1).all() and not (tokens == 3).any()
    expected = scores[0].softmax(-1)
    seen = torch.bincount(tokens, minlength=5).float() / len(tokens)
    assert torch.allclose(seen, expected, atol=0.01), (seen, expected)
    torch.manual_seed(0)
    assert torch.equal(_Draw()(None, scores.clone()), out)


def test_generate_clamps_to_position_table(generator):
    out = generator.generate(prompt="my dream is", n=2, seed=0, max_new_tokens=1000)  # 128 positions
    assert len(out) == 2


def test_prompt_too_long_is_one_line_error(generator):
    with pytest.raises(HuggingTweetsError) as err:
        generator.generate(prompt=" ".join(["harbour"] * 300), n=1)
    assert "too long" in str(err.value) and "\n" not in str(err.value)


def test_bad_setting_is_user_error(generator):
    with pytest.raises(HuggingTweetsError, match="temperature"):
        generator.generate(temperature=0)


def test_to_dict_keys(generator):
    d = generator.generate(n=1, seed=0)[0].to_dict()
    assert set(d) == {"text", "nearest", "similarity", "near_copy", "author", "voice", "passes"}
    assert isinstance(d["similarity"], float) and 0.0 <= d["similarity"] <= 1.0
    assert GeneratedTweet("a", "", 0.0, False).to_dict() == {"text": "a", "nearest": "", "similarity": 0.0, "near_copy": False,
                                                             "author": None, "voice": None, "passes": None}


def test_generator_indexes_training_tweets(generator):
    assert isinstance(generator, Generator) and len(generator.index) == len(TWEETS)
    assert generator.index.is_near_copy(TWEETS[3])


def test_no_dataset_means_empty_index(model_folder, tmp_path):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(model_folder, copy)
    (copy / "dataset.json").unlink()
    gen = load_generator(copy)
    assert len(gen.index) == 0
    t = gen.generate(n=1, seed=0)[0]
    assert (t.nearest, t.similarity, t.near_copy) == ("", 0.0, False)


@pytest.mark.parametrize("make", ["missing", "empty_dir", "file"])
def test_missing_model_is_one_line_error(tmp_path, make):
    target = tmp_path / "nowhere"
    if make == "empty_dir":
        target.mkdir()
    elif make == "file":
        target.write_text("not a model")
    with pytest.raises(HuggingTweetsError) as err:
        load_generator(target)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"No model at {target}") and "huggingtweets train" in msg
    with pytest.raises(HuggingTweetsError):
        generate(target)


def test_broken_model_folder_is_one_line_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(HuggingTweetsError) as err:
        load_generator(tmp_path)
    assert "\n" not in str(err.value)


def test_damaged_dataset_is_one_line_error(model_folder, tmp_path):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(model_folder, copy)
    (copy / "dataset.json").write_text("{not json")
    with pytest.raises(HuggingTweetsError) as err:
        load_generator(copy)
    assert "dataset.json is damaged" in str(err.value) and "\n" not in str(err.value)


def test_inference_dtype(monkeypatch):
    import torch

    from huggingtweets.generation import inference_dtype

    assert inference_dtype("cpu") is torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert inference_dtype("cuda") is torch.bfloat16 and inference_dtype("cuda:1") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert inference_dtype("cuda") is torch.float16


@pytest.mark.parametrize("decoded, kept", [
    ("今天的晚霞很\ufffd\ufffd", "今天的晚霞很"),  # a character's first bytes, cut at the token limit
    ("a family 👩\u200d👩\u200d", "a family 👩\u200d👩"),
    ("flags 🇫🇷🇩", "flags 🇫🇷"),
    ("flags 🇫🇷", "flags 🇫🇷"),
    ("مرحبا \ufffd", "مرحبا"),
    ("\ufffd", ""),
])
def test_a_sample_never_ends_in_half_a_character(decoded, kept):
    assert cut_tweet(decoded) == kept


def test_a_byte_level_tokenizer_cut_mid_character_decodes_whole():
    """What a token limit really leaves: GPT-2's byte-level tokens split a Chinese character."""
    from conftest import make_texts
    from huggingtweets.models import train_tokenizer

    tokenizer = train_tokenizer(make_texts(50), vocab_size=300)
    ids = tokenizer("晚霞很好", add_special_tokens=False)["input_ids"]
    halves = [tokenizer.decode(ids[:n]) for n in range(1, len(ids))]
    assert any("\ufffd" in h for h in halves)  # the case is real
    for h in halves:
        assert "\ufffd" not in cut_tweet(h) and "晚霞很好".startswith(cut_tweet(h))
