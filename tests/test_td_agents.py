"""The TD agents: update rules, baclofen gating, parameters, features and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from rlcraving.agents.features import OCCUPANCY_CENTRES, Features, linear, sequential_linear
from rlcraving.agents.td import (
    AGENTS,
    ActorCritic,
    Dezfouli,
    QLearning,
    Redish,
    TDAgent,
    describe_parameters,
    make_agent,
)
from rlcraving.core import ACTIVE, OBSERVATION_NAMES, OTHER, SubjectBatch, SubjectOptions
from rlcraving.protocol import session
from rlcraving.random import subject_keys

SA = session("self_administration")


def _batch(n: int, *, individual_differences: bool = False, seed: int = 0,
           settings=SA) -> SubjectBatch:
    batch = SubjectBatch(n, options=SubjectOptions(individual_differences=individual_differences))
    batch.new_subjects(np.arange(n), subject_keys(seed, np.arange(n)))
    batch.start_sessions(np.arange(n), settings, first=True)
    return batch


def _agent(kind: type[TDAgent] | str, batch: SubjectBatch, **params: float) -> TDAgent:
    agent = make_agent(kind if isinstance(kind, str) else kind.name, batch, params or None,
                       individual_differences=batch.options.individual_differences)
    agent.new_subjects(np.arange(batch.n))
    agent.begin(np.arange(batch.n))
    return agent


def _step(batch: SubjectBatch, agent: TDAgent, actions: np.ndarray | None = None) -> np.ndarray:
    """One step with the agent's own actions (or forced ones); returns the learning signal."""
    if actions is not None:
        agent.actions = np.asarray(actions, dtype=np.int64).copy()
    obs, reward, terminated, truncated = batch.step(agent.actions)
    return agent.learn(obs, reward, terminated | truncated)


# ---------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [1, 2, 3, 7, 64])
def test_linear_sums_features_in_one_order_whatever_the_number_of_subjects(m, dtype):
    rng = np.random.default_rng(m)
    weights, phi = rng.standard_normal((3, 11, m)).astype(dtype), rng.random((11, m)).astype(dtype)
    assert np.array_equal(linear(weights, phi), sequential_linear(weights, phi))
    assert np.array_equal(linear(weights[0], phi), sequential_linear(weights[0], phi))


def test_features_are_the_observation_with_coded_occupancy():
    features = Features(sucrose_lever=False)
    obs = np.random.default_rng(0).random((5, len(OBSERVATION_NAMES))).astype(np.float32)
    centre = OCCUPANCY_CENTRES[2]
    obs[0, OBSERVATION_NAMES.index("drug_occupancy")] = centre
    phi = features(obs, np.empty((len(features), 5)))
    for name in ("drug_cue", "dysphoria", "incentive", "context_B"):
        assert np.array_equal(phi[features.names.index(name)], obs[:, OBSERVATION_NAMES.index(name)])
    assert "session_time" not in features.names and "sucrose_cue" not in features.names
    bumps = phi[[features.names.index(f"occupancy_{c:g}") for c in OCCUPANCY_CENTRES]]
    assert bumps[2, 0] == pytest.approx(1.0) and np.all(bumps[[0, 4], 0] < 0.01)
    assert np.all((bumps > 0) & (bumps <= 1))
    # the bumps act as a bias that depends on the drug state: their sum is nearly constant
    grid = np.zeros((101, len(OBSERVATION_NAMES)), dtype=np.float32)
    grid[:, OBSERVATION_NAMES.index("drug_occupancy")] = np.linspace(0, 1, 101)
    total = features(grid, np.empty((len(features), 101)))[-len(OCCUPANCY_CENTRES):].sum(axis=0)
    assert np.all((total > 1.1) & (total < 1.3))
    assert "sucrose_lever_present" in Features(sucrose_lever=True).names


# ---------------------------------------------------------------------------------------
# Update rules
# ---------------------------------------------------------------------------------------


def _drug_expected(kind: type[TDAgent]) -> tuple[np.ndarray, np.ndarray]:
    """Drug-free subjects whose values expect far more than a dose get one (pressed the step before;
    the drug reaches the brain a step after the press).

    Returns (learning signal, the drug's dopamine surge D) of the step the drug arrives.
    """
    batch = _batch(4)
    agent = _agent(kind, batch)
    _step(batch, agent, np.full(4, ACTIVE))
    drug_free = agent.features.names.index("occupancy_0")
    agent.weights[OTHER, drug_free] = 5.0    # Q(drug-free, other) far above what one infusion is worth
    agent.begin(np.arange(4))
    signal = _step(batch, agent, np.full(4, OTHER))
    return signal, batch.components["drug_dopamine"].copy()


def test_redish_drug_surge_cannot_be_predicted_away():
    signal, surge = _drug_expected(Redish)
    assert np.all(surge > 0.1)
    assert np.all(signal >= surge)                 # delta = max(delta0 + D, D) >= D
    q_signal, _ = _drug_expected(QLearning)
    assert np.all(q_signal < 0)                    # an ordinary learner is disappointed


def test_redish_is_ordinary_td_without_the_drug():
    """With no drug surge (extinction) the Redish error is Q-learning's, step for step."""
    extinction = session("extinction")
    signals = []
    for kind in (QLearning, Redish):
        batch = _batch(6, settings=extinction)
        agent = _agent(kind, batch)
        signals.append(np.array([_step(batch, agent).copy() for _ in range(200)]))
    assert np.array_equal(signals[0], signals[1])
    assert np.any(signals[0] < 0)


def test_dezfouli_with_a_frozen_baseline_is_undiscounted_redish():
    runs = {}
    for name, kind, params in (("redish", Redish, {"discount_time_s": 1e6, "value_sharing": 0.0}),
                               ("dezfouli0", Dezfouli, {"baseline_time_min": 1e6, "allostasis_weight": 0.0}),
                               ("dezfouli", Dezfouli, {})):
        batch = _batch(5)
        agent = _agent(kind, batch, **params)
        runs[name] = np.array([_step(batch, agent).copy() for _ in range(300)])
        if name == "dezfouli":
            assert np.any(agent.average_reward != 0.0)
    # a baseline adapting over ~2 years is no baseline within a session
    assert np.allclose(runs["redish"], runs["dezfouli0"], rtol=0, atol=1e-4)
    assert not np.allclose(runs["redish"], runs["dezfouli"], rtol=0, atol=1e-3)


def test_actor_critic_preferences_change_by_the_policy_gradient():
    """sum_b (1[b = a] - pi_b) = 0: the actor's updates leave the sum over actions of its weights at 0,
    so an outcome no action controls does not favour the actions the subject rarely takes."""
    batch = _batch(8)
    agent = _agent(ActorCritic, batch)
    for _ in range(400):
        _step(batch, agent)
    size = np.abs(agent.weights).max()
    assert size > 1e-3
    assert np.abs(agent.weights.sum(axis=0)).max() < 1e-5 * size   # zero up to float32 rounding
    assert np.abs(agent.critic).max() > 1e-3


@pytest.mark.parametrize("kind", [QLearning, ActorCritic, Redish])
def test_baclofen_gain_scales_positive_errors_only(kind):
    """Fresh subjects press once: the drug lever gives a positive error, the inactive lever (effort
    only) a negative one. Halving the dopamine gain halves the first and leaves the second."""
    for lever, positive in ((ACTIVE, True), (2, False)):
        signals = []
        for gain in (1.0, 0.5):
            batch = _batch(4)
            agent = _agent(kind, batch)
            agent.actions = np.full(4, lever)
            obs, reward, terminated, truncated = batch.step(agent.actions)
            batch.dopamine_gain = np.full(4, gain)
            signals.append(agent.learn(obs, reward, terminated | truncated).copy())
        full, damped = signals
        assert np.all(full > 0) if positive else np.all(full < 0)
        expected = 0.5 * full if positive else full
        assert np.allclose(damped, expected, rtol=1e-12, atol=0)


def test_baclofen_gates_dezfoulis_phasic_error_not_its_tonic_baseline():
    """Average-reward TD (Dezfouli et al. 2009): the average reward is a tonic baseline, not a burst, so
    baclofen's gain scales only the phasic part. A subject doing nothing, with no reward and zero values,
    learns -baseline whatever the gain (gating the whole error made baclofen raise extinguished pressing)."""
    signals = []
    for gain in (1.0, 0.4):
        batch = _batch(4, settings=session("extinction"))
        agent = _agent(Dezfouli, batch)
        agent.average_reward[:] = -0.01    # extinction: the press cost has made the average reward negative
        agent.actions = np.full(4, OTHER)
        obs, reward, terminated, truncated = batch.step(agent.actions)
        batch.dopamine_gain = np.full(4, gain)
        signals.append(agent.learn(obs, reward, terminated | truncated).copy())
    assert np.allclose(signals[0], 0.01, atol=1e-6)
    assert np.array_equal(signals[0], signals[1])


def test_baclofen_gain_slows_learning_from_the_drug():
    batches = [_batch(16), _batch(16)]
    agents = [_agent(QLearning, b) for b in batches]
    for _ in range(60):
        for batch, agent, gain in zip(batches, agents, (1.0, 0.4), strict=True):
            obs, reward, terminated, truncated = batch.step(np.full(batch.n, ACTIVE))
            batch.dopamine_gain = np.full(batch.n, gain)
            agent.actions = np.full(batch.n, ACTIVE)
            agent.learn(obs, reward, terminated | truncated)
    context = Features(False).names.index("context_A")
    assert agents[1].weights[ACTIVE, context].mean() < 0.8 * agents[0].weights[ACTIVE, context].mean()


def test_pavlovian_bias_adds_active_lever_approach_in_proportion_to_incentive():
    batch = _batch(2000)
    counts = {}
    for omega in (0.0, 4.0):
        agent = _agent(QLearning, batch, pavlovian_weight=omega)
        values = np.zeros((batch.n_actions, batch.n))
        counts[omega] = [np.mean(agent._choose(values.copy(), np.full(batch.n, u)) == ACTIVE) for u in (0.0, 0.5)]
    assert counts[0.0][0] == pytest.approx(counts[0.0][1])
    assert counts[4.0][1] > 3 * counts[4.0][0]


def test_operant_level_sets_the_untrained_press_rate():
    batch = _batch(4000)
    agent = _agent(QLearning, batch, operant_presses_per_h=30.0)
    chosen = agent._choose(np.zeros((batch.n_actions, batch.n)), np.zeros(batch.n))
    per_hour = np.mean(chosen == ACTIVE) * 3600.0 / batch.params.dt_s
    assert 20.0 < per_hour < 40.0
    assert np.mean(chosen == OTHER) > 0.9


def test_homeostatic_reward_is_drive_reduction_towards_the_set_point():
    """An infusion that brings occupancy to its set point is rewarding; one that overshoots a zero
    set point is not (Keramati et al. 2017)."""
    gains = {}
    for setpoint in (0.0, 0.5):
        batch = _batch(3)
        agent = _agent(QLearning, batch, homeostatic_weight=1.0, homeostatic_setpoint=setpoint)
        gains[setpoint] = np.zeros(3)
        for action in (ACTIVE, OTHER):   # the drug reaches the brain the step after the press
            _, reward, *_ = batch.step(np.full(3, action))
            gains[setpoint] += agent._reward(reward) - (reward - batch.components["relief"])
    assert np.all(gains[0.5] > 0) and np.all(gains[0.0] < 0)


# ---------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------


def test_parameters_are_fixed_without_individual_differences():
    agent = _agent(QLearning, _batch(5))
    assert np.all(agent.parameter("learning_rate") == QLearning.PARAMETERS["learning_rate"].default)


def test_individual_parameters_are_lognormal_around_the_default():
    batch = _batch(3000, individual_differences=True)
    agent = _agent(QLearning, batch, learning_rate=0.04)
    for name, spec in QLearning.PARAMETERS.items():
        if spec.sigma == 0:
            assert np.all(agent.parameter(name) == spec.default)
            continue
        values = np.log(agent.parameter(name))
        median = 0.04 if name == "learning_rate" else spec.default
        assert np.median(values) == pytest.approx(np.log(median), abs=0.05 + 0.05 * spec.sigma)
        assert np.std(values) == pytest.approx(spec.sigma, rel=0.1)


def test_a_subjects_parameters_do_not_depend_on_the_cohort_size():
    small = _agent(QLearning, _batch(3, individual_differences=True, seed=9))
    large = _agent(QLearning, _batch(50, individual_differences=True, seed=9))
    for name in ("learning_rate", "inverse_temperature", "pavlovian_weight", "discount_time_s"):
        assert np.array_equal(small.parameter(name), large.parameter(name)[:3])
        assert np.unique(large.parameter(name)).size > 40


@pytest.mark.parametrize("params, error, words", [
    ({"learning_rat": 0.1}, ValueError, ["learning_rat", "learning_rate"]),
    ({"learning_rate": 1.5}, ValueError, ["learning_rate", "1.5", "[0.0, 1.0]"]),
    ({"inverse_temperature": "hot"}, TypeError, ["inverse_temperature", "hot", "number"]),
    ({"homeostatic_weight": 1.0, "drive_n": 2.0, "drive_m": 3.0}, ValueError, ["drive_n", "drive_m"]),
])
def test_bad_agent_parameters_are_named(params, error, words):
    with pytest.raises(error) as info:
        make_agent("q_learning", _batch(1), params)
    for word in words:
        assert word in str(info.value)


def test_bad_agent_names_and_batches_are_named():
    with pytest.raises(ValueError, match=r"'q_learner'.*actor_critic"):
        make_agent("q_learner", _batch(1))
    with pytest.raises(TypeError, match="agent=3"):
        make_agent(3, _batch(1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SubjectBatch"):
        QLearning(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="baseline_time_min"):
        make_agent("q_learning", _batch(1), {"baseline_time_min": 10.0})  # a dezfouli-only parameter
    with pytest.raises(ValueError, match="no parameter 'nope'"):
        _agent(QLearning, _batch(1)).parameter("nope")


def test_every_agent_documents_its_parameters():
    assert set(AGENTS) == {"q_learning", "sarsa", "actor_critic", "redish", "dezfouli"}
    for name, cls in AGENTS.items():
        assert cls.__doc__ and "delta" in cls.__doc__
        for key, info in describe_parameters(name).items():
            lo, hi = info["range"]
            assert lo <= info["default"] <= hi, key
            assert info["unit"] is not None and info["source"], key


# ---------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_same_subject_same_numbers_alone_or_in_a_cohort(name):
    traces = []
    for n in (1, 4):
        batch = _batch(n, individual_differences=True, seed=5)
        agent = _agent(name, batch)
        traces.append(np.array([(_step(batch, agent)[0], agent.actions[0]) for _ in range(400)]))
        traces[-1] = np.concatenate([traces[-1].ravel(), agent.weights[..., 0].ravel()])
    assert np.array_equal(traces[0], traces[1])


def test_docs_list_every_parameter_with_its_default():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "agents.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0] in {k for cls in AGENTS.values() for k in cls.PARAMETERS}:
            rows.setdefault(cells[0], set()).add(float(cells[2]))
    for cls in AGENTS.values():
        for name, spec in cls.PARAMETERS.items():
            assert spec.default in rows.get(name, set()), f"docs/agents.md lacks {name} = {spec.default}"


@pytest.mark.parametrize("kind", sorted(AGENTS))
def test_the_compulsion_zone_in_the_policy(kind: str) -> None:
    """The TD policy carries the compulsion zone (docs/agents.md): no drug-lever press at or above the
    satiety level, ln(1 + rate c / operant level) more log-odds between the thresholds, nothing below
    the priming threshold; without it every level gives the operant rate."""
    batch = _batch(4000)
    p = batch.params
    rates = {}
    for zone in (False, True):
        agent = make_agent(kind, batch, {"operant_presses_per_h": 30.0}, compulsion_zone=zone)
        agent.new_subjects(np.arange(batch.n))
        for level in (0.5 * p.priming_threshold_mg_per_kg, 1.0, 2.0 * p.satiety_threshold_mg_per_kg):
            batch.cocaine[:] = level
            batch.occupancy[:] = level / (level + p.cocaine_k50_mg_per_kg)
            batch.wanting[:] = 1.0
            chosen = agent._choose(np.zeros((batch.n_actions, batch.n), dtype=np.float32), np.zeros(batch.n))
            rates[zone, level] = np.mean(chosen == ACTIVE) * 3600.0 / p.dt_s
    low, mid, high = 0.5 * p.priming_threshold_mg_per_kg, 1.0, 2.0 * p.satiety_threshold_mg_per_kg
    assert all(20.0 < rates[False, level] < 40.0 for level in (low, mid, high))
    assert 20.0 < rates[True, low] < 40.0 and rates[True, high] == 0.0
    expected = 30.0 + 0.5 * p.compulsion_rate_per_h   # w = 1: c = 1/2
    assert rates[True, mid] == pytest.approx(expected, rel=0.25)


def test_the_compulsion_zone_needs_a_chamber() -> None:
    """The zone acts on the chamber's drug lever; a world without one refuses it by name."""
    from rlcraving.outpatient import PersonBatch

    with pytest.raises(ValueError, match="compulsion_zone"):
        make_agent("q_learning", PersonBatch(2), compulsion_zone=True)
