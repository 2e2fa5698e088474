"""Every model constant, with its unit, default, allowed range and source.

`ModelParams` is the single place the model's numbers live. Each field carries metadata
(unit, range, source) from which `docs/model.md`'s parameter table is generated
(`python -m rlcraving.docs`), so the documentation cannot drift from the code.

`IndividualDifferences` describes how per-subject multipliers are drawn for a cohort.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rlcraving.checks import check_number


def _p(default: float, unit: str, lo: float, hi: float, source: str, basis: str = "") -> Any:
    """A parameter field. `basis` (cited, calibrated, assumed, chosen, protocol) is read from the
    source text when not given."""
    meta = {"unit": unit, "range": (lo, hi), "source": source}
    if basis:
        meta["basis"] = basis
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ModelParams:
    """Constants of the subject, chamber and drugs. All times carry their unit in the name."""

    # --- time and chamber -------------------------------------------------------------
    dt_s: float = _p(4.0, "s", 0.25, 60.0, "Keramati et al. 2017 use 4 s steps; one action per step")
    timeout_s: float = _p(20.0, "s", 0.0, 600.0, "Shaham et al. 2003: 20 s timeout after each infusion",
                          basis="protocol")
    pr_limit_min: float = _p(60.0, "min", 1.0, 600.0,
                             "Richardson & Roberts 1996: breakpoint = last ratio before 1 h without infusion")
    pr_max_session_min: float = _p(360.0, "min", 10.0, 1440.0, "cap on a progressive-ratio session (6 h)",
                                   basis="protocol")
    session_start_hour: float = _p(10.0, "h of day", 0.0, 24.0,
                                   "clock time sessions start; sets the phase of oral baclofen dosing",
                                   basis="protocol")

    # --- cocaine: brain level and dopamine transporter occupancy ----------------------
    cocaine_half_life_min: float = _p(8.2, "min", 1.0, 240.0,
                                      "Tsibulsky & Norman 1999: functional elimination half-life 8.2 min, measured "
                                      "with the satiety threshold from the intervals of self-administration")
    cocaine_k50_mg_per_kg: float = _p(0.75, "mg/kg", 0.01, 50.0,
                                      "calibrated: brain level of half-maximal effect, equal to the default "
                                      "unit dose so one infusion gives half occupancy from zero")
    satiety_threshold_mg_per_kg: float = _p(
        1.7, "mg/kg", 0.01, 1e6,
        "Tsibulsky & Norman 1999: the cocaine level above which a rat does not self-administer (1.7 mg/kg "
        "i.v.); an occupancy rise above it is worth nothing, so intake holds the level near it and "
        "infusions/h vary inversely with the unit dose (Pickens & Thompson 1968; Yokel & Wise 1975). A very "
        "large value switches the threshold off")
    satiety_set_point_shift: float = _p(
        1.0, "per unit allostatic load", 0.0, 100.0,
        "calibrated to Ahmed & Koob 1998 ('change in hedonic set point'): the satiety threshold is "
        "S0 (1 + shift x load), so the ~0.6 load of 6 h/day access raises first-hour intake ~1.6x")
    satiety_excess_weight: float = _p(
        1.0, "per unit occupancy beyond the threshold", 0.0, 100.0,
        "chosen: a rise beyond the satiety level counts against the rise below it one for one (drive "
        "reduction, Keramati & Gutkin 2014, with n = m = 1). 3 brought the q_learning cohort's dose slope near "
        "Pickens & Thompson 1968's (-0.80 vs -0.55, 50 subjects) but left default-trained PPO pressing the "
        "active lever no more than the inactive one in 10-min sessions", basis="chosen")
    priming_threshold_mg_per_kg: float = _p(
        0.2, "mg/kg", 0.0, 1e6,
        "Norman & Tsibulsky 2006: a trained rat responds at a high rate only while the cocaine level lies "
        "between a priming threshold and the satiety threshold (the 'compulsion zone'), and not above "
        "satiety. The priming threshold, the lowest cocaine level that reinstates maintained self-administration, "
        "is 186-212 ug/kg in trained rats (Norman, Norman, Hall & Tsibulsky 1999)", basis="cited")
    compulsion_rate_per_h: float = _p(
        90.0, "presses / h at full wanting, in the compulsion zone", 0.0, 3600.0,
        "Norman & Tsibulsky 2006's compulsion zone: a trained rat responds at a high rate only while the level "
        "lies between the priming and the satiety threshold, and not above satiety. In the zone the drug lever "
        "is pressed at this rate times w / (1 + w) (w = kappa x the drug stimuli's net value: the incentive "
        "before satiety gates it, so the response is acquired and extinguishes with the lever's value); the TD "
        "policies press no drug lever above satiety. Calibrated on kor_escalation (200 q_learning subjects, seed "
        "0): the zone lengthens PR runs, and at 360/h breakpoints rose (ShA 21 -> 47) while the KOR knockout's "
        "cut of LgA breakpoints fell to -3% (Wee et al. 2009: -27%; criterion -10% to -45%); 180/h gave -10%, "
        "90/h -11%. The dose_regulation slope is -0.858 at 90, 180 and 360/h alike, -0.699 at 0 (the stop "
        "above satiety alone), -0.544 without the zone", basis="calibrated")
    infusion_delay_s: float = _p(4.0, "s", 0.0, 60.0,
                                 "i.v. cocaine acts in the brain within seconds; one 4 s step separates the cue "
                                 "(at the press) from the drug's action, so a learnt cue can come to predict it",
                                 basis="chosen")
    ip_absorption_half_life_min: float = _p(5.0, "min", 0.1, 120.0,
                                            "assumed: i.p. cocaine primes peak in brain within ~10-15 min")
    ip_bioavailability: float = _p(0.5, "fraction", 0.0, 1.0,
                                   "assumed: fraction of an i.p. prime reaching the brain-level compartment")

    # --- reward scales (reward units) -------------------------------------------------
    hedonic_max: float = _p(1.0, "reward / unit occupancy rise", 0.0, 100.0,
                            "calibrated: 'liking' of the rise in occupancy; not dopaminergic, so baclofen leaves it")
    drug_dopamine_max: float = _p(1.0, "reward / unit occupancy rise", 0.0, 100.0,
                                  "Redish 2004's non-compensable surge D; calibrated scale")
    relief_weight: float = _p(10.0, "reward / (unit dysphoria x unit occupancy rise)", 0.0, 100.0,
                              "calibrated to Ahmed & Koob 1998: with the allostatic load of 6 h/day access, "
                              "relief must outweigh the hedonic + dopamine value of a rise (x3.5 at load 0.7) "
                              "for first-hour intake to escalate ~1.6x over 1 h/day (2.0 gave +5%); "
                              "since the TD levers share the state's value (value_sharing) LgA first-hour "
                              "intake rises 15.8 -> 23.1 (1.46x; 200 q_learning subjects, seed 0), not "
                              "recalibrated")
    incentive_weight: float = _p(0.5, "reward / unit incentive", 0.0, 100.0,
                                 "calibrated: conditioned reinforcement of a cue onset (Zhang et al. 2009), half the "
                                 "primary effect of a unit dose: a conditioned reinforcer is weaker than the drug")
    press_cost: float = _p(0.05, "reward / press", 0.0, 10.0,
                           "calibrated: effort of one press; sets where a sated subject stops pressing")
    shock_aversion_per_mA: float = _p(10.0, "reward / mA", 0.0, 100.0,
                                      "calibrated to Deroche-Gamonet et al. 2004's 17% punishment-resistant rats "
                                      "(0.3 mA, p = 0.5; punished intake >= 50% of unpunished), 200 q_learning "
                                      "subjects with individual differences, seed 0: 10 gives 15.5%, 8 gave 20.5%, "
                                      "12 gave 11.5%, 15 gave 8% (15 had given 18% before the satiety threshold and "
                                      "graded extinction retrieval landed; not bisected); 10 gives 12.0% since "
                                      "the TD levers share the state's value (value_sharing), and 21.0% with the "
                                      "compulsion zone (compulsion_rate_per_h), neither recalibrated")
    sucrose_reward: float = _p(0.5, "reward / pellet", 0.0, 100.0,
                               "calibrated: hedonic value of a sucrose pellet")
    meal_size_pellets: float = _p(
        150.0, "pellets (45 mg)", 1.0, 1e6,
        "food satiety: a pellet is worth 1 - G / G_meal of a first pellet, G the pellets in the gut, so the rate "
        "of food-reinforced responding falls linearly with the food eaten (Aoyama, 'Effects of hunger state on "
        "within-session response decreases under CRF schedule': the x-intercept is the meal size, set by "
        "hunger), the drive reduction of Keramati & Gutkin 2014 with a quadratic drive; calibrated so that "
        "placebo q_learning rats earn ~80% of the 1-h FR1 schedule's 150 pellets (120 of 150, 40 subjects; 200 "
        "gave 133)", basis="calibrated")
    gut_emptying_half_life_min: float = _p(
        60.0, "min", 1.0, 1e5,
        "assumed: pellets leave the gut (gastric emptying) with this half-life, so a day between sessions "
        "brings hunger back", basis="assumed")

    # --- Pavlovian learning (Rescorla-Wagner, summed prediction) ----------------------
    pavlovian_rate: float = _p(0.2, "1 / trial", 0.0, 1.0, "Rescorla & Wagner 1972 learning rate; calibrated")
    extinction_rate: float = _p(0.1, "1 / trial", 0.0, 1.0,
                                "rate of context-bound inhibitory learning (Bouton 2004); calibrated")

    extinction_retrieval_occupancy: float = _p(
        0.25, "occupancy", 0.01, 100.0,
        "Bouton 2002: extinction is retrieved in the interoceptive state it was learned in; retrieval "
        "falls by e per this much drug occupancy (renewal account of drug priming)", basis="chosen")
    extinction_retrieval_kor: float = _p(
        0.3, "KOR activation", 0.01, 100.0,
        "as extinction_retrieval_occupancy, for the stress state (renewal account of stress-induced "
        "reinstatement; Bouton 2002, Shaham 2003)", basis="chosen")

    extinction_generality: float = _p(
        0.35, "fraction of extinction", 0.0, 1.0,
        "Bouton 2004: extinction is partly general and partly bound to the context, interoceptive state and "
        "time it was learnt in; this share is expressed everywhere, so renewal, drug-, stress- and time-induced "
        "recovery are partial (ABA renewal restores part of trained responding: Crombag & Shaham 2002, "
        "Bossert et al. 2004)", basis="chosen")
    extinction_recovery_days: float = _p(
        7.0, "days", 0.01, 1e4,
        "spontaneous recovery (Pavlov 1927; Rescorla 2004; Bouton 2004: time is a context): the context-bound "
        "share of extinction is retrieved less as time since extinction passes, by e in this many days",
        basis="chosen")

    # --- behaviour the environment adds to any agent's (Dayan, Niv, Seymour & Daw 2006) -
    pavlovian_approach_per_h: float = _p(
        15.0, "presses / h at full observed incentive", 0.0, 900.0,
        "Pavlovian controller beside the agent's (Dayan, Niv, Seymour & Daw 2006): incentive salience draws the "
        "subject to the drug lever at once (sign-tracking, Flagel et al. 2009), at this rate times the observed "
        "incentive u / (1 + u); chosen below the satiety-regulated intake, so that self-administration stays "
        "instrumental: at 60 its presses alone held ~11 infusions/h and SB3 A2C stopped pressing after session 1 "
        "(every press then the environment's); at 15 A2C presses the active lever itself in every FR1 session. "
        "Also measured on the default_sb3 row: 0 lost stress reinstatement there", basis="chosen")
    cue_approach_per_h: float = _p(
        900.0, "presses / h at full observed incentive, while the drug cue is on", 0.0, 3600.0,
        "a drug cue elicits approach to, and pressing of, the lever it signals (sign-tracking: Uslaner et al. "
        "2006 for a cocaine-paired cue; Flagel et al. 2009), added to pavlovian_approach_per_h while the cue is "
        "on; chosen so that a cue in a drug-free cue test draws about one press during its 20 s", basis="chosen")
    operant_level_per_h: float = _p(
        3.0, "presses / h per lever", 0.0, 900.0,
        "operant level: exploratory presses a rat makes on each lever whatever it has learnt, so extinction "
        "lowers responding without removing it (a few presses an hour on the inactive lever at the end of "
        "extinction; Shaham et al. 2003)", basis="chosen")

    # --- incentive salience (Zhang, Berridge, Tindell, Smith & Aldridge 2009) ---------
    kappa_drug: float = _p(1.0, "per unit occupancy", 0.0, 100.0,
                           "drug-induced dopamine raises kappa (Zhang et al. 2009 'kappa > 1' states)", basis="chosen")
    kappa_stress: float = _p(1.0, "per unit KOR activation", 0.0, 100.0,
                             "stress potentiation of drug incentive via kappa-opioid receptors (McLaughlin 2003)",
                             basis="chosen")
    kappa_baclofen_withdrawal: float = _p(1.0, "per unit withdrawal", 0.0, 100.0,
                                          "rebound excitability after abrupt baclofen stop (Baclofen Withdrawal "
                                          "Management)", basis="chosen")

    # --- allostasis / withdrawal (Koob & Le Moal 2001; Keramati et al. 2017) ----------
    allostasis_rate_per_h: float = _p(0.067, "1 / h at full occupancy", 0.0, 10.0,
                                      "calibrated so 6 h/day access drives the load to ~0.6 in ~10 days "
                                      "and 1 h/day to ~0.1 (Ahmed & Koob 1998 escalation)")
    allostasis_kor_fraction: float = _p(
        0.5, "fraction", 0.0, 1.0,
        "share of the allostatic load carried by dynorphin/KOR, recruited by drug history (the anti-reward of "
        "Koob & Le Moal 2008); a KOR knockout expresses only the rest. Wee et al. 2009: KOR antagonism cut "
        "escalated (6 h/day) intake, -27% under PR, and left 1 h/day intake unchanged (+1.7%)", basis="chosen")
    allostasis_recovery_days: float = _p(2.5, "days", 0.01, 1000.0,
                                         "calibrated: recovery time constant of the hedonic set-point shift")

    # --- stress through the kappa-opioid (dynorphin) system -----------------------------
    kor_per_shock: float = _p(0.05, "activation / shock", 0.0, 10.0, "calibrated (McLaughlin 2003; Al-Hasani 2013)")
    kor_half_mA: float = _p(0.35, "mA", 0.01, 5.0,
                            "assumed threshold: 0.5 mA intermittent shock reinstates (Shaham 2003), weak ones do not")
    kor_hill: float = _p(6.0, "", 1.0, 20.0, "steepness of the stress threshold; assumed")
    kor_threshold_mA: float = _p(
        0.25, "mA", 0.0, 5.0,
        "Buffalari & See 2009: intermittent footshock of 0.5 and 0.75 mA reinstated cocaine seeking, 0.25 mA did "
        "not; a shock at or below this intensity recruits no dynorphin/KOR (the Hill function is taken from its "
        "value here), so a weak stressor does nothing rather than a little", basis="cited")
    kor_decay_min: float = _p(30.0, "min", 1.0, 10000.0, "assumed decay of dynorphin/KOR activation")
    stress_minutes: float = _p(15.0, "min", 0.0, 600.0,
                               "Shaham 2003: 15 min of intermittent footshock just before the test session",
                               basis="protocol")
    shock_interval_s: float = _p(40.0, "s", 1.0, 3600.0, "Shaham 2003: mean 40 s between shocks (fixed here)",
                                 basis="protocol")

    # --- incubation of craving (Grimm et al. 2001; Lu et al. 2004) ---------------------
    incubation_rise_days: float = _p(30.0, "days", 0.1, 10000.0,
                                     "with decay 150 d puts the peak at 60 d and 56% of peak at 180 d",
                                     basis="calibrated")
    incubation_decay_days: float = _p(150.0, "days", 0.2, 10000.0, "see incubation_rise_days", basis="calibrated")
    incubation_gain: float = _p(8.0, "", 0.0, 100.0,
                                "calibrated on the incubation row: the drug cue's incentive at peak incubation "
                                "is 1 + gain times its day-1 value. Set when the row tested the cue right after "
                                "abstinence (8 gave 1.5x, 3 gave 1.4x: the lever's unextinguished value carried "
                                "the day-1 test); with Grimm 2001's test day (extinction sessions, then the cue) "
                                "8 gives 5.1x (several-fold)")
    incubation_load_infusions: float = _p(100.0, "infusions", 1.0, 1e6,
                                          "drug history at which the incubation load is 63% of maximum",
                                          basis="calibrated")

    # --- baclofen pharmacokinetics: human oral (Baclofen for Cocaine Cravings; Is Baclofen Effective) ----
    baclofen_ka_per_h: float = _p(0.9, "1 / h", 0.01, 100.0,
                                  "chosen so time to peak falls in the 1-3 h of Baclofen for Cocaine Cravings; "
                                  "Is Baclofen Effective")
    baclofen_v_l: float = _p(28.8, "L (V/F)", 1.0, 1000.0, "two-compartment fit V/F = 28.8 L")
    baclofen_cl_l_per_h: float = _p(10.8, "L / h (CL/F)", 0.1, 1000.0, "CL/F = 180 mL/min")
    baclofen_alpha_per_h: float = _p(1.29, "1 / h", 0.01, 100.0, "two-compartment fit alpha = 1.29 / h")
    baclofen_beta_per_h: float = _p(0.191, "1 / h", 0.001, 100.0,
                                    "two-compartment fit beta = 0.191 / h (terminal half-life 3.6 h)")
    renal_function: float = _p(1.0, "fraction of normal", 0.05, 2.0,
                               "clearance of the renal share scales with renal function (Baclofen for Cocaine "
                               "Cravings; Is Baclofen Effective)")
    baclofen_renal_fraction: float = _p(0.8, "fraction of clearance", 0.7, 0.85,
                                        "Baclofen for Cocaine Cravings; Is Baclofen Effective: 70-85% of baclofen is "
                                        "excreted unchanged by the kidney")
    # --- baclofen: rat intraperitoneal -------------------------------------------------
    baclofen_rat_ka_per_h: float = _p(4.0, "1 / h", 0.01, 100.0, "assumed: i.p. peak within ~30-45 min")
    baclofen_rat_half_life_h: float = _p(1.5, "h", 0.1, 24.0, "assumed rat elimination half-life")
    baclofen_rat_v_l_per_kg: float = _p(1.0, "L / kg", 0.05, 20.0, "assumed volume of distribution")
    baclofen_rat_ec50_mg_per_l: float = _p(1.0, "mg / L", 0.001, 100.0,
                                           "chosen: 1.25-5.6 mg/kg i.p. then spans weak to strong effect, as "
                                           "in Roberts 1996 and Brebner 2000; no published EC50")
    # --- baclofen pharmacodynamics --------------------------------------------------------
    baclofen_ec50_mg_per_l: float = _p(0.25, "mg / L", 0.001, 100.0,
                                       "chosen (no published EC50): the mean steady-state level at 60 mg/day")
    baclofen_emax: float = _p(0.6, "fraction of dopamine signal", 0.0, 1.0,
                              "chosen: GABA-B activation dampens but does not abolish dopamine bursts")
    baclofen_hill: float = _p(1.5, "", 0.5, 10.0, "chosen")
    baclofen_natural_reward_fraction: float = _p(0.25, "fraction", 0.0, 1.0,
                                                 "baclofen reduces cocaine more than food-maintained responding "
                                                 "(Roberts 1996; Brebner 2000): share of the effect on sucrose",
                                                 basis="chosen")
    sedation_ec50_multiple: float = _p(5.0, "x EC50", 0.1, 100.0,
                                       "chosen: sedation needs ~5x the dopamine-effect level (Baclofen for "
                                       "Cocaine Cravings: little sedation at therapeutic doses; Brebner "
                                       "2000: FR intake spared)", basis="chosen")
    sedation_max: float = _p(0.8, "probability / step", 0.0, 1.0,
                             "maximal chance, each step, that a press held by sedation is still held (a mean delay "
                             "of dt / (1 - s): 20 s at 0.8); sedation slows responding, it loses no press "
                             "(Brebner et al. 2000)", basis="chosen")
    baclofen_recent_h: float = _p(12.0, "h", 0.1, 1000.0,
                                  "assumed: withdrawal compares the adapted level with occupancy averaged over "
                                  "this time, so the trough between doses is not a withdrawal")
    baclofen_adaptation_days: float = _p(3.0, "days", 0.01, 1000.0,
                                         "assumed: receptor adaptation behind the withdrawal syndrome (Baclofen "
                                         "Withdrawal Management, 2025: symptoms evolve over 1-3 days)")
    baclofen_withdrawal_gain: float = _p(1.0, "dysphoria / unit", 0.0, 100.0,
                                         "calibrated: anxiety from the gap between adapted and current occupancy")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            lo, hi = f.metadata["range"]
            check_number(f"params.{f.name}", getattr(self, f.name), lo=lo, hi=hi)
        if self.baclofen_beta_per_h >= self.baclofen_alpha_per_h:
            raise ValueError(
                f"params.baclofen_beta_per_h={self.baclofen_beta_per_h} must be below "
                f"params.baclofen_alpha_per_h={self.baclofen_alpha_per_h}")
        if self.incubation_rise_days >= self.incubation_decay_days:
            raise ValueError(
                f"params.incubation_rise_days={self.incubation_rise_days} must be below "
                f"params.incubation_decay_days={self.incubation_decay_days}")

    def replace(self, **changes: float) -> ModelParams:
        """A copy with some fields changed (unknown names raise a ValueError)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown model parameter(s) {unknown}; allowed: {sorted(known)}")
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------------------------
# Individual differences
# ---------------------------------------------------------------------------------------

#: Per-subject multipliers: name -> (log-normal sigma, what it scales, source).
#: Each multiplier has median 1, so a cohort is centred on `ModelParams`.
INDIVIDUAL_TRAITS: dict[str, tuple[float, str, str]] = {
    "vulnerability": (0.5, "allostasis_rate_per_h", "Piray et al. 2010: individual allostatic vulnerability"),
    "incentive_sensitivity": (0.35, "incentive signal (kappa)", "Flagel/Robinson sign-trackers; Zhang 2009"),
    "dopamine_sensitivity": (0.3, "drug_dopamine_max (D2-like sensitivity)", "Piray et al. 2010"),
    "punishment_sensitivity": (0.8, "shock_aversion_per_mA",
                               "Deroche-Gamonet 2004: a minority keeps taking despite shock"),
    "sucrose_preference": (0.5, "sucrose_reward", "Cantin et al. 2010: a minority prefers cocaine to sucrose"),
    "pavlovian_rate": (0.3, "pavlovian_rate and extinction_rate", "assumed spread of learning rates"),
}
