"""Keep the weights of the lowest held-out loss a run has seen, so it never ends on a worse one.

On real archives a fine-tune overfits: with the original recipe the held-out loss of a
real English archive was lowest at epoch 2.5 of 4. Training evaluates several times an
epoch (``TrainConfig.evals_per_epoch``); after each evaluation that beats the best so far,
the weights that train (all of them, or LoRA's adapters) are copied in memory. Each
checkpoint writes the best beside it in the run area (``folder.BEST_*``), so a resumed run
still knows it. When the run ends, the best weights go back into the model before the final
save if they are better than the last evaluation's.

    best = BestWeights(folder)              # reads what a resumed run had
    best.seen(model, eval_loss, step, epoch)
    best.persist()                          # with each checkpoint (main process)
    if best.restore(model, final_loss): ...  # the model now holds the best weights
"""

from __future__ import annotations

import json
import math
from typing import Optional

from .diskio import atomic_write_json
from .folder import BEST_STATE, BEST_WEIGHTS, ModelFolder


class BestWeights:
    def __init__(self, folder: ModelFolder):
        self.folder = folder
        self.loss, self.step, self.epoch = math.inf, -1, 0.0
        self._weights: Optional[dict] = None  # in memory since the last evaluation that improved
        self._written = True  # the copy on disk is the newest (nothing to write yet)
        try:
            saved = json.loads((folder.run_dir / BEST_STATE).read_text(encoding="utf-8"))
            if (folder.run_dir / BEST_WEIGHTS).is_file():
                self.loss, self.step, self.epoch = float(saved["eval_loss"]), int(saved["step"]), float(saved["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a first run, or a run area without a best yet

    def seen(self, model, loss: Optional[float], step: int, epoch: float) -> None:
        """After an evaluation: copy the trainable weights when ``loss`` beats the best."""
        if loss is None or not math.isfinite(loss) or loss >= self.loss:
            return
        self.loss, self.step, self.epoch = float(loss), int(step), float(epoch)
        self._weights = {n: p.detach().to("cpu", copy=True) for n, p in model.named_parameters() if p.requires_grad}
        self._written = False

    def persist(self) -> None:
        """Write the best beside the run's checkpoints (once per improvement)."""
        if self._written or self._weights is None:
            return
        from safetensors.torch import save_file

        self.folder.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.folder.run_dir / f"{BEST_WEIGHTS}.tmp"
        save_file({n: t.contiguous() for n, t in self._weights.items()}, str(tmp))
        tmp.replace(self.folder.run_dir / BEST_WEIGHTS)
        atomic_write_json(self.folder.run_dir / BEST_STATE, {"eval_loss": self.loss, "step": self.step, "epoch": self.epoch})
        self._written = True

    def restore(self, model, final_loss: Optional[float]) -> bool:
        """Put the best weights back into ``model`` when they beat ``final_loss``; True if it did."""
        if final_loss is None or not self.loss < final_loss:
            return False
        weights = self._weights
        if weights is None:
            path = self.folder.run_dir / BEST_WEIGHTS
            if not path.is_file():
                return False
            from safetensors.torch import load_file

            weights = load_file(str(path))
        params = dict(model.named_parameters())
        if set(weights) - set(params):
            return False  # not this model's weights (another architecture or LoRA setting): keep the final ones
        import torch

        with torch.no_grad():
            for name, value in weights.items():
                params[name].copy_(value.to(params[name].device, params[name].dtype))
        return True
