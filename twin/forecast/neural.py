"""N-HiTS (pytorch-forecasting): one global quantile model across all low points.

The network is pytorch-forecasting's :class:`~pytorch_forecasting.NHiTS` (Challu et al.
2023): stacks of MLP blocks, each looking at the history pooled at a different rate and
forecasting a coarse set of knots interpolated to the 24 lead times, plus a *naive
level* (the last value) — so it starts from persistence and learns the change. It is
trained with the pinball (quantile) loss on :data:`~twin.forecast.base.QUANTILES`.

Inputs (all pre-scaled to order one, no further scaling inside the model):

- target (encoder): the gauge reading, gaps filled by the last reading [dm];
- unknown real (encoder): the missing-reading flag;
- known-future reals (encoder and decoder): the gauge rain over each step and its
  trailing 60-minute mean [mm/h] / 10 (the decoder gets the *expected* rain: in
  training, the nowcast available at the issue time, setting ``future_rain``; in
  operation, the nowcast of the rain source);
- static reals: :data:`~twin.forecast.data.STATIC_FEATURES` of the point, so one model
  serves every point (a *global* model);
- static categorical: the point itself, as a learnt embedding of ``point_embedding``
  dimensions (0: none, the models saved before it). The static features are the
  drains' *design*; a city's real drains differ point by point (hidden drains,
  :mod:`twin.forecast.data`), and the embedding is where the global model learns each
  point's own response from its gauge history, as a per-point model does (the series
  identifier of global models, e.g. DeepAR, Salinas et al. 2020).

Training draws a fixed number of windows from the training storms (enriched in wet
ones, a share ``radar_share`` from radar storms where the data has them, see
:func:`~twin.forecast.windows.sample_training_windows`) with targets from the gauge
readings (gaps interpolated). Their future rain is ``future_rain``: ``"nowcast"`` (the
default: the radar nowcast of a radar storm, else the gauge persistence nowcast, what
operations had at the issue time) or ``"observed"`` (the rain that fell, an oracle: the
models trained before it was a setting, which load as ``"observed"``). On
``n_threads`` CPU threads, seeded (Lightning
``seed_everything`` and deterministic algorithms), without loggers, checkpoints or
progress bars; Lightning's working folder is a temporary directory. Inference builds the
network's input tensors directly (no ``TimeSeriesDataSet`` per call), which is what keeps
a forecast of every point and lead under a few milliseconds; a test checks that these
tensors equal those of pytorch-forecasting's own dataset.

References
----------
Challu, C., Olivares, K. G., Oreshkin, B. N., Garza Ramirez, F., Mergenthaler Canseco, M.
and Dubrawski, A. (2023). NHITS: Neural hierarchical interpolation for time series
forecasting. *Proc. AAAI* 37(6), 6989–6997.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings
from collections.abc import Iterator
from typing import Any, Self

import numpy as np

from twin._types import FloatArray
from twin.forecast.base import Forecaster
from twin.forecast.data import STATIC_FEATURES, StormRecords, Windows
from twin.forecast.errors import ForecastError
from twin.forecast.windows import check_future_rain, sample_training_windows

__all__ = ["NHiTSForecaster", "template_dataset"]

logger = logging.getLogger(__name__)

KNOWN = ("rain", "rain_60min")
UNKNOWN = ("depth_dm", "missing")
#: Default network and training settings: those of the shipped ``nhits-nowcast`` model
#: (``n_windows``, ``max_epochs`` and ``radar_share`` chosen on the validation storms'
#: pinball loss among 32k × 8, 96k × 12, 96k × 12 with 128 hidden units, 160k × 15, and
#: 96k × 12 with a radar share of 0.4; the former ``nhits`` model has 32k × 8, no radar).
DEFAULTS: dict[str, Any] = {
    "hidden_size": 64,
    "n_blocks": [1, 1, 1],
    "n_layers": 2,
    "learning_rate": 3e-3,
    "batch_size": 256,
    "max_epochs": 12,
    "n_windows": 96_000,
    "n_val_windows": 6_000,
    "n_threads": 2,
    "future_rain": "nowcast",
    "radar_share": 0.4,
    "point_embedding": 4,
}
#: Settings of models saved before a setting existed (what they were trained with).
LEGACY: dict[str, Any] = {"future_rain": "observed", "radar_share": 0.0, "point_embedding": 0}


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on ``n`` intra-op threads, restoring the previous setting after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Silence Lightning's info messages while training, restoring the levels after."""
    names = ("lightning.pytorch", "lightning.fabric", "lightning")
    before = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for n, level in before.items():
            logging.getLogger(n).setLevel(level)


def template_dataset(
    encoder: int, horizon: int, n_rows: int | None = None, n_points: int = 0
) -> Any:
    """A tiny :class:`~pytorch_forecasting.TimeSeriesDataSet` that defines the variables.

    Synthetic series (zeros) with the model's columns, one per point when the points are
    a categorical (``n_points`` > 0), else two; it fixes the variable roles, their order,
    the identity scalings and the point categories, and is what
    :meth:`NHiTS.from_dataset` builds the network from.
    """
    import pandas as pd
    from pytorch_forecasting import TimeSeriesDataSet
    from pytorch_forecasting.data import TorchNormalizer

    n = n_rows or (encoder + horizon)
    k = max(2, n_points)
    frame = pd.DataFrame(
        {"series": np.repeat([point_category(i) for i in range(k)], n),
         "time_idx": np.tile(np.arange(n), k)}
        | {c: np.zeros(k * n) for c in (*STATIC_FEATURES, *KNOWN, *UNKNOWN)}
    )  # fmt: skip
    return _dataset(
        frame, encoder, horizon, TimeSeriesDataSet, TorchNormalizer, points=n_points > 0
    )


def point_category(i: int) -> str:
    """The category of point ``i`` (codes in sorted order are the point indices)."""
    return f"{i:06d}"


def _dataset(
    frame: Any, encoder: int, horizon: int, cls: Any, normalizer: Any, *, points: bool = False
) -> Any:
    """The dataset of the model's variables; ``points``: the series id is a categorical."""
    from pytorch_forecasting.data import NaNLabelEncoder

    extra: dict[str, Any] = {}
    if points:
        extra = {
            "static_categoricals": ["series"],
            "categorical_encoders": {"series": NaNLabelEncoder(add_nan=False)},
        }
    return cls(
        frame,
        time_idx="time_idx",
        target="depth_dm",
        group_ids=["series"],
        max_encoder_length=encoder,
        min_encoder_length=encoder,
        max_prediction_length=horizon,
        min_prediction_length=horizon,
        static_reals=list(STATIC_FEATURES),
        time_varying_known_reals=list(KNOWN),
        time_varying_unknown_reals=list(UNKNOWN),
        target_normalizer=normalizer(method="identity", center=False),
        scalers={c: None for c in (*STATIC_FEATURES, *KNOWN, "missing")},
        add_relative_time_idx=False,
        add_target_scales=False,
        add_encoder_length=False,
        **extra,
    )


def _rain_features(rain_hist: FloatArray, rain_future: FloatArray) -> FloatArray:
    """Rain and trailing 60-min mean over history + leads, shape ``(n, L+H, 2)`` [/10]."""
    rain = np.concatenate([rain_hist, rain_future], axis=1)
    c = np.concatenate([np.zeros((rain.shape[0], 1)), np.cumsum(rain, axis=1)], axis=1)
    idx = np.arange(rain.shape[1])
    lo = np.maximum(0, idx + 1 - 12)
    mean60 = (c[:, idx + 1] - c[:, lo]) / (idx + 1 - lo)[None, :]
    return np.stack([rain / 10.0, mean60 / 10.0], axis=-1)


def network_inputs(windows: Windows, static: FloatArray, *, points: bool = False) -> dict[str, Any]:
    """The network's input dict (as pytorch-forecasting's collate builds it) for windows.

    Columns of ``encoder_cont``/``decoder_cont``, in the dataset's order of reals:
    the static features, ``rain``, ``rain_60min``, ``depth_dm``, ``missing``;
    ``encoder_cat``/``decoder_cat``: the point's index when ``points`` (the point
    embedding), else empty.
    """
    import torch

    n, n_hist = windows.depth_hist.shape
    horizon = windows.rain_future.shape[1]
    rain = _rain_features(windows.rain_hist, windows.rain_future)
    stat = static[windows.point]  # (n, S)
    n_s = stat.shape[1]
    width = n_s + len(KNOWN) + len(UNKNOWN)
    enc = np.zeros((n, n_hist, width), dtype=np.float32)
    dec = np.zeros((n, horizon, width), dtype=np.float32)
    enc[:, :, :n_s] = stat[:, None, :]
    dec[:, :, :n_s] = stat[:, None, :]
    enc[:, :, n_s : n_s + 2] = rain[:, :n_hist]
    dec[:, :, n_s : n_s + 2] = rain[:, n_hist:]
    enc[:, :, n_s + 2] = windows.depth_hist * 10.0
    enc[:, :, n_s + 3] = windows.missing_hist
    target = (
        np.zeros((n, horizon), dtype=np.float32)
        if windows.target is None
        else (windows.target * 10.0).astype(np.float32)
    )
    dec[:, :, n_s + 2] = target
    n_cat = 1 if points else 0
    code = torch.from_numpy(np.asarray(windows.point, dtype=np.int64))[:, None, None]
    return {
        "encoder_cat": code.expand(n, n_hist, n_cat).contiguous(),
        "encoder_cont": torch.from_numpy(enc),
        "encoder_target": torch.from_numpy(enc[:, :, n_s + 2].copy()),
        "encoder_lengths": torch.full((n,), n_hist, dtype=torch.int64),
        "decoder_cat": code.expand(n, horizon, n_cat).contiguous(),
        "decoder_cont": torch.from_numpy(dec),
        "decoder_target": torch.from_numpy(target),
        "decoder_lengths": torch.full((n,), horizon, dtype=torch.int64),
        "decoder_time_idx": torch.arange(n_hist, n_hist + horizon).repeat(n, 1),
        "groups": torch.zeros((n, 1), dtype=torch.int64),
        "target_scale": torch.tensor([[0.0, 1.0]]).repeat(n, 1),
    }


class _Batches:
    """Shuffled mini-batches of pre-built input tensors (a seeded, picklable loader)."""

    def __init__(self, x: dict[str, Any], batch_size: int, *, shuffle: bool, seed: int) -> None:
        self.x = x
        self.n = int(x["encoder_cont"].shape[0])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[dict[str, Any], tuple[Any, None]]]:
        import torch

        order = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        for lo in range(0, self.n, self.batch_size):
            idx = torch.from_numpy(order[lo : lo + self.batch_size])
            batch = {k: v[idx] for k, v in self.x.items()}
            yield batch, (batch["decoder_target"], None)


class NHiTSForecaster(Forecaster):
    """Global N-HiTS quantile forecaster (pytorch-forecasting); see the module docstring.

    Parameters
    ----------
    settings
        Overrides of :data:`DEFAULTS` (``hidden_size``, ``n_blocks``, ``n_layers``,
        ``learning_rate``, ``batch_size``, ``max_epochs``, ``n_windows``,
        ``n_val_windows``, ``n_threads``, ``future_rain``: ``"nowcast"`` or
        ``"observed"``, ``radar_share``, ``point_embedding``: dimensions of the learnt
        embedding of each point, 0 for none).
    """

    kind = "nhits"
    label = "N-HiTS (pytorch-forecasting)"

    def __init__(self, *, settings: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        unknown = sorted(set(settings or {}) - set(DEFAULTS))
        if unknown:
            raise ForecastError(f"unknown N-HiTS settings {unknown}; use {sorted(DEFAULTS)}.")
        self.settings = {**DEFAULTS, **(settings or {})}
        check_future_rain(str(self.settings["future_rain"]))
        self.net: Any = None
        #: Points of the embedding (the model's points; set when fitted or loaded).
        self.embedded_points = 0

    @property
    def future_rain(self) -> str:
        """The future rain of its training windows (``"nowcast"`` or ``"observed"``)."""
        return str(self.settings["future_rain"])

    @property
    def _embeds(self) -> bool:
        return int(self.settings["point_embedding"]) > 0

    def _build(self) -> Any:
        import torch
        from pytorch_forecasting import NHiTS
        from pytorch_forecasting.metrics import QuantileLoss

        s = self.settings
        n_pts = self.embedded_points if self._embeds else 0
        sizes = {"series": (n_pts, int(s["point_embedding"]))} if n_pts else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return NHiTS.from_dataset(
                template_dataset(self.encoder, self.horizon, n_points=n_pts),
                embedding_sizes=sizes,
                hidden_size=int(s["hidden_size"]),
                n_blocks=list(s["n_blocks"]),
                n_layers=int(s["n_layers"]),
                learning_rate=float(s["learning_rate"]),
                loss=QuantileLoss(quantiles=list(self.quantiles)),
                optimizer="adam",
                log_interval=-1,
                log_val_interval=-1,
                weight_decay=0.0,
                reduce_on_plateau_patience=3,
                logging_metrics=torch.nn.ModuleList([]),
            )

    def _fit(self, data: StormRecords, *, seed: int) -> None:
        import lightning.pytorch as pl
        import torch

        s = self.settings
        rng = np.random.default_rng(seed)
        train = data.select("train") if (data.split == "train").any() else data
        val = data.select("validation") if (data.split == "validation").any() else train
        assert self.points is not None
        static = self.points.static
        self.embedded_points = len(self.points) if self._embeds else 0
        x_train, x_val = (
            network_inputs(
                sample_training_windows(
                    part,
                    int(s[key]),
                    radar_share=float(s["radar_share"]),
                    future_rain=s["future_rain"],
                    rng=rng,
                ),
                static,
                points=self._embeds,
            )
            for part, key in ((train, "n_windows"), (val, "n_val_windows"))
        )
        t0 = time.perf_counter()
        with (
            contextlib.ExitStack() as stack,
            torch_threads(int(s["n_threads"])),
            tempfile.TemporaryDirectory() as tmp,
        ):
            stack.enter_context(_quiet_lightning())
            pl.seed_everything(seed, workers=True, verbose=False)
            torch.use_deterministic_algorithms(True, warn_only=True)
            net = self._build()
            trainer = pl.Trainer(
                max_epochs=int(s["max_epochs"]),
                accelerator="cpu",
                devices=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                default_root_dir=tmp,
                gradient_clip_val=1.0,
                deterministic=True,
                num_sanity_val_steps=0,
            )
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                trainer.fit(
                    net,
                    train_dataloaders=_Batches(
                        x_train, int(s["batch_size"]), shuffle=True, seed=seed
                    ),
                    val_dataloaders=_Batches(x_val, 1024, shuffle=False, seed=seed),
                )
            torch.use_deterministic_algorithms(False)
        net.eval()
        self.net = net
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        self.info.update(
            train_seconds=time.perf_counter() - t0,
            epochs=int(trainer.current_epoch),
            val_loss=metrics.get("val_loss", float("nan")),
            train_windows=int(x_train["encoder_cont"].shape[0]),
            n_parameters=int(sum(p.numel() for p in net.parameters())),
            future_rain=s["future_rain"],
        )
        logger.info("N-HiTS trained: %s", self.info)

    def _predict(self, windows: Windows) -> FloatArray:
        import torch

        assert self.points is not None
        if self.net is None:
            raise ForecastError("the N-HiTS network is missing; fit or load the model.")
        out = []
        with torch_threads(int(self.settings["n_threads"])), torch.no_grad():
            for lo in range(0, len(windows), 8192):
                part = windows.take(np.arange(lo, min(lo + 8192, len(windows))))
                x = network_inputs(part, self.points.static, points=self._embeds)
                pred = self.net(x)["prediction"]
                out.append(pred.numpy().astype(np.float64) / 10.0)
        return np.concatenate(out)

    def get_state(self) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """Settings and the network weights (as float32 arrays)."""
        if self.net is None:
            raise ForecastError("the N-HiTS forecaster is not fitted; nothing to save.")
        weights = {f"net.{k}": v.detach().numpy().copy() for k, v in self.net.state_dict().items()}
        config = {**self._base_config(), "settings": self.settings}
        return {**config, "embedded_points": self.embedded_points}, weights

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, FloatArray]) -> Self:
        """Rebuild the network and load its weights."""
        import torch

        out = cls(
            quantiles=tuple(config["quantiles"]),
            encoder=config["encoder"],
            horizon=config["horizon"],
            settings={**LEGACY, **config["settings"]},
        )
        out.embedded_points = int(config.get("embedded_points", 0))
        net = out._build()
        state = {
            k[4:]: torch.from_numpy(np.asarray(v))
            for k, v in arrays.items()
            if k.startswith("net.")
        }
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ForecastError(
                f"saved N-HiTS weights do not fit the network (missing {missing[:3]}, "
                f"unexpected {unexpected[:3]}); retrain with `twin forecast train`."
            )
        net.eval()
        out.net = net
        return out
