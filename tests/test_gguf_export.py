"""GGUF export: a trained tiny GPT-2 and a small Llama, read back through transformers' own GGUF
loader (the same file llama.cpp and Ollama read), compared with the model folder they came from;
the Modelfile; the card's "Run it locally" section; refusals that leave nothing behind.

Tolerances: f16 logits within 1e-2 of the folder's (relative to the largest logit, at least 1);
q8_0 picks the folder's most likely next token at >= 90% of positions. Tokenization is exact.
"""

import errno
import json
import shlex

import pytest

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.folder import MANIFEST
from huggingtweets.gguf_export import GgufExport, export_gguf
from huggingtweets.gguf_vocab import _pre_tokenizer
from huggingtweets.manifest import ship_list
from huggingtweets.share import export_zip
from test_bad_exports import snapshot

PROMPTS = ["My dream is", "ünïcødé 🐦🔥 日本語 עברית", "the lamp is lit and the bread is rising 42"]


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    """A small Llama-architecture folder, as training saves one: grouped-query attention (4 heads,
    2 key/value heads: the key rows are reordered per KV head), an untied output matrix, and the
    project's tiny byte-level BPE tokenizer putting end-of-text before every text."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from conftest import make_texts
    from huggingtweets.models import ensure_eos_prefix, train_tokenizer

    tokenizer = train_tokenizer(make_texts(400) + PROMPTS, vocab_size=300)
    ensure_eos_prefix(tokenizer)
    eos = tokenizer.eos_token_id
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, rope_theta=10000.0, bos_token_id=eos, eos_token_id=eos,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    folder = tmp_path_factory.mktemp("llama") / "lark-llama"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def load_folder(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


def load_gguf(path, n_positions=None):
    """Through transformers' own GGUF reader. It reads gpt2.context_length into ``n_ctx``, which
    GPT2Config no longer uses, so a GPT-2 whose context is not 1024 gets ``n_positions`` here
    (llama.cpp takes the context from the file)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    extra = {"n_positions": n_positions} if n_positions else {}
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, **extra).eval()
    return model, AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


def parse_modelfile(text: str) -> dict:
    """FROM, TEMPLATE and PARAMETER lines (comments and blank lines skipped), values unquoted."""
    out: dict = {"PARAMETER": {}}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, rest = line.split(" ", 1)
        assert word in ("FROM", "TEMPLATE", "PARAMETER"), line
        if word == "PARAMETER":
            key, value = rest.split(" ", 1)
            out["PARAMETER"].setdefault(key, []).append(json.loads(value) if value.startswith('"') else float(value))
        else:
            assert word not in out, f"{word} twice"
            out[word] = json.loads(rest) if rest.startswith('"') else rest
    return out


def no_temporary_files(directory) -> bool:
    return not any(p.name.endswith(".tmp") for p in directory.iterdir())


# --- round trips ---------------------------------------------------------------------------------
def check_round_trip(folder, result: GgufExport, quantize: str):
    import torch

    model, tokenizer = load_folder(folder)
    gmodel, gtokenizer = load_gguf(result.gguf, getattr(model.config, "n_positions", None))
    agree, positions = 0, 0
    for text in PROMPTS:
        ids = tokenizer(text)["input_ids"]
        assert ids[0] == tokenizer.eos_token_id  # every tweet starts after end-of-text ...
        assert gtokenizer(text)["input_ids"] == ids  # ... and the GGUF's tokenizer puts it there too
        assert gtokenizer.decode(ids, skip_special_tokens=True) == tokenizer.decode(ids, skip_special_tokens=True) == text
        with torch.no_grad():
            want, got = (m(torch.tensor([ids])).logits[0] for m in (model, gmodel))
        if quantize == "f16":
            assert (want - got).abs().max().item() < 1e-2 * max(1.0, want.abs().max().item())
        agree += (want.argmax(-1) == got.argmax(-1)).sum().item()
        positions += len(ids)
    assert agree / positions >= 0.9

    modelfile = parse_modelfile(result.modelfile.read_text(encoding="utf-8"))
    assert modelfile["FROM"] == f"./{result.gguf.name}" and modelfile["TEMPLATE"] == "{{ .Prompt }}"
    eos = tokenizer.eos_token_id
    assert gtokenizer.eos_token_id == gtokenizer.bos_token_id == eos
    assert modelfile["PARAMETER"]["stop"] == [gtokenizer.convert_ids_to_tokens(eos)] == [tokenizer.eos_token]
    return modelfile


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["f16", "q8_0"])
def test_a_trained_tiny_gpt2_round_trips(model_dir, quantize):
    before = {name: h for name, h in snapshot(model_dir).items() if name not in ("README.md", MANIFEST)}
    result = export_gguf(model_dir, quantize=quantize)
    assert result.gguf == model_dir.parent / "wren-bot.gguf" and result.modelfile == model_dir.parent / "wren-bot.Modelfile"
    assert result.size == result.gguf.stat().st_size and result.name == "wren-bot" and result.seconds > 0
    modelfile = check_round_trip(model_dir, result, quantize)
    params = {k: v for k, v in modelfile["PARAMETER"].items() if k != "stop"}  # the folder's generation_config
    assert params == {"temperature": [1], "top_p": [0.95], "top_k": [0], "repeat_penalty": [1], "num_predict": [60], "num_ctx": [256]}
    # the model's own files are as saved; the GGUF is beside the folder, never in what it shares
    assert {n: h for n, h in snapshot(model_dir).items() if n not in ("README.md", MANIFEST)} == before
    assert not any(p.suffix in (".gguf", ".Modelfile") for p in model_dir.iterdir())
    assert no_temporary_files(model_dir.parent)


@pytest.mark.parametrize("quantize", ["f16", "q8_0"])
def test_a_small_llama_round_trips(llama_dir, tmp_path, quantize):
    result = export_gguf(llama_dir, tmp_path / "out" / f"lark-{quantize}.gguf", quantize=quantize)
    assert result.modelfile == tmp_path / "out" / f"lark-{quantize}.Modelfile"
    check_round_trip(llama_dir, result, quantize)
    assert (llama_dir / "README.md").exists() is False  # not a huggingtweets folder: only read
    assert no_temporary_files(tmp_path / "out")


def test_q8_0_is_smaller_than_f16(llama_dir, tmp_path):
    f16 = export_gguf(llama_dir, tmp_path / "a.gguf")
    q8 = export_gguf(llama_dir, tmp_path / "b.gguf", quantize="q8_0")
    assert q8.size < 0.7 * f16.size


def test_the_metadata_llama_cpp_reads(model_dir):
    import gguf

    result = export_gguf(model_dir, quantize="q8_0")
    reader = gguf.GGUFReader(result.gguf)

    def value(key):
        return reader.fields[key].contents()

    assert value("general.architecture") == "gpt2" and value("general.name") == "wren-bot"
    assert value("gpt2.context_length") == 256 and value("gpt2.block_count") == 4
    assert value("tokenizer.ggml.model") == "gpt2" and value("tokenizer.ggml.pre") == "gpt-2"
    assert value("tokenizer.ggml.add_bos_token") is True and value("tokenizer.ggml.add_eos_token") is False
    assert value("tokenizer.ggml.tokens")[value("tokenizer.ggml.eos_token_id")] == "<|endoftext|>"
    assert value("tokenizer.ggml.token_type")[value("tokenizer.ggml.eos_token_id")] == gguf.TokenType.CONTROL
    assert value("general.sampling.top_p") == pytest.approx(0.95) and value("general.sampling.top_k") == 0
    assert value("general.file_type") == gguf.LlamaFileType.MOSTLY_Q8_0
    names = {t.name for t in reader.tensors}
    assert "output.weight" not in names and "token_embd.weight" in names  # tied: llama.cpp reuses the embeddings
    assert {t.tensor_type for t in reader.tensors if t.name.endswith("_norm.weight")} == {gguf.GGMLQuantizationType.F32}


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}, "gpt-2"),
        ({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                                {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}]}, "smollm"),
        ({"type": "ByteLevel", "add_prefix_space": True, "use_regex": True}, None),  # would need a prefix space
        ({"type": "Metaspace", "replacement": "▁"}, None),  # sentencepiece
        (None, None),
    ],
)
def test_pre_tokenizers_llama_cpp_knows(spec, expected):
    assert _pre_tokenizer(spec) == expected


# --- the card and the manifest ---------------------------------------------------------------------
def test_the_card_says_how_to_run_it_and_the_manifest_follows(model_dir, tmp_path):
    export_gguf(model_dir, tmp_path / "w.gguf", quantize="q8_0")
    card = (model_dir / "README.md").read_text(encoding="utf-8")
    assert card.index("## How to use") < card.index("## Run it locally") < card.index("## Limitations and bias")
    for command in ("huggingtweets export wren-bot w.gguf --format gguf --quantize q8_0", "ollama create w -f w.Modelfile",
                    "ollama run w 'My dream is'", "llama-completion -m w.gguf -p 'My dream is' -n 60"):
        assert command in card
    assert shlex.split("ollama run w 'My dream is'")[-1] == "My dream is"
    entry = json.loads((model_dir / MANIFEST).read_text())["files"]["README.md"]
    assert entry["size"] == len(card.encode("utf-8")) and entry["edit"] is True
    export_gguf(model_dir)  # again, to the default name: one section, updated
    card = (model_dir / "README.md").read_text(encoding="utf-8")
    assert card.count("## Run it locally") == 1 and "--quantize q8_0" not in card
    assert "huggingtweets export wren-bot --format gguf\n" in card and "ollama create wren-bot -f wren-bot.Modelfile" in card
    ship_list(model_dir)  # the folder still shares as saved, the new card included
    zip_path = export_zip(model_dir, tmp_path / "w.zip")
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        assert "## Run it locally" in zf.read("wren-bot/README.md").decode("utf-8")
        assert not any(n.endswith((".gguf", ".Modelfile")) for n in zf.namelist())


def test_overwrite_replaces_both_files(llama_dir, tmp_path):
    target = tmp_path / "lark.gguf"
    target.write_bytes(b"old")
    (tmp_path / "lark.Modelfile").write_text("old")
    with pytest.raises(HuggingTweetsError, match="already exists"):
        export_gguf(llama_dir, target)
    assert target.read_bytes() == b"old"
    result = export_gguf(llama_dir, target, overwrite=True)
    assert target.read_bytes()[:4] == b"GGUF" and result.modelfile.read_text().startswith("# Made by huggingtweets")


# --- refusals: one line, nothing left ---------------------------------------------------------------
def refused(call, *parts) -> str:
    with pytest.raises(HuggingTweetsError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and all(part in message for part in parts), message
    return message


def test_what_is_not_a_model_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    refused(lambda: export_gguf(tmp_path / "empty"), "holds no finished model")
    refused(lambda: export_gguf(tmp_path / "nowhere"), "is not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"] and not any((tmp_path / "empty").iterdir())


def test_other_architectures_are_refused(llama_dir, tmp_path):
    import shutil

    folder = tmp_path / "neox"
    shutil.copytree(llama_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, model_type="gpt_neox")))
    before = snapshot(tmp_path)
    refused(lambda: export_gguf(folder), "'gpt_neox'", "gpt2, llama, gemma3_text", "zip")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["x.gguf", "model.safetensors", "sub/x.gguf", "."])
def test_an_output_inside_the_folder_is_refused(model_dir, target):
    before = snapshot(model_dir)
    refused(lambda: export_gguf(model_dir, model_dir / target, overwrite=True), "inside the model folder", "wren-bot.gguf")
    assert snapshot(model_dir) == before


def test_bad_output_names_and_types_are_refused(model_dir, tmp_path):
    before = {p.name for p in tmp_path.iterdir()}
    (tmp_path / "wren.gguf").write_bytes(b"someone's file")
    refused(lambda: export_gguf(model_dir, tmp_path / "wren.gguf"), "already exists", "overwrite")
    (tmp_path / "other.Modelfile").write_text("someone's Modelfile")
    refused(lambda: export_gguf(model_dir, tmp_path / "other.gguf"), "other.Modelfile already exists")
    refused(lambda: export_gguf(model_dir, tmp_path / "wren.bin"), "does not end in .gguf")
    refused(lambda: export_gguf(model_dir, tmp_path / 'my "bot".gguf'), "FROM line", "wren-bot.gguf")
    refused(lambda: export_gguf(model_dir, tmp_path), "is a folder")
    refused(lambda: export_gguf(model_dir, tmp_path / "q.gguf", quantize="q4_k"), "Unknown GGUF type 'q4_k'", "f16 or q8_0")
    assert (tmp_path / "wren.gguf").read_bytes() == b"someone's file"
    assert {p.name for p in tmp_path.iterdir()} == before | {"wren.gguf", "other.Modelfile"}


def test_a_full_disk_leaves_nothing(model_dir, tmp_path, monkeypatch):
    import gguf

    card_before = (model_dir / "README.md").read_bytes()
    written = []
    real = gguf.GGUFWriter.write_tensor_data

    def fill_the_disk(self, tensor, *args, **kwargs):
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(tensor.nbytes)
        return real(self, tensor, *args, **kwargs)

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensor_data", fill_the_disk)
    out = tmp_path / "out"
    refused(lambda: export_gguf(model_dir, out / "wren.gguf"), "No space left on", "free", "MB")
    assert written and list(out.iterdir()) == []  # no GGUF, no Modelfile, no temporary file
    assert (model_dir / "README.md").read_bytes() == card_before  # the card only changes after a whole export
    assert not (model_dir / ".huggingtweets.lock").exists()


def test_a_changed_weights_file_is_refused(model_dir, tmp_path):
    """What is exported is what the save recorded (manifest), as for a zip or a push."""
    weights = model_dir / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    refused(lambda: export_gguf(model_dir, tmp_path / "w.gguf"), "model.safetensors changed since the model was saved")
    assert list(tmp_path.iterdir()) == [model_dir]


def test_the_tokenizer_and_model_must_agree(llama_dir, tmp_path):
    import shutil

    folder = tmp_path / "short"
    shutil.copytree(llama_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    tok = json.loads((folder / "tokenizer.json").read_text())
    tok["model"]["vocab"]["extra-token"] = config["vocab_size"] + 5
    (folder / "tokenizer.json").write_text(json.dumps(tok))
    refused(lambda: export_gguf(folder, tmp_path / "s.gguf"), "tokens but the model only")
    assert not (tmp_path / "s.gguf").exists() and no_temporary_files(tmp_path)


def test_hostile_sampling_settings_stay_out_of_the_modelfile(llama_dir, tmp_path):
    import shutil

    folder = tmp_path / "odd"
    shutil.copytree(llama_dir, folder)
    settings = {"temperature": "1\nADAPTER /etc/passwd", "top_p": 7, "top_k": 5.0, "max_new_tokens": 40, "do_sample": False}
    (folder / "generation_config.json").write_text(json.dumps(settings))
    result = export_gguf(folder, tmp_path / "odd.gguf")
    text = result.modelfile.read_text()
    assert "ADAPTER" not in text and "passwd" not in text
    params = parse_modelfile(text)["PARAMETER"]
    assert params["temperature"] == [0] and params["top_p"] == [0.95] and params["top_k"] == [5] and params["num_predict"] == [40]



def test_numbers_past_what_gguf_holds_are_one_line_or_the_default(llama_dir, tmp_path):
    """GGUF keeps sizes and top_k in 32 bits: a foreign folder's bigger number is refused in one
    line (a size) or left out (a sampling setting, its default stands), never a struct error."""
    import shutil

    folder = tmp_path / "huge"
    shutil.copytree(llama_dir, folder)
    (folder / "generation_config.json").write_text(json.dumps({"top_k": 10**12, "max_new_tokens": 40}))
    result = export_gguf(folder, tmp_path / "huge.gguf")
    params = parse_modelfile(result.modelfile.read_text())["PARAMETER"]
    assert params["top_k"] == [0] and params["num_predict"] == [40]
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, max_position_embeddings=2**40)))
    before = snapshot(tmp_path)
    refused(lambda: export_gguf(folder, tmp_path / "huge.gguf", overwrite=True), "max_position_embeddings")
    assert snapshot(tmp_path) == before


def test_a_folder_where_the_modelfile_goes_leaves_the_old_export(llama_dir, tmp_path):
    """Overwriting must not replace the GGUF and then fail on the Modelfile: one without the other."""
    target = tmp_path / "lark.gguf"
    target.write_bytes(b"old")
    (tmp_path / "lark.Modelfile").mkdir()
    refused(lambda: export_gguf(llama_dir, target, overwrite=True), "lark.Modelfile", "is a folder")
    assert target.read_bytes() == b"old" and no_temporary_files(tmp_path)


# --- hostile folders: checked against config.json before anything is read or written ---------------
@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    """A small GPT-2 folder as transformers saves one (32 wide, 2 layers, 4 heads, 64 positions,
    tied output): the base every hostile folder below changes one thing in."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config

    from conftest import make_texts
    from huggingtweets.models import ensure_eos_prefix, train_tokenizer

    tokenizer = train_tokenizer(make_texts(400) + PROMPTS, vocab_size=300)
    ensure_eos_prefix(tokenizer)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=4, n_positions=64,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("gpt2") / "finch"
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def hostile(base, tmp_path, config=None, tensors=None):
    """A copy of ``base`` with config.json's keys ``config`` replaced (None: removed) and
    ``tensors(state) -> state`` applied to its weights (numpy arrays by key)."""
    import shutil

    from safetensors.numpy import load_file, save_file

    folder = tmp_path / base.name
    shutil.copytree(base, folder)
    if config:
        data = json.loads((folder / "config.json").read_text())
        data.update(config)
        (folder / "config.json").write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    if tensors:
        save_file(tensors(load_file(folder / "model.safetensors")), folder / "model.safetensors")
    return folder


def write_by_hand(path, state: dict, extra: dict):
    """A safetensors file of ``state`` (numpy arrays) plus ``extra`` entries {key: (dtype, shape)}
    that hold no bytes at all: what a header may claim, the file holding none of it."""
    import struct

    header, data = {}, b""
    for key, array in state.items():
        raw = array.tobytes()
        header[key] = {"dtype": {"float32": "F32", "float16": "F16"}[str(array.dtype)], "shape": list(array.shape),
                       "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    for key, (dtype, shape) in extra.items():
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data)]}
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def refused_before_writing(folder, tmp_path, *parts) -> str:
    """One line that says ``parts``; nothing written anywhere (the folder, the output, a temporary)."""
    before = snapshot(tmp_path)
    message = refused(lambda: export_gguf(folder, tmp_path / "out" / "x.gguf"), *parts)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()
    return message


def test_the_base_of_the_hostile_folders_exports(gpt2_dir, tmp_path):
    """The control: each refusal below comes from the one thing changed, not from the base."""
    result = export_gguf(gpt2_dir, tmp_path / "finch.gguf")
    check_round_trip(gpt2_dir, result, "f16")


def test_a_zero_width_embedding_of_two_billion_rows_is_refused_without_allocating(gpt2_dir, tmp_path):
    """A folder of a few kB whose header claims a [2e9, 0] embedding once drove the export to
    19 GB (a name made up for each row): refused from the header, memory staying small."""
    import tracemalloc

    from safetensors.numpy import load_file

    folder = hostile(gpt2_dir, tmp_path, config={"vocab_size": 2_000_000_000})
    state = {k: v for k, v in load_file(folder / "model.safetensors").items() if k != "transformer.wte.weight"}
    write_by_hand(folder / "model.safetensors", state, {"transformer.wte.weight": ("F32", [2_000_000_000, 0])})
    assert (folder / "model.safetensors").stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        refused_before_writing(folder, tmp_path, "'transformer.wte.weight' in model.safetensors is empty ([2,000,000,000, 0])", "train again")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"{peak:,} bytes"


@pytest.mark.parametrize(
    "config, parts",
    [
        ({"n_embd": 2**31 - 1, "n_head": 1}, ["2,147,483,647", "GGUF's 32-bit fields"]),
        ({"n_head": 5}, ["n_embd = 32 and n_head = 5, and the heads do not divide the width"]),
        ({"vocab_size": 2**32}, ["vocab_size = 4294967296", "GGUF keeps sizes in 32 bits"]),
        ({"vocab_size": None}, ["gives no vocab_size"]),
        ({"n_layer": "2"}, ["n_layer = '2'"]),
        ({"n_layer": 5000}, ["5,000 layers", "1,024"]),
        ({"layer_norm_epsilon": float("nan")}, ["layer_norm_epsilon = nan"]),
        ({"activation_function": "relu"}, ["another activation"]),
    ],
    ids=["n_embd-2^31-1", "heads-not-dividing", "vocab-past-32-bits", "no-vocab-size", "layers-as-text", "too-many-layers", "nan-epsilon", "relu"],
)
def test_a_config_whose_sizes_are_not_a_models_is_refused(gpt2_dir, tmp_path, config, parts):
    message = refused_before_writing(hostile(gpt2_dir, tmp_path, config=config), tmp_path, *parts)
    assert "Traceback" not in message


@pytest.mark.parametrize(
    "config, parts",
    [
        ({"num_key_value_heads": 3}, ["4 attention heads and 3 key/value heads"]),
        ({"head_dim": 15}, ["15 wide, an odd number"]),
        ({"max_position_embeddings": 1 << 21}, ["max_position_embeddings = 2,097,152", "1,048,576 tokens"]),
        ({"intermediate_size": 100}, ["'model.layers.0.mlp.down_proj.weight' in model.safetensors is [64, 128]", "makes it [64, 100]"]),
        ({"head_dim": 8}, ["'model.layers.0.self_attn.k_proj.weight' in model.safetensors is [32, 64] where config.json makes it [16, 64]"]),
        ({"rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 1e4}}, ["yarn rope scaling"]),
        ({"attention_bias": True}, ["no layer 0's attn_q.bias", "7 more tensors are missing"]),
    ],
    ids=["kv-heads-not-dividing", "odd-head-width", "context-too-long", "ffn-not-the-weights", "head-dim-not-the-weights", "yarn",
         "declared-biases-missing"],
)
def test_a_llama_config_not_its_weights_is_refused(llama_dir, tmp_path, config, parts):
    refused_before_writing(hostile(llama_dir, tmp_path, config=config), tmp_path, *parts)


def drop(key):
    return lambda state: {k: v for k, v in state.items() if k != key}


def change(key, how):
    return lambda state: dict(state, **{key: how(state[key])})


@pytest.mark.parametrize(
    "config, tensors, parts",
    [
        ({"n_layer": 3}, None, ["no layer 2's attn_norm.weight", "declares 3 layers", "11 more tensors are missing", "incomplete"]),
        ({"n_layer": 1}, None, ["'transformer.h.1.", "belongs to layer 1", "declares 1 layer (from 0)"]),
        (None, drop("transformer.h.1.mlp.c_fc.bias"), ["no layer 1's ffn_up.bias", "incomplete"]),
        (None, drop("transformer.wpe.weight"), ["no position_embd.weight"]),
        (None, change("transformer.ln_f.weight", lambda w: w.astype("int64")),
         ["'transformer.ln_f.weight' in model.safetensors is I64, not floats (F32, F16, BF16)"]),
        (None, change("transformer.h.0.ln_1.bias", lambda w: w.astype("float64")), ["is F64, not floats"]),
        (None, change("transformer.h.0.attn.c_attn.weight", lambda w: w.reshape(32, 3, 32)),
         ["'transformer.h.0.attn.c_attn.weight' in model.safetensors is [32, 3, 32] where config.json makes it [32, 96]"]),
        (None, change("transformer.h.0.mlp.c_fc.weight", lambda w: w.T.copy()),
         ["'transformer.h.0.mlp.c_fc.weight' in model.safetensors is [128, 32] where config.json makes it [32, 128]"]),
        ({"n_positions": 128}, None, ["'transformer.wpe.weight' in model.safetensors is [64, 32] where config.json makes it [128, 32]"]),
        ({"n_inner": 64}, None, ["'transformer.h.0.mlp.c_fc.bias' in model.safetensors is [128] where config.json makes it [64]"]),
        (None, lambda s: dict(s, **{"wte.weight": s["transformer.wte.weight"]}), ["a second token_embd.weight"]),
        (None, lambda s: dict(s, **{"transformer.h.0.attn.extra.weight": s["transformer.ln_f.weight"]}), ["no place for", "zip"]),
        (None, lambda s: dict(s, **{"lm_head.weight": s["transformer.wte.weight"][:, :16].copy()}),
         ["'lm_head.weight' in model.safetensors is [300, 16] where config.json makes it [300, 32]"]),
    ],
    ids=["declared-layer-without-weights", "undeclared-layer", "missing-tensor", "missing-positions", "int64", "float64",
         "3-d-where-2-d", "transposed", "context-not-the-weights", "ffn-not-the-weights", "twice", "unknown", "tied-output-misshapen"],
)
def test_weights_that_are_not_what_the_config_says_are_refused(gpt2_dir, tmp_path, config, tensors, parts):
    refused_before_writing(hostile(gpt2_dir, tmp_path, config=config, tensors=tensors), tmp_path, *parts)


def test_a_vocab_that_is_not_the_tokenizers_is_refused(gpt2_dir, tmp_path):
    """More embeddings than the tokenizer has tokens (beyond the padding saves add): another model's."""
    import numpy as np

    config = json.loads((gpt2_dir / "config.json").read_text())
    rows = config["vocab_size"] + 2000
    grow = change("transformer.wte.weight", lambda w: np.concatenate([w, np.zeros((2000, 32), w.dtype)]))
    folder = hostile(gpt2_dir, tmp_path, config={"vocab_size": rows}, tensors=grow)
    refused_before_writing(folder, tmp_path, f"{rows:,} embeddings but the tokenizer only", "not the model's")


def test_a_header_safetensors_cannot_read_is_one_line(gpt2_dir, tmp_path):
    from safetensors.numpy import load_file

    folder = hostile(gpt2_dir, tmp_path)
    write_by_hand(folder / "model.safetensors", load_file(folder / "model.safetensors"), {"x.weight": ("F9", [0])})
    refused_before_writing(folder, tmp_path, "model.safetensors cannot be read as safetensors", "unknown variant `F9`", "train again")


def test_a_llama_with_biases_carries_them(tmp_path):
    """attention_bias and mlp_bias (LLAMA_BIASES): each bias written at the shape llama.cpp reads,
    the query's and key's reordered per head as their rows are (transformers' GGUF reader leaves
    Llama biases out, so they are compared here, not through a round trip)."""
    import gguf
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from conftest import make_texts
    from huggingtweets.gguf_export import _interleave_rope
    from huggingtweets.models import ensure_eos_prefix, train_tokenizer

    tokenizer = train_tokenizer(make_texts(100), vocab_size=300)
    ensure_eos_prefix(tokenizer)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=64, attention_bias=True, mlp_bias=True)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # transformers starts biases at zero, which any order would match
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_()
    model.save_pretrained(tmp_path / "heron")
    tokenizer.save_pretrained(tmp_path / "heron")
    result = export_gguf(tmp_path / "heron", tmp_path / "heron.gguf")
    written = {t.name: np.array(t.data) for t in gguf.GGUFReader(result.gguf).tensors if t.name.endswith(".bias")}
    attn, mlp = model.model.layers[0].self_attn, model.model.layers[0].mlp
    want = {name: m.bias.detach().numpy() for name, m in [("attn_q", attn.q_proj), ("attn_k", attn.k_proj), ("attn_v", attn.v_proj),
            ("attn_output", attn.o_proj), ("ffn_gate", mlp.gate_proj), ("ffn_up", mlp.up_proj), ("ffn_down", mlp.down_proj)]}
    want["attn_q"], want["attn_k"] = _interleave_rope(want["attn_q"], 4), _interleave_rope(want["attn_k"], 2)  # 4 heads, 2 key/value
    assert set(written) == {f"blk.0.{name}.bias" for name in want}
    for name, value in want.items():
        np.testing.assert_array_equal(written[f"blk.0.{name}.bias"], value)


def test_buffers_older_saves_carry_are_left_out(llama_dir, tmp_path):
    """rotary_emb.inv_freq (recomputed at load) maps to a GGUF name, attn_rot_embd: it is still
    never read nor written."""
    import gguf
    import numpy as np

    buffers = {f"model.layers.{i}.self_attn.rotary_emb.inv_freq": np.ones(8, "float32") for i in range(2)}
    folder = hostile(llama_dir, tmp_path, tensors=lambda state: dict(state, **buffers))
    result = export_gguf(folder, tmp_path / "lark.gguf")
    assert not any("rot_embd" in t.name for t in gguf.GGUFReader(result.gguf).tensors)
