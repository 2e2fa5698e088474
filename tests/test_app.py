"""The classroom app: its lesson logic, and its page driven through Streamlit's testing API."""

from __future__ import annotations

import numpy as np
import pytest

from rlcraving.app import lesson as classroom

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
from rlcraving.app import PAGE, streamlit_command  # noqa: E402

SMALL = dict(subjects=4, acquisition_days=3, extinction_days=2)


@pytest.fixture(scope="module")
def small() -> classroom.LessonResult:
    return classroom.simulate(classroom.Lesson(**SMALL))


def test_lesson_arms_share_history_and_part_at_the_test(small):
    result = small
    les = result.lesson
    for day in range(les.test_day):
        assert np.array_equal(result.presses(day, 0.0), result.presses(day, 5.0))
    assert set(result.table["condition"]) == {les.arm_name(d) for d in les.doses}
    assert list(result.dose_response["dose"]) == list(les.doses)
    assert result.dose_response["mean"].iloc[0] == pytest.approx(result.presses(les.test_day).mean())
    subject = result.typical_subject()
    test = result.presses(les.test_day)
    assert abs(test[subject] - np.median(test)) == np.abs(test - np.median(test)).min()


def test_lesson_events_count_the_table(small):
    result = small
    les = result.lesson
    ev = result.events
    placebo = ev[(ev["condition"] == "placebo") & (ev["day"] == les.test_day) & (ev["event"] == "active_presses")]
    per_subject = placebo.groupby("subject").size().reindex(range(les.subjects), fill_value=0).to_numpy()
    assert np.array_equal(per_subject, result.presses(les.test_day))


#: The PPO's lived histories of this module's lessons (as the app keeps them).
PPO_HISTORIES: dict = {}


@pytest.fixture(scope="module")
def small_ppo() -> classroom.LessonResult:
    return classroom.simulate(classroom.Lesson(agent=classroom.PRETRAINED_PPO, **SMALL), histories=PPO_HISTORIES)


def test_another_ppo_test_after_the_same_history_lives_only_the_test(small_ppo, monkeypatch):
    """A lesson that differs only in its test reuses the lived history (acquisition and extinction
    are not run again) and gets the same history's numbers; the numbers of a history that is reused
    are those of a fresh run (tests/test_pretrained.py)."""
    from rlcraving.agents import pretrained

    def no_history(*args, **kwargs):
        raise AssertionError("the history was lived again")

    monkeypatch.setattr(pretrained, "live_history", no_history)
    stressed = classroom.Lesson(agent=classroom.PRETRAINED_PPO, stress_mA=0.5, abstinence_days=30.0, **SMALL)
    assert stressed.history_key() == small_ppo.lesson.history_key() and len(PPO_HISTORIES) == 1
    told: list[tuple[int, int]] = []
    result = classroom.simulate(stressed, report=lambda done, total: told.append((done, total)),
                                histories=PPO_HISTORIES)
    les = result.lesson
    for day in range(les.test_day):
        assert np.array_equal(result.presses(day), small_ppo.presses(day))
    assert told[0][0] >= les.test_day and told[-1] == (les.test_day + len(les.doses),) * 2


def test_the_pretrained_ppo_lives_the_lesson_as_the_td_agents_do(small_ppo):
    """Same tables as a TD lesson: arms share the history, events count the table, the traces the
    figures draw are there; the panel says where the PPO comes from."""
    result = small_ppo
    les = result.lesson
    for day in range(les.test_day):
        assert np.array_equal(result.presses(day, 0.0), result.presses(day, 5.0))
    assert not np.array_equal(result.presses(les.test_day, 0.0), result.presses(les.test_day, 5.0))
    ev = result.events
    placebo = ev[(ev["condition"] == "placebo") & (ev["day"] == les.test_day) & (ev["event"] == "active_presses")]
    per_subject = placebo.groupby("subject").size().reindex(range(les.subjects), fill_value=0).to_numpy()
    assert np.array_equal(per_subject, result.presses(les.test_day))
    signals = set(result.traces["signal"])
    assert {"cue_locked_prediction_error", "cue_locked_drug_dopamine"} <= signals
    assert set(result.traces["day"]) == {0, les.acquisition_days - 1, les.test_day}
    text = " ".join(classroom.what_is_happening(result, 2.5))
    record = pretrained_record()
    assert "PPO" in text and f"{record['per_session_means']['active_presses'][0]:.1f} active" in text


def pretrained_record() -> dict:
    from rlcraving.agents.pretrained import training_record

    return training_record()


def test_lesson_is_reproducible(small):
    again = classroom.simulate(classroom.Lesson(**SMALL))
    assert small.table.equals(again.table) and small.events.equals(again.events)
    assert small.dose_response.equals(again.dose_response)


@pytest.mark.parametrize("field, value, words", [
    ("dose", 3.0, "dose=3.0 is not on the rat_ip ladder"),
    ("route", "iv", "route='iv'"),
    ("stress_mA", 5.0, "stress_mA=5.0"),
    ("subjects", 1, "subjects=1"),
    ("agent", "ppo2", "agent='ppo2'"),
])
def test_lesson_rejects_bad_settings(field, value, words):
    with pytest.raises((ValueError, TypeError), match=words.replace("(", r"\(").replace(".", r"\.")):
        classroom.Lesson(**{field: value})


def test_a_flat_course_is_not_called_a_rise():
    assert classroom.change_words(16.2, 16.6, 10).startswith("were 16.2 in session 1 and 16.6 in session 10")
    assert classroom.change_words(3.0, 9.0, 10) == "rose from 3.0 in session 1 to 9.0 in session 10"
    assert classroom.change_words(9.0, 3.0, 4).startswith("fell from 9.0")


def test_what_is_happening_reads_the_numbers(small):
    result = small
    les = result.lesson
    text = " ".join(classroom.what_is_happening(result, 2.5))
    assert f"{result.presses(les.test_day).mean():.1f}" in text
    assert f"{result.presses(les.test_day, 2.5).mean():.1f}" in text
    assert "placebo" in " ".join(classroom.what_is_happening(result, 0.0))


def _count(node: object, kind: str) -> int:
    """Elements of type `kind` in the page's element tree."""
    children = getattr(node, "children", None)
    below = sum(_count(child, kind) for child in children.values()) if isinstance(children, dict) else 0
    return below + (type(node).__name__ == kind)


def _page(timeout: float = 120) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=timeout)
    at.session_state["subjects"] = 4
    at.session_state["acquisition"] = 3
    at.session_state["extinction"] = 2
    return at


def test_page_shows_the_models_numbers_and_serves_a_new_dose_from_its_cache(small):
    at = _page().run()
    assert not at.exception
    lesson, result = small.lesson, small
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Relapse test, placebo (active presses)"] == f"{result.presses(lesson.test_day).mean():.1f}"
    assert metrics["Relapse test, baclofen 2.5 mg/kg i.p. (active presses)"] == \
        f"{result.presses(lesson.test_day, 2.5).mean():.1f}"
    assert _count(at._tree, "Image") == 4 and len(at.caption) == 4
    assert any("What is happening" in e.label for e in at.expander)
    assert f"{result.dose_response['mean'].iloc[-1]:.1f}" in at.caption[3].value
    at.sidebar.select_slider[0].set_value(5.0).run(timeout=10)   # every dose was run: no simulation now
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Relapse test, baclofen 5 mg/kg i.p. (active presses)"] == \
        f"{result.presses(lesson.test_day, 5.0).mean():.1f}"


def _move_every_control(at: AppTest, *, one_run_each: bool) -> AppTest:
    moves = [lambda: at.sidebar.slider(key="abstinence").set_value(30),
             lambda: at.sidebar.slider(key="stress").set_value(0.5),
             lambda: at.sidebar.checkbox(key="contingent").uncheck(),
             lambda: at.sidebar.checkbox(key="knockout").check(),
             lambda: at.sidebar.selectbox(key="agent").set_value("sarsa"),
             lambda: at.sidebar.number_input(key="seed").set_value(3),
             lambda: at.sidebar.slider(key="extinction").set_value(1)]
    for move in moves:
        move()
        if one_run_each:
            at.run()
            assert not at.exception
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "30 days later" in text and "0.5 mA footshock" in text and "knockout" in text
    assert "sarsa" in text and "For 1 session " in text and "the drug cue" not in text
    at.sidebar.radio(key="route").set_value("oral").run()
    assert not at.exception
    assert "baclofen 40 mg/day oral" in " ".join(m.label for m in at.metric)
    return at


def test_page_every_control_moved_at_once():
    _move_every_control(_page().run(), one_run_each=False)


@pytest.mark.slow
def test_page_every_control_moved_one_at_a_time():
    _move_every_control(_page().run(), one_run_each=True)


def test_page_runs_the_pretrained_ppo_and_shows_its_numbers(small_ppo, monkeypatch):
    """The page asks for the PPO lesson and shows its numbers (the lesson itself is the fixture's:
    `simulate` of that lesson is the fixture, tested above, so the PPO is not run twice)."""
    asked: list[classroom.Lesson] = []
    real = classroom.simulate

    def simulate(lesson: classroom.Lesson, report=None, histories=None) -> classroom.LessonResult:
        asked.append(lesson)
        return small_ppo if lesson == small_ppo.lesson.without_dose() else real(lesson, report, histories)

    monkeypatch.setattr(classroom, "simulate", simulate)
    at = _page().run()
    at.sidebar.selectbox(key="agent").set_value(classroom.PRETRAINED_PPO).run(timeout=300)
    assert not at.exception and small_ppo.lesson.without_dose() in asked
    les, result = small_ppo.lesson, small_ppo
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Relapse test, placebo (active presses)"] == f"{result.presses(les.test_day).mean():.1f}"
    assert metrics["Relapse test, baclofen 2.5 mg/kg i.p. (active presses)"] == \
        f"{result.presses(les.test_day, 2.5).mean():.1f}"
    assert _count(at._tree, "Image") == 4 and len(at.caption) == 5   # the PPO note under the agent control
    assert any("pre-trained" in c.value for c in at.sidebar.caption)
    assert "critic" in " ".join(c.value for c in at.caption)
    at.sidebar.select_slider[0].set_value(5.0).run(timeout=10)   # cached: no simulation now
    assert not at.exception


def test_app_command_is_offline_and_quiet():
    cmd = streamlit_command("127.0.0.1", 8600)
    assert "--browser.gatherUsageStats=false" in cmd and "--server.headless=true" in cmd
    assert "--server.address=127.0.0.1" in cmd and "--server.port=8600" in cmd
