"""The model card: structure against the published seeds, escaping, the usage snippet, writing."""

import re
from pathlib import Path

import pytest

from huggingtweets.card import SECTIONS, hyperparameters, render_card, safe_url, write_card
from huggingtweets.cleaning import AuthorStats
from huggingtweets.config import TrainConfig
from huggingtweets.sources.base import Author

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "seeds"

LADY = (Author("ladygaga", "Lady Gaga", "https://pbs.twimg.com/a.jpg", "x"), AuthorStats("ladygaga", "Lady Gaga", 3133, 627, 304, 2202, 90000))
LENNY = (Author("LennyKravitz", "Lenny Kravitz", "https://pbs.twimg.com/b.jpg", "x"), AuthorStats("LennyKravitz", "Lenny Kravitz", 3068, 133, 293, 2642, 90000))
SNOOP = (Author("SnoopDogg", "Snoop Dogg", "", "file"), AuthorStats("SnoopDogg", "Snoop Dogg", 3232, 622, 944, 1666, 90000))
PRAWN = (Author("prawn_meat", "ringworm", "https://pbs.twimg.com/c.jpg", "x"), AuthorStats("prawn_meat", "ringworm", 3247, 167, 156, 2924, 90000))

METRICS = {
    "eval_loss_before": 4.5,
    "eval_loss": 3.25,
    "perplexity_before": 90.0171,
    "perplexity": 25.79,
    "train_loss": 3.1,
    "global_step": 1464,
    "train_runtime": 75.0,
}


def card_for(pairs, config=None, metrics=None, model_id="huggingtweets/x", **kw):
    authors = [a for a, _ in pairs]
    stats = [s for _, s in pairs]
    return render_card(authors, stats, config or TrainConfig(model="gpt2"), METRICS if metrics is None else metrics, model_id, **kw)


def front_matter(card: str) -> dict:
    yaml = pytest.importorskip("yaml")
    m = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert m, "card must start with YAML front matter"
    return yaml.safe_load(m.group(1))


def headings(text: str) -> list[str]:
    return re.findall(r"^## (.+?)\s*$", text, re.M)


def table_after(card: str, first_cell: str) -> dict[str, list[str]]:
    """The Markdown table whose header row starts with ``first_cell``: {first cell: other cells}, header row included."""
    lines = card.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_cell} |"))
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if set(cells) != {"---"}:  # the header row is kept under its first cell; the separator is not
            rows[cells[0]] = cells[1:]
    return rows


def python_block(card: str) -> str:
    m = re.search(r"^(`{3,})python\n(.*?)\n\1$", card, re.S | re.M)
    assert m, "no python code block"
    return m.group(2)


ONE, THREE = [PRAWN], [LADY, LENNY, SNOOP]


# --- structure --------------------------------------------------------------------------------
@pytest.mark.parametrize("pairs, seed", [(ONE, "model-card-one-author.md"), (THREE, "model-card-three-authors.md")])
def test_structure_matches_seed(pairs, seed):
    card = card_for(pairs, thumbnail="https://example.com/predictions.png")
    meta = front_matter(card)
    assert meta["language"] == "en"
    assert meta["thumbnail"] == "https://example.com/predictions.png"
    assert meta["tags"] == ["huggingtweets"]
    assert meta["widget"] == [{"text": "My dream is"}]
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "text-generation"
    assert headings(card) == list(SECTIONS)
    if not SEEDS.is_dir():
        pytest.skip(f"seed cards not found at {SEEDS}")
    seed_text = (SEEDS / seed).read_text(encoding="utf-8")
    assert headings(card) == headings(seed_text)
    seed_meta = front_matter(seed_text)
    assert set(seed_meta) <= set(meta)
    assert {k: meta[k] for k in ("language", "tags", "widget")} == {k: seed_meta[k] for k in ("language", "tags", "widget")}


@pytest.mark.parametrize("thumbnail, expected", [("", None), ("predictions.png", "predictions.png"), ("a: b # c", "a: b # c")])
def test_thumbnail_is_valid_yaml(thumbnail, expected):
    assert front_matter(card_for(ONE, thumbnail=thumbnail))["thumbnail"] == expected


@pytest.mark.parametrize(
    "pairs, title, names, slug",
    [
        (ONE, "🤖 AI BOT 🤖", "ringworm", "@prawn_meat"),
        ([LADY, SNOOP], "🤖 AI CYBORG 🤖", "Lady Gaga &amp; Snoop Dogg", "@ladygaga-snoopdogg"),
        (THREE, "🤖 AI CYBORG 🤖", "Lady Gaga & Lenny Kravitz & Snoop Dogg", "@ladygaga-lennykravitz-snoopdogg"),
        ([SNOOP, LENNY, LADY], "🤖 AI CYBORG 🤖", "Snoop Dogg & Lenny Kravitz & Lady Gaga", "@ladygaga-lennykravitz-snoopdogg"),
    ],
)
def test_header(pairs, title, names, slug):
    card = card_for(pairs)
    header = card.split("## ")[0]
    assert f">{title}</div>" in header
    assert ("AI CYBORG" in header) == (len(pairs) > 1) and ("AI BOT" in header) == (len(pairs) == 1)
    assert f">{names.replace('&amp;', '&')}</div>" in header
    assert f">{slug}</div>" in header
    assert "ðŸ¤–" not in card


def test_one_avatar_per_author_initials_without_url():
    header = card_for(THREE).split("## ")[0]
    assert header.count("border-radius: 50%") == 3
    assert header.count("background-image: url(") == 2  # Snoop Dogg has no avatar URL
    assert ">SD</div>" in header


# --- training data -----------------------------------------------------------------------------
@pytest.mark.parametrize("pairs", [ONE, THREE])
def test_data_table_rows_and_invariant(pairs):
    rows = table_after(card_for(pairs), "Data")
    assert list(rows) == ["Data", "Tweets downloaded", "Retweets", "Short tweets", "Tweets kept"]
    assert rows["Data"] == (["Quantity"] if len(pairs) == 1 else [s.name for _, s in pairs])
    for i, (_, s) in enumerate(pairs):
        shown = {label: int(rows[label][i]) for label in ("Tweets downloaded", "Retweets", "Short tweets", "Tweets kept")}
        assert shown == {"Tweets downloaded": s.downloaded, "Retweets": s.retweets, "Short tweets": s.short, "Tweets kept": s.kept}
        assert shown["Tweets downloaded"] == shown["Retweets"] + shown["Short tweets"] + shown["Tweets kept"]


def test_training_data_names_authors_and_held_out_counts():
    card = card_for(THREE, metrics={**METRICS, "eval_tweets": 650, "train_tweets": 5860})
    section = card.split("## Training data")[1].split("## ")[0]
    assert "Lady Gaga ([@ladygaga](https://x.com/ladygaga))" in section
    assert "Snoop Dogg (@SnoopDogg)" in section  # a plain file: no profile link
    assert "650 were held out" in section and "5860 were used for training" in section
    assert "held out" not in card_for(THREE).split("## Training data")[1].split("## ")[0]


@pytest.mark.parametrize("pairs, whom", [(ONE, "@prawn\\_meat"), (THREE, "@ladygaga, @LennyKravitz or @SnoopDogg")])
def test_says_near_the_top_that_the_posts_are_machine_written(pairs, whom):
    card = card_for(pairs)
    top = card.split("## ")[0]
    assert f"**Every post this model writes is machine-generated: written by a machine learning model, not by {whom}.**" in top


def _with_contacts(pair, masked, contacts):
    author, stats = pair
    return author, AuthorStats(stats.handle, stats.name, stats.downloaded, stats.retweets, stats.short, stats.kept,
                               stats.characters, masked, contacts)


def test_masked_contacts_are_counted_where_the_data_is():
    pairs = [_with_contacts(LADY, 12, "masked"), _with_contacts(SNOOP, 0, "masked")]
    section = card_for(pairs).split("## Training data")[1].split("## ")[0]
    rows = table_after(section, "Data")
    assert list(rows)[-1] == "Tweets with emails/phones masked" and rows["Tweets with emails/phones masked"] == ["12", "0"]
    assert "Email addresses and phone numbers in 12 of the tweets kept were replaced by `[email]` and `[phone]`" in section


@pytest.mark.parametrize("masked, contacts", [(0, "masked"), (0, "")])
def test_nothing_said_when_none_were_masked(masked, contacts):
    section = card_for([_with_contacts(PRAWN, masked, contacts)]).split("## Training data")[1].split("## ")[0]
    assert "masked" not in section and "[phone]" not in section


def test_contacts_kept_on_request_are_said():
    section = card_for([_with_contacts(PRAWN, 0, "kept")]).split("## Training data")[1].split("## ")[0]
    assert "Email addresses and phone numbers were left in the training text at the owner's request" in section
    assert list(table_after(section, "Data"))[-1] == "Tweets kept"


# --- training procedure ------------------------------------------------------------------------
def hp_rows(card: str) -> dict[str, str]:
    rows = {k: v[0] for k, v in table_after(card, "Hyper-parameter").items()}
    assert rows.pop("Hyper-parameter") == "Value"
    return rows


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(model="EleutherAI/pythia-70m", learning_rate=3e-5, epochs=2.5, batch_size=4, gradient_accumulation=8,
                    block_size=256, lr_scheduler="linear", warmup=0.1, weight_decay=0.01, precision="bf16", seed=7,
                    lora=True, lora_rank=16, lora_alpha=32, max_steps=500),
        TrainConfig(model="tiny", warmup=50, precision="fp32"),
    ],
)
def test_hyperparameters_equal_config(config):
    rows = hp_rows(card_for(ONE, config=config))
    assert float(rows["Learning rate (peak)"]) == config.learning_rate
    assert float(rows["Epochs"]) == config.epochs
    assert int(rows["Batch size (per device)"]) == config.batch_size
    assert int(rows["Gradient accumulation"]) == config.gradient_accumulation
    assert int(rows["Block size (tokens)"]) == config.block_size
    assert rows["Learning-rate schedule"] == config.lr_scheduler
    assert float(rows["Weight decay"]) == config.weight_decay
    assert rows["Precision"] == config.precision
    assert int(rows["Seed"]) == config.seed
    assert float(rows["Held-out fraction"]) == config.validation_fraction
    assert float(rows["Warm-up"].split()[0]) == config.warmup
    assert ("Max steps" in rows) == (config.max_steps != -1)
    if config.max_steps != -1:
        assert int(rows["Max steps"]) == config.max_steps
    if config.lora:
        assert rows["LoRA"].startswith(f"rank {config.lora_rank}, alpha {config.lora_alpha},")
    else:
        assert rows["LoRA"].startswith("not used")
    assert rows == dict(hyperparameters(config))


def test_base_model_text():
    gpt2 = card_for(ONE).split("## Training procedure")[1].split("## ")[0]
    assert "pre-trained [gpt2](https://huggingface.co/gpt2)" in gpt2
    tiny = card_for(ONE, config=TrainConfig(model="tiny")).split("## Training procedure")[1].split("## ")[0]
    assert "small GPT-2 trained from scratch" in tiny and "huggingface.co" not in tiny
    lora = card_for(ONE, config=TrainConfig(model="gpt2", lora=True))
    assert "LoRA adapters" in lora
    # a named model cites what it resolved to (training writes metrics["base_model"])
    smol = card_for(ONE, config=TrainConfig(model="smollm2-135m"), metrics={**METRICS, "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct"})
    assert "pre-trained [HuggingFaceTB/SmolLM2-135M-Instruct](https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct)" in smol


def test_metrics_only_those_present():
    card = card_for(ONE)
    rows = {k: v[0] for k, v in table_after(card, "Metric").items()}
    assert rows["Held-out loss before training"] == "4.5000"
    assert rows["Held-out loss after training"] == "3.2500"
    assert rows["Held-out perplexity before training"] == "90.02"
    assert rows["Held-out perplexity after training"] == "25.79"
    assert rows["Average training loss"] == "3.1000"
    assert rows["Optimizer steps"] == "1464"
    assert rows["Training time"] == "1 min 15 s"
    some = card_for(ONE, metrics={"eval_loss": 2.0})
    rows = table_after(some, "Metric")
    assert set(rows) == {"Metric", "Held-out loss after training"}
    assert "| Metric |" not in card_for(ONE, metrics={})


def test_wandb_link_only_when_given_and_safe():
    assert "wandb.ai" not in card_for(ONE)
    assert "(https://wandb.ai/me/huggingtweets/runs/abc)" in card_for(ONE, wandb_url="https://wandb.ai/me/huggingtweets/runs/abc")
    assert "javascript" not in card_for(ONE, wandb_url="javascript:alert(1)")


# --- how to use ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model_id",
    ["huggingtweets/prawn_meat", "huggingtweets-model", "/tmp/it's a \"folder\"", "C:\\models\\bot", "odd ``` id\nline"],
)
def test_snippet_compiles_and_names_model(model_id):
    code = python_block(card_for(ONE, model_id=model_id))
    compile(code, "card", "exec")
    assert code.splitlines()[0] == "from transformers import pipeline"
    assert f"model={model_id!r}" in code
    assert 'generator("My dream is", num_return_sequences=5)' in code
    # the snippet's model argument evaluates back to model_id exactly
    seen = {}
    exec(code.replace("from transformers import pipeline", ""), {"pipeline": lambda task, model: seen.update(task=task, model=model) or (lambda *a, **k: None)})
    assert seen == {"task": "text-generation", "model": model_id}


# --- escaping -----------------------------------------------------------------------------------
EVIL_NAME = '<script>alert(1)</script> & "x"'


@pytest.mark.parametrize(
    "avatar",
    ["javascript:alert(1)", "https://x.com/a.jpg');background:url('javascript:alert(1)", 'https://x.com/a.jpg" onmouseover="alert(1)', "data:image/png;base64,AAAA"],
)
def test_user_text_is_escaped(avatar):
    evil = (Author("evil|one", EVIL_NAME, avatar, "x"), AuthorStats("evil|one", EVIL_NAME, 10, 1, 2, 7, 9000))
    card = card_for([evil, LADY])
    assert "<script>" not in card and "alert(1)</script>" not in card
    assert '"x"' not in card.split("## How to use")[0].split("---", 2)[2]  # outside the front matter and snippet
    assert "&lt;script&gt;" in card
    assert "javascript:alert(1)" not in card
    assert "');" not in card and 'onmouseover="' not in card
    assert "data:image" not in card
    header = card.split("## ")[0]
    for style in re.findall(r'style="([^"]*)"', header):
        assert "'" not in style and "(" not in style.replace("url(&#x27;", "")
    # the name in the data table does not break the table
    rows = table_after(card, "Data")
    assert all(len(cells) == 2 for label, cells in rows.items())


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://pbs.twimg.com/a_400x400.jpg", "https://pbs.twimg.com/a_400x400.jpg"),
        ("HTTP://example.com/a b.jpg", "HTTP://example.com/a%20b.jpg"),
        ("https://x.com/a');x", "https://x.com/a%27%29;x"),
        ("javascript:alert(1)", ""),
        ("  https:// ", ""),
        ("https://x.com/a\nb", ""),
        ("//x.com/a.jpg", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_url(url, expected):
    assert safe_url(url) == expected


# --- writing ------------------------------------------------------------------------------------
def test_write_card(tmp_path):
    folder = tmp_path / "model"
    path = write_card(folder, [PRAWN[0]], [PRAWN[1]], TrainConfig(model="gpt2"), METRICS, str(folder))
    assert path == folder / "README.md"
    assert path.read_text(encoding="utf-8") == card_for(ONE, model_id=str(folder))
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]
    write_card(folder, [PRAWN[0]], [PRAWN[1]], TrainConfig(), {}, "huggingtweets/prawn_meat")  # replaces
    assert "huggingtweets/prawn_meat" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]


def test_mismatched_or_empty_authors():
    from huggingtweets.errors import HuggingTweetsError

    with pytest.raises(HuggingTweetsError):
        render_card([], [], TrainConfig(), {}, "m")
    with pytest.raises(HuggingTweetsError):
        render_card([PRAWN[0]], [PRAWN[1], LADY[1]], TrainConfig(), {}, "m")
