"""Neural posterior estimation (sbi's NPE; Papamakarios & Murray 2016, Greenberg et al. 2019),
amortised over subjects: trained once per protocol on prior simulations, then applied to every
subject's summaries.

Training drops simulations that failed or gave non-finite counts before sbi sees them (and
counts them: a share above `max_invalid_fraction` is an error), and drops features that no
simulation varies (a count that is always 0, such as infusions in extinction), which carry no
information and cannot be standardised.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlcraving.fit.simulate import TRAINING, Simulator, draw_prior, model_digest, summaries
from rlcraving.fit.spec import FitSpec, FreeParameter


class FitError(ValueError):
    """A fit that cannot go on (too many failed simulations, summaries that carry no information)."""


class _NoTracker:
    """sbi's training tracker that keeps nothing (sbi's default writes TensorBoard logs to the working folder)."""

    log_dir = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Nothing is kept."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Nothing is kept."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Nothing is kept."""

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None:
        """Nothing is kept."""

    def flush(self) -> None:
        """Nothing is kept."""


def prior_distribution(free: list[FreeParameter]) -> torch.distributions.Distribution:
    """The prior of the log-parameters: independent normals (the documented log-normal spreads)."""
    mu = torch.tensor([p.mu for p in free], dtype=torch.float32)
    sigma = torch.tensor([p.sigma for p in free], dtype=torch.float32)
    return torch.distributions.Independent(torch.distributions.Normal(mu, sigma), 1)


@dataclass
class Estimator:
    """A trained posterior of log-parameters given a subject's summaries."""

    posterior: Any
    features: np.ndarray            # indices of the summaries the estimator reads
    feature_range: np.ndarray       # (2, summaries): lowest and highest value in the training simulations
    parameters: list[str]
    digest: str
    training: dict[str, Any] = field(default_factory=dict)   # simulations, failures, epochs, seconds

    def sample(self, x: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
        """Posterior draws of log-parameters for each row of summaries `x`: (subjects, draws, parameters)."""
        torch.manual_seed(seed)
        xt = torch.as_tensor(x[:, self.features], dtype=torch.float32)
        out = []
        with torch.no_grad():
            for chunk in torch.split(xt, max(1, 2_000_000 // n_samples)):
                # the prior's support is every real vector: no draw needs rejecting
                draws = self.posterior.sample_batched((n_samples,), x=chunk, show_progress_bars=False,
                                                      reject_outside_prior=False,
                                                      max_sampling_batch_size=max(1, 100_000 // len(chunk)))
                out.append(draws.permute(1, 0, 2).numpy().astype(float))
        return np.concatenate(out)

    def outside(self, x: np.ndarray) -> np.ndarray:
        """Per row of summaries: how many lie outside the range the training simulations spanned."""
        lo, hi = self.feature_range
        return ((x < lo) | (x > hi)).sum(axis=1)

    def save(self, path: Path) -> None:
        """Write the estimator (torch pickle)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(self, tmp)
        tmp.replace(path)


def load_estimator(path: Path, digest: str) -> Estimator | None:
    """The estimator saved at `path` if it was trained for `digest`, else None."""
    if not path.exists():
        return None
    try:
        estimator = torch.load(path, weights_only=False)
    except Exception:  # an unreadable saved estimator is retrained, never trusted
        return None
    return estimator if isinstance(estimator, Estimator) and estimator.digest == digest else None


def train(spec: FitSpec, *, progress: Callable[[str], None] | None = None) -> Estimator:
    """Simulate `spec.simulations` subjects from the prior and train the posterior estimator."""
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn

    say = progress or (lambda _message: None)
    free = spec.free()
    start = time.perf_counter()
    theta = draw_prior(free, spec.simulations, spec.seed, TRAINING)
    say(f"simulating {spec.simulations} subjects from the prior ...")
    sims = Simulator(spec).simulate(theta, TRAINING)
    simulated = time.perf_counter()
    x = summaries(sims.counts)
    invalid = sims.failed | ~np.isfinite(x).all(axis=1)
    n_invalid = int(invalid.sum())
    if n_invalid > spec.max_invalid_fraction * len(x):
        detail = f"; {sims.errors[0]}" if sims.errors else ""
        raise FitError(f"{n_invalid} of {len(x)} training simulations failed or gave non-finite counts, more than "
                       f"max_invalid_fraction={spec.max_invalid_fraction}{detail}")
    theta, x = theta[~invalid], x[~invalid]
    features = np.flatnonzero(x.std(axis=0) > 0)
    if not features.size:
        raise FitError("every summary is the same in every simulation: the measures carry no information")
    say(f"training the posterior estimator on {len(x)} simulations ({n_invalid} failed and dropped; "
        f"{features.size} of {x.shape[1]} summaries vary) ...")
    torch.manual_seed(spec.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.training.threads)
    try:
        t = spec.training
        builder = posterior_nn(model=t.estimator, hidden_features=t.hidden_features, num_transforms=t.transforms)
        npe = NPE(prior=prior_distribution(free), density_estimator=builder, show_progress_bars=False,
                  tracker=_NoTracker())
        npe.append_simulations(torch.as_tensor(theta, dtype=torch.float32),
                               torch.as_tensor(x[:, features], dtype=torch.float32), exclude_invalid_x=False)
        net = npe.train(training_batch_size=t.batch_size, learning_rate=t.learning_rate,
                        stop_after_epochs=t.stop_after_epochs, max_num_epochs=t.max_epochs)
        posterior = npe.build_posterior(net)
    finally:
        torch.set_num_threads(threads)
    summary = npe.summary
    training = {"simulations": spec.simulations, "failed": n_invalid, "errors": sims.errors,
                "summaries": int(x.shape[1]), "summaries_used": int(features.size),
                "epochs": int(summary["epochs_trained"][-1]),
                "best_validation_loss": float(summary["best_validation_loss"][-1]),
                "simulation_s": simulated - start, "training_s": time.perf_counter() - simulated}
    span = np.stack([x.min(axis=0), x.max(axis=0)])
    return Estimator(posterior, features, span, [p.name for p in free], spec.estimator_digest(model_digest()),
                     training)


def trained_estimator(spec: FitSpec, path: Path, *, retrain: bool = False,
                      progress: Callable[[str], None] | None = None) -> tuple[Estimator, bool]:
    """The estimator for `spec`: the one saved at `path` if it matches (spec and model code), else a
    newly trained one, saved there. Returns (estimator, whether it was trained now)."""
    digest = spec.estimator_digest(model_digest())
    if not retrain:
        estimator = load_estimator(path, digest)
        if estimator is not None:
            return estimator, False
    estimator = train(spec, progress=progress)
    estimator.save(path)
    return estimator, True
