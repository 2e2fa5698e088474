"""The person's world (`rlcraving/Outpatient-v0`): Gymnasium contract, baclofen regimens under
oral dosing, withdrawal, urine detection, clinic measures and bad input."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rlcraving
from rlcraving.envs.outpatient import OutpatientEnv, OutpatientVectorEnv
from rlcraving.outpatient import OBSERVATION_NAMES, SEEK, USE, OutpatientParams, PersonBatch, PersonOptions
from rlcraving.pharmacology import OralTID, Placebo, Titration

ADHERENT = OutpatientParams(adherence=1.0)


def person(regimen, renal: float = 1.0, world: OutpatientParams = ADHERENT, **options) -> PersonBatch:
    """One person with the median traits, on `regimen` from day 0."""
    batch = PersonBatch(1, options=PersonOptions(individual_differences=False, renal_function=renal, **options),
                        world=world)
    batch.start_weeks(np.arange(1), regimen)
    return batch


def live(batch: PersonBatch, hours: int, action: int = 0, switch: dict[int, object] | None = None) -> dict:
    """Step `hours` with one action; `switch` maps an hour to a regimen assigned then. Returns
    hourly concentration (mg/L, at the hour's start), withdrawal and sedation."""
    out = {"conc": [], "withdrawal": [], "sedation": []}
    idx = np.arange(batch.n)
    for h in range(hours):
        if switch and h in switch:
            batch.assign_regimen(idx, switch[h], batch.now_h())
        effects = batch.baclofen_effects()
        out["conc"].append(effects[0, 0])
        out["withdrawal"].append(effects[4, 0])
        out["sedation"].append(effects[3, 0])
        batch.step(np.full(batch.n, action, dtype=np.int64))
        if batch.step_index[0] >= batch.n_steps[0]:
            batch.end_weeks(idx)
            batch.start_weeks(idx)
    return {k: np.array(v) for k, v in out.items()}


# ------------------------------------------------------------------ contract
def test_both_env_checkers_pass_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(rlcraving.OUTPATIENT_ENV_ID, baclofen_mg_per_day=60.0, alcohol=True).unwrapped)
        sb3_check_env(OutpatientEnv(), warn=True)


def test_spaces_meanings_and_render_modes() -> None:
    env = gym.make(rlcraving.OUTPATIENT_ENV_ID, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.action_meanings == ["ordinary_activity", "seek", "use"]
    assert env.unwrapped.observation_names == list(OBSERVATION_NAMES) and obs.shape == (len(OBSERVATION_NAMES),)
    assert env.render().shape == (120, 200, 3)
    text = OutpatientEnv(render_mode="ansi")
    text.reset(seed=0)
    assert "day   0" in text.render()


def test_same_seed_same_numbers_and_the_vector_view_agrees_with_the_single() -> None:
    actions = np.random.default_rng(3).integers(0, 3, size=(160, 3))

    def single(seed: int) -> np.ndarray:
        env = OutpatientEnv(baclofen_mg_per_day=60.0)
        env.reset(seed=seed)
        return np.array([env.step(int(a))[1] for a in actions[:, 0]])

    venv = gym.make_vec(rlcraving.OUTPATIENT_ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                        baclofen_mg_per_day=60.0)
    venv.reset(seed=7)
    rewards = np.array([venv.step(a)[1] for a in actions])
    assert np.array_equal(single(7), single(7))
    assert np.array_equal(single(7), rewards[:, 0])
    assert not np.array_equal(single(8), rewards[:, 0])


def test_a_week_is_an_episode_and_ends_with_its_clinic_summary() -> None:
    env = OutpatientEnv()
    env.reset(seed=1)
    for hour in range(168):
        _, _, terminated, truncated, info = env.step(SEEK if hour % 2 else USE)
    assert truncated and not terminated
    summary = info["week_summary"]
    assert summary["urine_tests"] == 3 and summary["uses"] > 0
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    _, info = env.reset()
    assert info["week"] == 1


def _first_week_summary(env: OutpatientEnv) -> dict[str, float]:
    env.reset(seed=4)
    while True:
        _, _, terminated, truncated, info = env.step(0)
        if terminated or truncated:
            return info["week_summary"]


def test_a_new_person_is_summarised_on_their_own_urine_tests() -> None:
    """After a seeded reset, a new person's week counts the clinic's tests of their own week only (it
    once counted every earlier test of the former person dated after the new week's start: 12 here)."""
    env = OutpatientEnv()
    first = _first_week_summary(env)
    for _ in range(2):   # two more weeks of the same person, then a new one from the same seed
        env.reset()
        while not any(env.step(0)[2:4]):
            pass
    again = _first_week_summary(env)
    assert first["urine_tests"] == 3
    assert again == first


def test_reset_options_are_validated_before_anything_changes() -> None:
    env = OutpatientEnv()
    env.reset(seed=0)
    for options, message in (({"dose": 3}, "unknown key"), ({"baclofen_mg_per_day": -5}, "baclofen_mg_per_day"),
                             ({"baclofen_mg_per_day": 30.0, "baclofen": Placebo()}, "both"),
                             ({"attending": "yes"}, "attending")):
        with pytest.raises((ValueError, TypeError), match=message):
            env.reset(options=options)
    assert env.batch.weeks_done[0] == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"route": "injected"}, "route='injected'"),
    ({"renal_function": 0.0}, "renal_function=0.0"),
    ({"world": {"dt_h": 5.0}}, "world.dt_h"),
    ({"world": {"be_cutoff": 1.0}}, "unknown world parameter"),
    ({"alcohol": 1}, "alcohol=1"),
    ({"baclofen_mg_per_day": 400.0}, "baclofen_mg_per_day=400.0"),
    ({"render_mode": "human"}, "render_mode='human'"),
])
def test_bad_input_is_refused_naming_the_parameter(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        OutpatientEnv(**kwargs)


def test_bad_actions_are_refused() -> None:
    env = OutpatientEnv()
    env.reset(seed=0)
    for action in (3, -1, True):
        with pytest.raises(ValueError, match="action="):
            env.step(action)
    venv = OutpatientVectorEnv(2)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.zeros(3, dtype=np.int64))


# ------------------------------------------------------------------ baclofen in a person
def test_three_doses_a_day_peak_within_hours_decay_with_a_clinical_half_life_and_settle_within_days() -> None:
    trace = live(person(OralTID(60.0, at_steady_state=False)), 24 * 4)
    conc = trace["conc"]
    for dose_hour in (8, 14, 20):
        window = conc[48 + dose_hour: 48 + dose_hour + 6]
        assert 1 <= int(np.argmax(window)) <= 3, dose_hour
    troughs = conc[8::24]   # just before the morning dose, days 0-3
    assert troughs[2] == pytest.approx(troughs[3], rel=0.05)   # steady within two days
    washout = live(person(OralTID(60.0, at_steady_state=False)), 24 * 4, switch={48 + 21: Placebo()})["conc"]
    t = np.arange(48 + 21 + 6, 48 + 21 + 18)
    half_life = -np.log(2.0) / np.polyfit(t, np.log(washout[t]), 1)[0]
    assert 2.0 <= half_life <= 6.0


def test_titration_is_a_staircase_of_five_mg_a_dose_every_three_days() -> None:
    batch = person(Titration(target_mg_per_day=60.0))
    conc = live(batch, 24 * 15)["conc"]
    daily = conc.reshape(15, 24).mean(axis=1)
    steps = daily[2::3]       # the last day of each 3-day step
    assert np.all(np.diff(steps[:4]) > 0)
    assert steps[3] == pytest.approx(steps[4], rel=0.05)   # target (60 mg/day) reached on day 9
    assert batch.doses_taken[0] == 3 * 15 and batch.missed_doses[0] == 0


def test_renal_impairment_raises_levels_and_missed_doses_lower_them() -> None:
    normal = live(person(OralTID(60.0, at_steady_state=False)), 24 * 5)["conc"][72:].mean()
    impaired = live(person(OralTID(60.0, at_steady_state=False), renal=0.3), 24 * 5)["conc"][72:].mean()
    assert impaired > 1.5 * normal
    forgetful = person(OralTID(60.0, at_steady_state=False), world=OutpatientParams(adherence=0.5))
    assert live(forgetful, 24 * 5)["conc"][72:].mean() < 0.8 * normal
    assert forgetful.missed_doses[0] > 0


def test_alcohol_adds_to_sedation() -> None:
    sober = live(person(OralTID(60.0)), 24)["sedation"]
    drinking = live(person(OralTID(60.0), world=ADHERENT.replace(drinking_days_per_week=7.0), alcohol=True), 24)
    evening = slice(19, 23)
    assert np.all(drinking["sedation"][evening] > sober[evening])
    assert np.array_equal(drinking["sedation"][:19], sober[:19])


def test_a_persons_numbers_do_not_depend_on_who_else_is_in_the_batch() -> None:
    """Person 0 alone and among seven others who use intranasally and drink: the same sedation, depot
    and brain level, hour by hour, bit for bit (a depot's tail and alcohol's sedation are each
    person's own)."""
    world = ADHERENT.replace(drinking_days_per_week=7.0)
    options = PersonOptions(individual_differences=False, route="intranasal", alcohol=True)
    alone, crowd = (PersonBatch(n, options=options, world=world) for n in (1, 8))
    for batch in (alone, crowd):
        batch.start_weeks(np.arange(batch.n), OralTID(60.0))
    rng = np.random.default_rng(0)
    for hour in range(24 * 10):
        others = rng.integers(0, 3, 7)
        mine = USE if hour % 24 == 12 else SEEK if hour % 24 == 11 else 0
        trajectories = []
        for batch, actions in ((alone, [mine]), (crowd, [mine, *others])):
            if batch is crowd:
                batch.drinking[1:] = True   # the others drink every hour
            obs, reward, _, _ = batch.step(np.array(actions, dtype=np.int64))
            trajectories.append((batch.baclofen_effects()[3, 0], batch.ip_depot[0], batch.cocaine[0], reward[0],
                                 obs[0].tobytes()))
        assert trajectories[0] == trajectories[1], f"hour {hour}"


def test_withdrawal_peaks_days_after_an_abrupt_stop_is_small_after_a_taper_and_relieved_by_restarting() -> None:
    stop_h = 24 * 21
    abrupt = live(person(Titration(target_mg_per_day=60.0)), stop_h + 24 * 6, switch={stop_h: Placebo()})
    peak_day = np.argmax(abrupt["withdrawal"][stop_h:]) / 24.0
    assert 1.0 <= peak_day <= 3.0
    taper = live(person(Titration(target_mg_per_day=60.0, stop_day=21, taper_days=14)), stop_h + 24 * 16)
    assert taper["withdrawal"][stop_h:].max() < 0.5 * abrupt["withdrawal"][stop_h:].max()
    restarted = live(person(Titration(target_mg_per_day=60.0)), stop_h + 24 * 6,
                     switch={stop_h: Placebo(), stop_h + 24: OralTID(60.0, at_steady_state=False)})
    later = slice(stop_h + 48, stop_h + 72)
    assert restarted["withdrawal"][later].max() < 0.5 * abrupt["withdrawal"][later].max()


def test_an_abrupt_stop_is_reported_as_a_withdrawal_syndrome() -> None:
    stop_h = 24 * 21
    batch = person(Titration(target_mg_per_day=60.0))
    live(batch, stop_h)
    assert batch.adverse_counts[0, 3] == 0
    live(batch, 24 * 4, switch={0: Placebo()})
    assert batch.adverse_counts[0, 3] >= 1


# ------------------------------------------------------------------ clinic measures
def test_urine_benzoylecgonine_detects_one_use_for_two_to_three_days_and_heavy_use_longer() -> None:
    world = OutpatientParams()
    batch = PersonBatch(2, options=PersonOptions(individual_differences=False), world=world)
    batch.start_weeks(np.arange(2))
    batch.at_hand[:] = 10.0
    uses = [np.array([USE, USE])] + [np.array([0, USE])] * 5   # one use vs six in a row
    for _ in range(8):
        batch.step(np.zeros(2, dtype=np.int64))          # 00:00-07:59 asleep
    for a in uses:
        batch.step(a.astype(np.int64))
    positive_hours = np.zeros(2)
    for _ in range(24 * 8):
        positive_hours += batch.benzoylecgonine >= world.be_cutoff_mg
        batch.step(np.zeros(2, dtype=np.int64))
    days = positive_hours / 24.0
    assert 2.0 <= days[0] <= 3.0
    assert days[1] >= days[0] + 1.0


def test_visits_are_monday_wednesday_friday_with_craving_on_a_0_to_100_scale() -> None:
    batch = PersonBatch(4, options=PersonOptions())
    batch.record_visits = True
    batch.start_weeks(np.arange(4))
    for _ in range(168):
        batch.step(np.full(4, SEEK, dtype=np.int64))
    days = [int(v["hour"][0] // 24) for v in batch.visits]
    assert days == [0, 2, 4]
    craving = np.concatenate([v["craving"] for v in batch.visits])
    assert np.all((craving >= 0) & (craving <= 100))


def test_the_person_page_documents_every_world_parameter_and_is_linked_from_the_model() -> None:
    from pathlib import Path

    from rlcraving import docs
    page = (Path(docs.MODEL_MD).parent / "outpatient.md").read_text(encoding="utf-8")
    assert docs.parameters_table(OutpatientParams) in page, "regenerate the table in docs/outpatient.md"
    assert "outpatient.md" in Path(docs.MODEL_MD).read_text(encoding="utf-8")


def test_td_agents_live_in_the_persons_world_through_the_same_api() -> None:
    from rlcraving.agents.td import make_agent
    from rlcraving.random import subject_keys

    def weeks(n_weeks: int) -> tuple[np.ndarray, np.ndarray]:
        batch = PersonBatch(30)
        everyone = np.arange(30)
        batch.new_subjects(everyone, subject_keys(4, everyone))
        batch.start_weeks(everyone)
        agent = make_agent("q_learning", batch, {"discount_time_s": 3 * 3600.0, "operant_presses_per_h": 0.1},
                           individual_differences=True)
        agent.new_subjects(everyone)
        agent.begin(everyone)
        for _ in range(n_weeks * 168):
            obs, reward, terminated, truncated = batch.step(agent.actions)
            agent.learn(obs, reward, terminated | truncated)
            if truncated.all():
                batch.end_weeks(everyone)
                batch.start_weeks(everyone)
                agent.begin(everyone)
        return batch.total_infusions.copy(), agent.weights.copy()

    uses, weights = weeks(2)
    assert agent_features_named_by_the_world()
    assert uses.sum() > 0 and np.array_equal(weeks(2)[1], weights)


def agent_features_named_by_the_world() -> bool:
    from rlcraving.agents.features import features_of
    features = features_of(PersonBatch(1))
    return features.names[:len(PersonBatch.feature_names)] == PersonBatch.feature_names


def test_stress_slows_the_extinction_a_cue_met_without_using_teaches_as_in_the_chamber() -> None:
    """The person's cue exposure is a Rescorla-Wagner extinction trial of the shared organism: under KOR
    activation it learns less inhibition (stress impairs extinction learning), by the factor the chamber's
    unreinforced drug trials use (`organism.extinction_learning`)."""
    from rlcraving import pavlovian as pav
    from rlcraving.organism import drug_trial, extinction_learning

    batch = PersonBatch(2, options=PersonOptions(individual_differences=False), world=ADHERENT)
    batch.start_weeks(np.arange(2), Placebo())
    batch.E[:, pav.DRUG_CUE, pav.DRUG] = 0.8   # a cue that predicts the drug
    batch._refresh_values(np.arange(2))
    batch.kor[:] = (0.0, 3.0)
    before = batch.I.copy()
    # the trial of a cue met without using, as the compiled hour gives it (`outpatient._world_hour`)
    x, other = np.array([1.0, 1.0, 0.0, 0.0]), np.empty(4)
    for i in range(2):
        x[2] = batch.occupancy[i]
        drug_trial(i, x, 0.0, 1.0, batch.params.extinction_generality, batch.params.extinction_retrieval_kor,
                   batch._levels, batch._constants, batch._excitation, batch._inhibition, batch._elsewhere,
                   batch._inhibition_old, other)
    batch._stale = True   # the cached slots are written back into E and I when read
    learnt = (batch.I - before).reshape(2, -1).sum(axis=1)
    assert learnt[0] > 0.0 and 0.0 < learnt[1] < learnt[0]
    p = batch.params
    expected = extinction_learning(3.0, p.extinction_generality, p.extinction_retrieval_kor)
    assert learnt[1] / learnt[0] == pytest.approx(expected, rel=1e-6)


def test_a_batch_keeps_no_visit_records_unless_asked_while_its_week_counts_go_on() -> None:
    """An environment steps for millions of hours: its batch must not grow a list a visit."""
    batch = PersonBatch(4, options=PersonOptions())
    batch.start_weeks(np.arange(4))
    for _ in range(168):
        batch.step(np.full(4, SEEK, dtype=np.int64))
    assert batch.visits == []
    assert batch.week_tests.sum() == 3 * 4          # three visits a week, everyone attending
