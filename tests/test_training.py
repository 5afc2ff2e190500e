"""Fine-tuning end to end on tiny local models (CPU, offline)."""

import json
import re

import pytest

from conftest import CrashAt, tweet_dataset
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.folder import ModelFolder
from huggingtweets.training import StopSignal, TrainCallback, fine_tune

FAST = dict(block_size=32, batch_size=8, logging_steps=2, save_steps=4)


class Recorder(TrainCallback):
    def __init__(self):
        self.events = []

    def on_begin(self, state):
        self.events.append(("begin", state.step, state.max_steps))

    def on_log(self, state, logs):
        self.events.append(("log", state.step, logs["loss"]))

    def on_evaluate(self, state, metrics):
        self.events.append(("eval", state.step, metrics["eval_loss"]))

    def on_end(self, state):
        self.events.append(("end", state.step, None))


@pytest.fixture(scope="module")
def trained_tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "model"
    rec = Recorder()
    config = TrainConfig(model="tiny", output_dir=str(out), learning_rate=3e-3, epochs=3, **FAST)
    result = fine_tune(config, tweet_dataset(), callbacks=[rec])
    return result, rec


@pytest.mark.slow
def test_tiny_trains_and_held_out_loss_falls(trained_tiny):
    result, rec = trained_tiny
    m = result.metrics
    assert m["eval_loss"] < m["eval_loss_before"] - 0.5
    assert m["global_step"] > 0 and not result.stopped
    kinds = {e[0] for e in rec.events}
    assert kinds == {"begin", "log", "eval", "end"} and rec.events[-1][0] == "end"


def test_saved_folder_has_everything(trained_tiny):
    out = trained_tiny[0].output_dir
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json", "train_config.json", "dataset.json", "metrics.json", "README.md"):
        assert (out / name).exists(), name
    assert TrainConfig.load(out).model == "tiny"
    gen = json.loads((out / "generation_config.json").read_text())
    assert gen["do_sample"] is True and gen["top_p"] == 0.95 and gen["max_new_tokens"] == 60
    assert ModelFolder(out).latest_checkpoint() is None and not (out / "checkpoints").exists()  # removed once the run finished


@pytest.mark.slow
def test_card_snippet_runs_verbatim(trained_tiny):
    out = trained_tiny[0].output_dir
    card = (out / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert repr(str(out)) in code
    scope = {}
    exec(code.replace('generator("My dream is"', 'result = generator("My dream is"'), scope)
    texts = [r["generated_text"] for r in scope["result"]]
    assert len(texts) == 5 and all(t.startswith("My dream is") for t in texts)


def test_tokenizer_prefixes_end_of_text(trained_tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(trained_tiny[0].output_dir)
    assert tok("My dream is")["input_ids"][0] == tok.eos_token_id


def test_a_finished_model_needs_overwrite(trained_tiny):
    out = trained_tiny[0].output_dir
    with pytest.raises(HuggingTweetsError, match="--overwrite"):
        fine_tune(TrainConfig(model="tiny", output_dir=str(out), **FAST), tweet_dataset())


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["gpt2_folder", "llama_folder"])
def test_local_model_folders(fixture, request, tmp_path):
    folder = request.getfixturevalue(fixture)
    config = TrainConfig(model=folder, output_dir=str(tmp_path / "m"), learning_rate=1e-2, max_steps=6, **FAST)
    result = fine_tune(config, tweet_dataset())
    assert result.metrics["eval_loss"] < result.metrics["eval_loss_before"]
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(result.output_dir).config.model_type == ("gpt2" if "gpt2" in fixture else "llama")


@pytest.mark.slow
def test_lora_merges_into_a_plain_folder(gpt2_folder, tmp_path):
    config = TrainConfig(model=gpt2_folder, output_dir=str(tmp_path / "lora"), lora=True, lora_rank=4, gradient_checkpointing=True, learning_rate=1e-2, max_steps=4, **FAST)
    result = fine_tune(config, tweet_dataset())
    out = result.output_dir
    assert not (out / "adapter_config.json").exists()
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out)
    assert not any("lora" in name for name, _ in model.named_parameters())
    base = AutoModelForCausalLM.from_pretrained(gpt2_folder)
    changed = [n for n, p in model.named_parameters() if not (p == dict(base.named_parameters())[n]).all()]
    assert changed  # the adapters were merged into the weights


def test_lora_on_tiny_is_refused(tmp_path):
    with pytest.raises(HuggingTweetsError, match="LoRA"):
        fine_tune(TrainConfig(model="tiny", lora=True, output_dir=str(tmp_path / "x")), tweet_dataset())
    assert not (tmp_path / "x").exists()


class StopAt(TrainCallback):
    def __init__(self, step, stop):
        self.step, self.stop = step, stop

    def on_step(self, state):
        if state.step >= self.step:
            self.stop.request()


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_step(tmp_path):
    kwargs = dict(model="tiny", learning_rate=3e-3, epochs=2, **FAST)
    full = fine_tune(TrainConfig(output_dir=str(tmp_path / "full"), **kwargs), tweet_dataset())

    config = TrainConfig(output_dir=str(tmp_path / "cut"), **kwargs)
    with pytest.raises(KeyboardInterrupt):
        fine_tune(config, tweet_dataset(), callbacks=[CrashAt(6)])
    assert ModelFolder(config.output_dir).latest_checkpoint().name == "checkpoint-4"  # saved every 4 steps, before the crash
    resumed = fine_tune(config, resume=True)  # the dataset comes from the folder
    assert resumed.metrics["global_step"] == full.metrics["global_step"]
    assert resumed.metrics["eval_loss_before"] == full.metrics["eval_loss_before"]
    assert resumed.metrics["eval_loss"] == pytest.approx(full.metrics["eval_loss"], rel=1e-3)


@pytest.mark.slow
def test_stop_signal_saves_a_checkpoint_then_resume_finishes(tmp_path):
    config = TrainConfig(output_dir=str(tmp_path / "m"), model="tiny", epochs=2, **{**FAST, "save_steps": 100})
    stop = StopSignal()
    first = fine_tune(config, tweet_dataset(), callbacks=[StopAt(3, stop)], stop=stop)
    assert first.stopped and first.metrics["global_step"] == 3
    assert ModelFolder(config.output_dir).latest_checkpoint().name == "checkpoint-3"
    assert (first.output_dir / "model.safetensors").exists()  # usable meanwhile
    done = fine_tune(config, resume=True)
    assert not done.stopped and done.metrics["global_step"] > 3


def test_resume_without_checkpoint(tmp_path):
    with pytest.raises(HuggingTweetsError, match="Nothing to resume"):
        fine_tune(TrainConfig(model="tiny", output_dir=str(tmp_path)), tweet_dataset(), resume=True)


@pytest.mark.slow
def test_wandb_offline_run_is_tracked_without_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("X_BEARER_TOKEN", "secret-token-never-logged")
    config = TrainConfig(model="tiny", output_dir=str(tmp_path / "m"), report_to="wandb", max_steps=2, **FAST)
    result = fine_tune(config, tweet_dataset())
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert runs, "an offline W&B run was written"
    logged = b"".join(p.read_bytes() for p in runs[0].rglob("*") if p.is_file())
    assert b"secret-token-never-logged" not in logged
    assert b"learning_rate" in logged  # the hyper-parameters were tracked
    assert result.metrics["global_step"] == 2


# --- never end on a worse model; posts kept apart ---------------------------------------------
def _held_out_loss(folder, config):
    """The held-out loss of the saved model on the blocks training evaluated."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from huggingtweets.dataset import TweetDataset
    from huggingtweets.training import held_out_blocks

    model, tokenizer = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    model.eval()
    blocks = held_out_blocks(TweetDataset.load(folder).valid_texts(), tokenizer, config.block_size, config.within_post)
    losses, weights = [], []
    with torch.no_grad():
        for b in blocks:
            ids = torch.tensor([b["input_ids"]])
            extra = {"position_ids": torch.tensor([b["position_ids"]])} if "position_ids" in b else {"attention_mask": torch.tensor([b["attention_mask"]])}
            labels = torch.tensor([b["labels"]])
            losses.append(float(model(input_ids=ids, labels=labels, use_cache=False, **extra).loss))
            weights.append(int((labels[0, 1:] != -100).sum()))
    return sum(l * w for l, w in zip(losses, weights)) / sum(weights)


@pytest.mark.slow
def test_an_overfitting_run_saves_its_best_weights_not_its_last(tmp_path):
    config = TrainConfig(model="tiny", output_dir=str(tmp_path / "m"), learning_rate=2e-2, epochs=12, evals_per_epoch=2,
                         lr_scheduler="constant", warmup=0.0, within_post=False, block_size=32, batch_size=8, logging_steps=2, save_steps=0)
    result = fine_tune(config, tweet_dataset(120))
    m = result.metrics
    history = [loss for _, _, loss in m["eval_history"]]
    assert m["eval_loss"] == pytest.approx(min(history))
    assert m["last_eval_loss"] > m["eval_loss"] and m["best_step"] < m["global_step"]  # it did overfit, and came back
    last = fine_tune(config.replace(output_dir=str(tmp_path / "last"), keep_best=False), tweet_dataset(120))
    assert last.metrics["eval_loss"] == pytest.approx(m["last_eval_loss"], rel=1e-4)  # the same run, its last weights kept
    assert _held_out_loss(result.output_dir, config) < _held_out_loss(last.output_dir, config)  # the folder holds the better ones
    card = (result.output_dir / "README.md").read_text()
    assert "lowest held-out loss" in card


@pytest.mark.slow
def test_keep_best_off_saves_the_last_weights(tmp_path):
    config = TrainConfig(model="tiny", output_dir=str(tmp_path / "m"), learning_rate=2e-2, epochs=8, keep_best=False,
                         warmup=0.0, within_post=False, block_size=32, batch_size=8, logging_steps=2, save_steps=0)
    m = fine_tune(config, tweet_dataset(120)).metrics
    assert "best_step" not in m and m["eval_loss"] == pytest.approx(m["eval_history"][-1][2])


@pytest.mark.slow
def test_a_stopped_run_keeps_its_best_for_the_resume(tmp_path):
    from huggingtweets.folder import BEST_STATE, BEST_WEIGHTS

    config = TrainConfig(model="tiny", output_dir=str(tmp_path / "m"), learning_rate=3e-3, epochs=3, evals_per_epoch=4, **FAST)
    stop = StopSignal()
    fine_tune(config, tweet_dataset(), callbacks=[StopAt(5, stop)], stop=stop)
    run = ModelFolder(config.output_dir).run_dir
    assert (run / BEST_WEIGHTS).is_file() and json.loads((run / BEST_STATE).read_text())["step"] <= 5
    resumed = fine_tune(config, resume=True)
    assert resumed.metrics["eval_loss"] == pytest.approx(min(loss for _, _, loss in resumed.metrics["eval_history"]))


@pytest.mark.parametrize("fixture", ["gpt2_folder", "llama_folder"])
def test_packed_posts_are_kept_apart_by_both_architectures(fixture, request):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from huggingtweets.models import keeps_posts_apart

    folder = request.getfixturevalue(fixture)
    model, tokenizer = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    assert keeps_posts_apart(model, tokenizer.eos_token_id)


def test_posts_kept_apart_restart_their_positions(tiny_tokenizer):
    from huggingtweets.dataset import pack_blocks

    blocks = pack_blocks(["a b c", "d e"], tiny_tokenizer, 64, within_post=True)
    (block,) = blocks
    eos = tiny_tokenizer.eos_token_id
    starts = [i for i, t in enumerate(block["input_ids"]) if t == eos and block["labels"][i] != -100]
    assert "attention_mask" not in block and all(block["position_ids"][i] == 0 for i in starts)
    assert block["position_ids"][1] == 1 and len(block["position_ids"]) == 64
