"""The classroom app's page (a Streamlit script: `rlcraving app` runs it).

Controls in the sidebar, each with its unit; the cohort runs live (cached: the same settings,
or only another dose of the same ladder, do not run again); four figures with captions written
from the run's own numbers, and a "what is happening" panel.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import streamlit as st

from rlcraving.app import lesson as classroom
from rlcraving.experiments import figures

st.set_page_config(page_title="rlcraving: cocaine seeking and baclofen", layout="wide")


CACHED_LESSONS = 32
CACHED_HISTORIES = 8
#: Shown under the agent control when the pre-trained PPO is chosen (the time is measured: docs/sb3.md).
PPO_NOTE = ("The PPO is a neural network (stable-baselines3) shipped pre-trained on acquisition; it learns on "
            "through extinction and the tests, so its first run of a setting is slower than a TD agent's: about 10 s "
            "of computing for 16 subjects (longer when the machine is busy; docs/sb3.md). The lived history is kept, "
            "so another test (stress, abstinence, cue, route) after it takes a few seconds, and another dose is "
            "instant.")


def agent_words(agent: str) -> str:
    """The agent control's label for `agent`."""
    return "PPO, pre-trained" if agent == classroom.PRETRAINED_PPO else agent.replace("_", "-")


@st.cache_resource
def _lessons() -> dict[classroom.Lesson, classroom.LessonResult]:
    """Results by lesson, shared by every session of this server (oldest dropped past 32)."""
    return {}


@st.cache_resource
def _histories() -> dict[tuple, object]:
    """The pre-trained PPO's lived histories (`classroom.simulate`'s cache), shared by every session
    (oldest dropped past 8): another test after the same history lives only the test."""
    return {}


def run_lesson(lesson: classroom.Lesson, bar: st.delta_generator.DeltaGenerator) -> classroom.LessonResult:
    """The lesson's results: from the cache, or simulated with a progress bar."""
    store = _lessons()
    if lesson not in store:
        def report(done: int, total: int) -> None:
            bar.progress(done / total, text=f"simulating: session {done} of {total}")

        histories = _histories()
        store[lesson] = classroom.simulate(lesson, report=report, histories=histories)
        for cache, size in ((store, CACHED_LESSONS), (histories, CACHED_HISTORIES)):
            while len(cache) > size:
                cache.pop(next(iter(cache)))
    return store[lesson]


def controls() -> classroom.Lesson:
    """The sidebar: every setting with its unit."""
    side = st.sidebar
    side.header("Settings")
    route = side.radio("Who gets baclofen, and how", list(classroom.ROUTES), key="route",
                       format_func=lambda r: classroom.ROUTES[r]["label"])
    unit = classroom.ROUTES[route]["unit"]
    doses = list(classroom.ROUTES[route]["doses"])
    dose = side.select_slider(f"Baclofen dose before the test ({unit})", options=doses, value=doses[2],
                              key=f"dose_{route}", format_func=lambda d: "placebo" if d == 0 else f"{d:g} {unit}")
    abstinence = side.slider("Days of abstinence before the test (days)", 1, 60, 1, key="abstinence")
    stress = side.slider("Footshock stress during the test (mA; 0 = none)", 0.0, classroom.MAX_STRESS_MA, 0.0, 0.1,
                         key="stress")
    contingent = side.checkbox("Cue follows each press in the test (contingent cue)", True, key="contingent")
    knockout = side.checkbox("Kappa-opioid receptor knockout (no stress pathway)", False, key="knockout")
    agent = side.selectbox("Learner (a TD agent, docs/agents.md; or a PPO pre-trained on acquisition)",
                           classroom.LESSON_AGENTS, key="agent", format_func=agent_words)
    if agent == classroom.PRETRAINED_PPO:
        side.caption(PPO_NOTE)
    subjects = side.slider("Cohort size (subjects)", 4, 64, 16, 4, key="subjects")
    seed = side.number_input("Random seed (same seed, same subjects)", 0, 10_000, 0, key="seed")
    acquisition = side.slider("Acquisition: cocaine sessions (1 h a day; days)", 2, 20, 10, key="acquisition")
    extinction = side.slider("Extinction sessions (1 h a day; days)", 1, 20, 6, key="extinction")
    return classroom.Lesson(route=route, dose=float(dose), abstinence_days=float(abstinence), stress_mA=float(stress),
                    kor_knockout=knockout, contingent_cue=contingent, agent=agent, subjects=int(subjects),
                    seed=int(seed), acquisition_days=int(acquisition), extinction_days=int(extinction))


def show(fig: plt.Figure, caption: str) -> None:
    st.pyplot(fig, clear_figure=True)
    plt.close(fig)
    st.caption(caption.replace("..", "."))   # a sentence ending on "i.p." gets one full stop


def main() -> None:
    st.title("Cocaine seeking, relapse and baclofen: a simulated experiment")
    lesson = controls()
    bar = st.progress(0.0, text="simulating...")
    result = run_lesson(lesson.without_dose(), bar)
    bar.empty()
    dose = lesson.dose
    treated, placebo = result.arm(dose), result.arm(0.0)
    arms = [placebo] if dose == 0 else [placebo, treated]
    les = result.lesson

    with st.expander("What is happening", expanded=True):
        for line in classroom.what_is_happening(result, dose):
            st.markdown(line)

    test_placebo = result.presses(les.test_day).mean()
    test_treated = result.presses(les.test_day, dose).mean()
    cols = st.columns(3)
    cols[0].metric("End of extinction (active presses)", f"{result.presses(les.test_day - 1).mean():.1f}")
    cols[1].metric("Relapse test, placebo (active presses)", f"{test_placebo:.1f}")
    cols[2].metric(f"Relapse test, {treated} (active presses)", f"{test_treated:.1f}",
                   delta=f"{test_treated - test_placebo:+.1f}" if dose else None, delta_color="inverse")

    with plt.rc_context(figures.CLASSROOM_STYLE):
        st.subheader("1. Learning, extinction, relapse")
        table = result.table[result.table["condition"].isin(arms)]
        show(figures.course_figure(table), course_caption(result, dose))
        st.subheader("2. One subject's presses (cumulative record)")
        subject = result.typical_subject()
        events = result.events[result.events["condition"].isin(arms)]
        curves = figures.cumulative_from_events(events, subject)
        show(figures.cumulative_figure(curves), cumulative_caption(result, subject, dose))
        st.subheader("3. Dopamine: from the drug to the cue")
        traces = result.traces[result.traces["condition"].isin(arms)]
        show(figures.dopamine_shift_figure(traces), dopamine_caption(result))
        st.subheader("4. Dose-response")
        left, _ = st.columns([3, 2])
        with left:
            show(figures.dose_response_figure(result.dose_response, dose_label=f"baclofen ({les.unit})",
                                              measure_label="active presses in the relapse test"),
                 dose_caption(result))


def course_caption(result: classroom.LessonResult, dose: float) -> str:
    les = result.lesson
    first, last = result.presses(0).mean(), result.presses(les.acquisition_days - 1).mean()
    inactive = result.presses(les.acquisition_days - 1, measure="inactive_presses").mean()
    course = classroom.change_words(first, last, les.acquisition_days)
    if les.agent == classroom.PRETRAINED_PPO:
        learning = f"The PPO arrived trained on acquisition: active presses {course}"
    else:
        learning = f"Active presses {course}, as the subjects learned that the lever brings cocaine"
    return (f"Each dot is the mean over {les.subjects} subjects in one daily session (shaded: 95% interval). "
            f"{learning}, while the inactive lever (dashed) stayed near {inactive:.1f}. When pressing stopped "
            "paying (extinction), pressing fell. All groups are the same subjects with the same history until the "
            f"test, where they part: placebo, and {result.arm(dose) if dose else 'no treatment'}.")


def cumulative_caption(result: classroom.LessonResult, subject: int, dose: float) -> str:
    return (f"Subject {subject} (the median responder in the placebo test). The line steps up at every press on the "
            "active lever, as on the paper recorders of operant labs; a tick marks a press that earned a dose. "
            "Steep means fast pressing, flat means a pause. In the test no press is rewarded"
            + (f"; the second line is the same subject under {result.arm(dose)}" if dose else "") + ".")


def dopamine_caption(result: classroom.LessonResult) -> str:
    les = result.lesson
    traces = result.traces[result.traces["condition"] == result.arm(0.0)]
    pe = traces[traces["signal"] == "cue_locked_prediction_error"]

    def peak(day: int, after: bool) -> float:
        part = pe[(pe["day"] == day) & ((pe["time_s"] > 0) if after else (pe["time_s"] == 0))]
        return float(part["value"].max()) if len(part) else float("nan")

    early, late = peak(0, True), peak(les.acquisition_days - 1, True)
    cue = peak(les.test_day, False)
    if les.agent == classroom.PRETRAINED_PPO:
        return (f"Average learning signal around the moment the cue comes on (time 0). For the PPO it is the error of "
                f"its critic (reward now + discounted value of the next moment - value of this moment). The PPO "
                f"arrived trained on acquisition, so its session 1 here is not naive and the signal is not expected "
                f"to move from the drug to the cue: its largest value after the cue was {early:.3f} in session 1 and "
                f"{late:.3f} in session {les.acquisition_days}; in the test the cue itself evoked {cue:.3f}. The right "
                f"panel is the environment's own dopamine surge when the drug arrives, the same for any learner. "
                "Units: the model's reward units per 4-s step.")
    return (f"Average learning signal around the moment the cue comes on (time 0). In session 1 the drug's arrival "
            f"a few seconds later is a surprise: the prediction error peaks at {early:.3f}. By session "
            f"{les.acquisition_days} the cue predicts the drug and the peak after it is {late:.3f}. In the test, the "
            f"cue itself evokes {cue:.3f}, and the drug that does not come leaves a dip below zero. "
            + "Units: the model's reward units per 4-s step.")


def dose_caption(result: classroom.LessonResult) -> str:
    dr = result.dose_response
    les = result.lesson
    top, low = dr.iloc[0], dr.iloc[-1]
    trend = "fell" if low["mean"] < top["mean"] else "did not fall"
    return (f"Active presses in the relapse test for every dose (mean and 95% bootstrap interval over "
            f"{les.subjects} subjects). From placebo ({top['mean']:.1f}) to {low['dose']:g} {les.unit} "
            f"({low['mean']:.1f}) seeking {trend}. Dotted: the end of extinction ({top['baseline_mean']:.1f}), where "
            "no relapse would leave it. In rats, baclofen cut cue-induced relapse in this dose range (Campbell et "
            "al. 1999; Di Ciano & Everitt 2003).")


main()
