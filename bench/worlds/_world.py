"""The practice: clinics, providers, patients, episodes, visits and lines.

Everything is drawn with numpy, one array per attribute, so a million lines
take seconds. Random streams are split by purpose (structure, codes,
documentation, submission, outcomes) so that a knob that only changes the
denial model (``policy_change``, ``payer_edit``, ``trend``) leaves the rest of
the world identical for the same seed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.worlds import _catalog as cat
from bench.worlds._arrays import (
    choice_rows,
    cummax_in_group,
    cumsum_exclusive,
    group_starts,
    rank_in_group,
    start_index,
)
from bench.worlds._params import WorldParams

EPOCH = pd.Timestamp("1970-01-01")
MAX_CERTS = 8
MODS = ("GP", "GO", "CQ", "KX", "59", "XU", "XS", "XP")
M = {m: 1 << i for i, m in enumerate(MODS)}
BYPASS = M["59"] | M["XU"] | M["XS"] | M["XP"]
CPT_NAMES = np.array([c[0] for c in cat.CODES] + ["97014"], dtype="<U5")
POS_CODES = ["11", "22", "12"]
SITES = (
    "AUS-N",
    "AUS-S",
    "RRK",
    "GTN",
    "SMQ",
    "CDP",
    "PFL",
    "LKW",
    "BCV",
    "HUT",
    "KYL",
    "MNR",
)


def day(ts) -> int:
    """Days since 1970-01-01."""
    return int((pd.Timestamp(ts) - EPOCH).days)


def year_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970


def month_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12 + 1


def _npi(rng: np.random.Generator, n: int) -> list[str]:
    """Ten-digit identifiers with a valid NPI (Luhn, prefix 80840) check digit."""
    out, seen = [], set()
    while len(out) < n:
        body = "1" + "".join(str(d) for d in rng.integers(0, 10, 8))
        digits = [int(c) for c in "80840" + body]
        total = 0
        for i, d in enumerate(reversed(digits)):
            if i % 2 == 0:
                d *= 2
                d = d - 9 if d > 9 else d
            total += d
        npi = body + str((10 - total % 10) % 10)
        if npi not in seen:
            seen.add(npi)
            out.append(npi)
    return out


class Practice:
    """Clinics, providers, patients and payers of one world (arrays)."""

    def __init__(self, prm: WorldParams, payers, n_lines: int, rng):
        years = prm.months / 12.0
        n_prov = prm.n_providers or max(5, math.ceil(n_lines / (8500 * years)))
        n_clin = prm.n_clinics or max(2, min(12, math.ceil(n_prov / 8)))
        n_clin = max(1, min(n_clin, n_prov))
        self.payers = payers
        self.n_prov, self.n_clin = n_prov, n_clin
        # providers: 0 PT, 1 PTA, 2 OT; every clinic has a PT
        cred = rng.choice(3, n_prov, p=[0.58, 0.27, 0.15])
        self.clinic_w = rng.dirichlet(np.full(n_clin, 4.0))
        prov_clinic = rng.choice(n_clin, n_prov, p=self.clinic_w)
        prov_clinic[:n_clin] = np.arange(n_clin)
        cred[:n_clin] = 0
        self.prov_cred = cred
        self.prov_clinic = prov_clinic
        self.prov_eff = rng.normal(0.0, prm.provider_sd, n_prov)
        self.prov_quality = rng.beta(6.0, 1.6, n_prov)
        # documentation lateness: 0 prompt, 1 slow, 2 very late
        self.prov_late = rng.choice(3, n_prov, p=[0.62, 0.27, 0.11])
        self.prov_unit_habit = rng.random(n_prov) < 0.12  # per-code units everywhere
        self.prov_npi = _npi(rng, n_prov)
        self.ref_npi = _npi(rng, 4 * n_prov + 20)
        # clinics
        site_names = [
            SITES[i % len(SITES)] + ("" if i < len(SITES) else str(i))
            for i in range(n_clin)
        ]
        self.clinic_ids = [f"CL-{s}" for s in site_names]
        # place of service: office, one hospital outpatient department
        self.clinic_pos = np.where(
            np.arange(n_clin) == 1, POS_CODES.index("22"), POS_CODES.index("11")
        )
        has_pta = np.bincount(prov_clinic[cred == 1], minlength=n_clin) > 0
        self.clinic_pta_share = np.where(has_pta, rng.uniform(0.1, 0.45, n_clin), 0.0)
        self.clinic_undotted = rng.random(n_clin) < 0.3
        self.clinic_hold_unsigned = rng.random(n_clin) < 0.4
        self.clinic_cadence = rng.choice(3, n_clin, p=[0.5, 0.3, 0.2])
        self.clinic_kx_crossing = rng.random(n_clin) < 0.6
        self.clinic_mod59 = rng.uniform(0.55, 0.95, n_clin)
        self.clinic_gp_always = rng.random(n_clin) < 0.6
        self.clinic_point_all = rng.random(n_clin) < 0.5
        self.clinic_notes = rng.random(n_clin) < 0.5
        self.clinic_eff = rng.normal(0.0, 0.15, n_clin)
        self.clinic_edit59 = rng.uniform(0.1, 0.6, n_clin)  # 59 on 97112 + 97530


class Episodes:
    """Episodes of care: who, where, which payer, how long, which diagnoses."""

    def __init__(self, prm: WorldParams, pr: Practice, n_episodes: int, rng):
        payers = pr.payers
        E = n_episodes
        start, end = day(prm.start_day), day(prm.end_day)
        P = prm.n_patients or max(1, round(E / 1.3))
        self.n_patients = P
        pay_w = np.array([p.weight for p in payers])
        pay_w = pay_w / pay_w.sum()
        pat_payer = rng.choice(len(payers), P, p=pay_w)
        self.pat_eff = rng.normal(0.0, prm.patient_sd, P)
        covered = rng.random(P) >= 0.006
        self.pat_cover_end = np.where(
            covered, 10**6, rng.integers(start, end + 1, P)
        ).astype(np.int64)
        first = min(P, E)
        patient = np.concatenate(
            [np.arange(first), rng.integers(0, P, E - first)]
        ).astype(np.int64)
        rng.shuffle(patient)
        payer = pat_payer[patient]
        switch = rng.random(E) < 0.12
        payer = np.where(switch, rng.choice(len(payers), E, p=pay_w), payer)
        pclass = np.array([payers[i].payer_class for i in payer], dtype=object)
        # discipline and condition
        has_ot = bool((pr.prov_cred == 2).any())
        ot = (rng.random(E) < 0.12) & has_ot
        probs = np.tile([0.2, 0.15, 0.35, 0.30, 0.0], (E, 1))
        medicare_like = np.isin(pclass, ["medicare", "medicare_advantage"])
        probs[medicare_like] = [0.30, 0.22, 0.30, 0.18, 0.0]
        injury = np.isin(pclass, ["workers_comp", "auto", "other"])
        probs[injury] = [0.05, 0.05, 0.40, 0.50, 0.0]
        probs[ot] = [0.4, 0.0, 0.0, 0.0, 0.6]
        cond = choice_rows(rng, probs)
        # clinic and primary clinician
        clinic = rng.choice(pr.n_clin, E, p=pr.clinic_w)
        provider = np.full(E, -1, dtype=np.int64)
        u = rng.random(E)
        for c in range(pr.n_clin):
            for disc, cred in ((False, 0), (True, 2)):
                sel = (clinic == c) & (ot == disc)
                cand = np.flatnonzero((pr.prov_clinic == c) & (pr.prov_cred == cred))
                if sel.any() and len(cand):
                    provider[sel] = cand[(u[sel] * len(cand)).astype(int)]
        lost = provider < 0  # OT episode in a clinic without OT: a PT takes it
        if lost.any():
            ot[lost] = False
            cond[lost & (cond == 4)] = 0
            for c in np.unique(clinic[lost]):
                sel = lost & (clinic == c)
                cand = np.flatnonzero((pr.prov_clinic == c) & (pr.prov_cred == 0))
                provider[sel] = cand[(u[sel] * len(cand)).astype(int)]
        q = pr.prov_quality[provider]
        # calendar and plan of care
        mean_visits = np.array([24.0, 9.0, 14.0, 11.0, 12.0])[cond]
        r = 2.0
        nvis = 1 + rng.negative_binomial(r, r / (r + mean_visits - 1.0))
        nvis = np.minimum(nvis, 90)
        freq_p = np.tile([0.15, 0.60, 0.25], (E, 1))
        freq_p[cond == 0] = [0.12, 0.53, 0.35]
        freq = 1 + choice_rows(rng, freq_p)
        cert_len = rng.choice([30, 60, 90], E, p=[0.1, 0.3, 0.6])
        good = np.tile([0.10, 0.10, 0.68, 0.07, 0.05], (E, 1))
        good[q < 0.7] = [0.05, 0.05, 0.50, 0.20, 0.20]
        pr_period = np.array([8, 9, 10, 12, 15])[choice_rows(rng, good)]
        pr_skip = 0.03 + 0.15 * (1.0 - q)
        ep_start = rng.integers(start - 150, end + 1, E)
        # referral, diagnoses
        ref = rng.integers(0, len(pr.ref_npi), E)
        miss_p = np.where(medicare_like, 0.012, np.where(injury, 0.3, 0.15))
        ref = np.where(rng.random(E) < miss_p, -1, ref)
        self._diagnoses(cond, rng)
        # authorization
        auth_kind = np.array([p.auth.split(":")[0] for p in payers], dtype=object)
        self.needs_auth_payer = auth_kind != "none"
        self.has_auth = rng.random(E) < 0.93
        self.auth_size = rng.choice(
            [6, 8, 10, 12, 20], E, p=[0.2, 0.25, 0.15, 0.25, 0.15]
        )
        self.auth_segments = rng.geometric(0.1, E)
        self.auth_no = rng.integers(10**6, 10**7, E)
        self.renewal_gap = rng.random(E) < 0.25  # renewal arrives after a visit
        self.E = E
        self.patient, self.payer, self.pclass = patient, payer, pclass
        self.ot, self.cond, self.clinic, self.provider = ot, cond, clinic, provider
        self.nvis, self.freq, self.cert_len = nvis, freq, cert_len
        self.pr_period, self.pr_skip = pr_period, pr_skip
        self.start, self.ref = ep_start, ref
        self.q = q

    def _diagnoses(self, cond, rng):
        E = len(cond)
        vocab: dict[str, int] = {}

        def vid(code):
            return vocab.setdefault(code, len(vocab))

        dx = np.full((E, 3), -1, dtype=np.int64)
        n_sec = rng.choice([0, 1, 2], E, p=[0.35, 0.45, 0.20])
        header = rng.random(E) < 0.006
        initial = rng.random(E) < 0.2
        for ci, name in enumerate(cat.CONDITIONS):
            sel = np.flatnonzero(cond == ci)
            if not len(sel):
                continue
            codes, w = zip(*cat.PRIMARY_DX[name], strict=True)
            w = np.array(w, float) / sum(w)
            prim = rng.choice(len(codes), len(sel), p=w)
            prim_codes = np.array(codes, dtype=object)[prim]
            for j, i in enumerate(sel):
                code = prim_codes[j]
                if header[i]:
                    code = cat.HEADER_DX[name]
                elif initial[i] and code in cat.INITIAL_ENCOUNTER:
                    code = cat.INITIAL_ENCOUNTER[code]
                dx[i, 0] = vid(code)
            scodes, sw = zip(*cat.SECONDARY_DX[name], strict=True)
            sw = np.array(sw, float) / sum(sw)
            for slot in (1, 2):
                pick = sel[n_sec[sel] >= slot]
                if not len(pick):
                    continue
                draws = rng.choice(len(scodes), len(pick), p=sw)
                for i, d in zip(pick, draws, strict=True):
                    code = vid(scodes[d])
                    if code not in dx[i, :slot]:
                        dx[i, slot] = code
        self.dx = dx
        self.dx_vocab = np.array(list(vocab), dtype=object)
        self.header_dx = header
        self.dx_support = np.array([cat.dx_support(c) for c in self.dx_vocab])
        self.dx_conditional = np.array(
            [c.startswith(cat.CONDITIONAL_PREFIXES) for c in self.dx_vocab]
        )
        self.dx_weak = np.array(
            [c.startswith(cat.WEAK_PREFIXES) for c in self.dx_vocab]
        )
        self.dx_is_header = np.isin(self.dx_vocab, list(cat.HEADER_DX.values()))
        self.dx_initial = np.isin(self.dx_vocab, list(cat.INITIAL_ENCOUNTER.values()))


class Visits:
    """One row per treatment day of an episode (before the window is cut)."""

    def __init__(self, prm: WorldParams, pr: Practice, ep: Episodes, rng):
        nvis = ep.nvis
        V = int(nvis.sum())
        v_ep = np.repeat(np.arange(ep.E), nvis)
        offsets = np.concatenate([[0], np.cumsum(nvis)[:-1]])
        k = np.arange(V) - offsets[v_ep] + 1
        f = ep.freq[v_ep]
        gap = np.where(
            f == 1, 7, np.where(f == 2, rng.choice([3, 4], V), rng.choice([2, 2, 3], V))
        )
        gap = gap + np.where(rng.random(V) < 0.08, gap, 0)
        gap = gap + np.where(rng.random(V) < 0.015, rng.integers(7, 22, V), 0)
        gap[k == 1] = 0
        cs = np.cumsum(gap)
        raw = ep.start[v_ep] + cs - cs[offsets[v_ep]]
        wd = (raw + 3) % 7  # Monday = 0
        raw = raw + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
        dos = cummax_in_group(raw - k, v_ep) + k
        eval_day = dos[offsets]
        self.V, self.ep, self.k, self.dos = V, v_ep, k, dos
        self.eval_day = eval_day  # per episode
        self.is_eval = k == 1
        # certification intervals and re-evaluations
        L = ep.cert_len[v_ep]
        c = np.minimum((dos - eval_day[v_ep]) // L, MAX_CERTS - 1)
        new_c = np.zeros(V, dtype=bool)
        new_c[1:] = (c[1:] != c[:-1]) & (v_ep[1:] == v_ep[:-1])
        self.cert_idx = c
        self.is_reeval = new_c & (rng.random(V) < 0.75)
        # progress reports: every pr_period treatment days unless skipped
        due = (k > 1) & (k % ep.pr_period[v_ep] == 0)
        self.is_report = (due & (rng.random(V) >= ep.pr_skip[v_ep])) | self.is_reeval
        # rendering clinician
        prov = ep.provider[v_ep].copy()
        clinic = ep.clinic[v_ep]
        plain = ~(self.is_eval | self.is_reeval | self.is_report)
        u = rng.random(V)
        use_pta = plain & ~ep.ot[v_ep] & (u < pr.clinic_pta_share[clinic])
        cover = plain & ~use_pta & (rng.random(V) < 0.07)
        u2 = rng.random(V)
        for c_ in range(pr.n_clin):
            for mask, cred in (
                (use_pta, 1),
                (cover & ~ep.ot[v_ep], 0),
                (cover & ep.ot[v_ep], 2),
            ):
                sel = mask & (clinic == c_)
                cand = np.flatnonzero((pr.prov_clinic == c_) & (pr.prov_cred == cred))
                if sel.any() and len(cand):
                    prov[sel] = cand[(u2[sel] * len(cand)).astype(int)]
        self.provider = prov
        self.clinic = clinic
        self.payer = ep.payer[v_ep]
        self.patient = ep.patient[v_ep]
        home = (ep.cond[v_ep] == 0) & (rng.random(V) < 0.04)
        self.pos_code = np.where(home, POS_CODES.index("12"), pr.clinic_pos[clinic])


# --- procedure lines -----------------------------------------------------------

# inclusion probability of each code on a treatment visit, per condition
_TREAT = {
    "neuro": {
        "97112": 0.82,
        "97110": 0.45,
        "97140": 0.06,
        "97530": 0.50,
        "97116": 0.45,
        "97535": 0.05,
        "97032": 0.08,
        "97150": 0.05,
        "G0283": 0.05,
    },
    "vestibular": {
        "97112": 0.85,
        "97110": 0.35,
        "97140": 0.05,
        "97530": 0.35,
        "97116": 0.20,
        "97535": 0.02,
        "97150": 0.03,
        "95992": 0.12,
    },
    "ortho_lower": {
        "97112": 0.42,
        "97110": 0.90,
        "97140": 0.55,
        "97530": 0.35,
        "97116": 0.12,
        "97535": 0.02,
        "97124": 0.02,
        "97035": 0.06,
        "97032": 0.04,
        "97150": 0.04,
        "G0283": 0.22,
    },
    "spine": {
        "97112": 0.25,
        "97110": 0.85,
        "97140": 0.60,
        "97530": 0.30,
        "97116": 0.03,
        "97535": 0.03,
        "97124": 0.10,
        "97035": 0.10,
        "97032": 0.05,
        "97150": 0.05,
        "G0283": 0.30,
    },
    "upper_limb": {
        "97112": 0.28,
        "97110": 0.65,
        "97140": 0.40,
        "97530": 0.70,
        "97535": 0.35,
        "97124": 0.05,
        "97035": 0.08,
        "97032": 0.08,
        "97150": 0.03,
        "G0283": 0.10,
    },
}
_EVAL_MIX = {  # 97161/97162/97163 per condition
    "neuro": [0.10, 0.40, 0.50],
    "vestibular": [0.30, 0.50, 0.20],
    "ortho_lower": [0.35, 0.50, 0.15],
    "spine": [0.40, 0.50, 0.10],
    "upper_limb": [0.30, 0.50, 0.20],
}
# intended 15-minute blocks (1..4) per timed code
_BLOCKS = {
    "97112": [0.62, 0.33, 0.05, 0],
    "97110": [0.35, 0.45, 0.17, 0.03],
    "97140": [0.68, 0.30, 0.02, 0],
    "97530": [0.50, 0.42, 0.08, 0],
    "97116": [0.60, 0.38, 0.02, 0],
    "97535": [0.60, 0.38, 0.02, 0],
    "97124": [0.80, 0.20, 0, 0],
    "97035": [1, 0, 0, 0],
    "97032": [1, 0, 0, 0],
}
_BLOCKS_NEURO_97112 = [0.30, 0.52, 0.15, 0.03]


class Lines:
    """Codes, minutes and units of every visit, billed as the practice bills."""

    def __init__(self, prm: WorldParams, pr: Practice, ep: Episodes, vi: Visits, rng):
        payers = pr.payers
        V = vi.V
        nC = len(cat.CODES)
        cond = ep.cond[vi.ep]
        ot = ep.ot[vi.ep]
        probs = np.zeros((V, nC))
        for ci, name in enumerate(cat.CONDITIONS):
            row = np.zeros(nC)
            for code, p in _TREAT[name].items():
                row[cat.C[code]] = p
            probs[cond == ci] = row
        if ot.any():
            probs[ot, cat.C["97116"]] *= 0.1
            probs[ot, cat.C["97535"]] = np.minimum(1, probs[ot, cat.C["97535"]] * 2)
            probs[ot, cat.C["97530"]] = np.minimum(1, probs[ot, cat.C["97530"]] * 1.2)
        probs[cond == 1, cat.C["95992"]] *= vi.k[cond == 1] <= 4
        probs[vi.is_eval] *= 0.35
        probs[vi.is_eval, cat.C["97150"]] = 0
        probs[vi.is_reeval] *= 0.8
        inc = rng.random((V, nC)) < probs
        # evaluation / re-evaluation codes
        ev = np.zeros(V, dtype=np.int64)
        for ci, name in enumerate(cat.CONDITIONS):
            sel = vi.is_eval & (cond == ci) & ~ot
            ev[sel] = np.array(cat.EVAL_PT)[rng.choice(3, sel.sum(), p=_EVAL_MIX[name])]
        sel = vi.is_eval & ot
        ev[sel] = np.array(cat.EVAL_OT)[rng.choice(2, sel.sum(), p=[0.4, 0.6])]
        inc[vi.is_eval, ev[vi.is_eval]] = True
        inc[vi.is_reeval & ~ot, cat.C["97164"]] = True
        inc[vi.is_reeval & ot, cat.C["97168"]] = True
        empty = ~inc.any(axis=1)
        inc[empty, probs[empty].argmax(axis=1)] = True
        l_visit, l_code = np.nonzero(inc)
        n0 = len(l_visit)
        timed = cat.CODE_TIMED[l_code]
        # minutes of timed codes
        blocks = np.zeros(n0, dtype=np.int64)
        neuro = np.isin(cond[l_visit], [0, 1])
        for code, dist in _BLOCKS.items():
            sel = l_code == cat.C[code]
            if code == "97112":
                for mask, d in (
                    (sel & neuro, _BLOCKS_NEURO_97112),
                    (sel & ~neuro, dist),
                ):
                    blocks[mask] = 1 + rng.choice(4, mask.sum(), p=d)
            else:
                blocks[sel] = 1 + rng.choice(4, sel.sum(), p=dist)
        at_eval = vi.is_eval[l_visit]
        blocks = np.where(
            at_eval, np.minimum(blocks, 1 + (rng.random(n0) < 0.3)), blocks
        )
        mue = (l_code == cat.C["97112"]) & neuro & (rng.random(n0) < 0.004)
        blocks[mue] = 5
        minutes = 15 * blocks + np.rint(rng.normal(-1.5, 4.5, n0)).astype(np.int64)
        minutes = np.clip(minutes, 5, 15 * blocks + 12)
        short = rng.random(n0) < 0.12
        minutes = np.where(short, rng.integers(3, 12, n0), minutes)
        minutes = np.where(timed, minutes, 0)
        visit_timed = np.bincount(l_visit, weights=minutes, minlength=V).astype(
            np.int64
        )
        # correct units under the payer's rule
        rule_cms = np.array([p.time_rule == "cms" for p in payers])[vi.payer]
        per_code = np.where(minutes >= 8, (minutes + 7) // 15, 0)
        cms_units = _cms_allocation(l_visit, minutes, timed, visit_timed)
        correct = np.where(timed, np.where(rule_cms[l_visit], cms_units, per_code), 1)
        # what the practice bills
        billed = correct.copy()
        habit = pr.prov_unit_habit[vi.provider[l_visit]] & rule_cms[l_visit]
        habit &= (rng.random(V) < 0.7)[l_visit]
        billed = np.where(habit & timed, per_code, billed)
        sloppy = 1.0 - pr.prov_quality[vi.provider]
        plus_one = rng.random(V) < 0.025 + 0.10 * sloppy
        cand = timed & (billed > 0)
        # +1 unit on the visit's 97112 line if there is one, else its first timed line
        score = np.where(cand, 1 + (l_code == cat.C["97112"]), 0)
        best = _argmax_in_visit(l_visit, score, V)
        bump = np.zeros(n0, dtype=bool)
        ok = plus_one & (best >= 0)
        bump[best[ok]] = True
        billed = billed + bump
        short_bill = (l_code == cat.C["97112"]) & (billed == 0) & (minutes >= 4)
        short_bill &= rng.random(n0) < 0.15 + 0.5 * sloppy[l_visit]
        billed = np.where(short_bill, 1, billed)
        keep = billed > 0
        self.visit = l_visit[keep]
        self.code = l_code[keep]
        self.minutes = minutes[keep]
        self.timed = timed[keep]
        self.units = billed[keep]
        self.correct_units = correct[keep]
        self.visit_timed = visit_timed
        start = group_starts(self.visit)
        self.line_number = rank_in_group(start) + 1
        self.n = len(self.visit)
        # e-stim: G0283 for Medicare-type payers, 97014 elsewhere (with mistakes)
        medicare_type = np.array(
            [
                p.payer_class in ("medicare", "medicare_advantage", "tricare")
                for p in payers
            ]
        )[vi.payer[self.visit]]
        estim = self.code == cat.C["G0283"]
        wrong = rng.random(self.n) < np.where(medicare_type, 0.12, 0.10)
        # code index into CPT_NAMES (the catalogue plus 97014)
        self.cpt_idx = self.code.copy()
        self.cpt_idx[estim & ~(medicare_type ^ wrong)] = len(cat.CODES)
        self.cpt = CPT_NAMES[self.cpt_idx]
        self.e97014_medicare = estim & medicare_type & wrong


def _cms_allocation(l_visit, minutes, timed, visit_timed):
    """Units per line under the CMS total-time rule (Pub. 100-04 ch. 5 §20.2).

    The day's units come from the total timed minutes; each code first gets
    its whole 15-minute blocks, the units left go to the codes with the most
    remaining minutes.
    """
    V = len(visit_timed)
    total = np.where(visit_timed >= 8, (visit_timed + 7) // 15, 0)
    full = np.where(timed, minutes // 15, 0)
    rem = np.where(timed, minutes % 15, -1)
    left = total - np.bincount(l_visit, weights=full, minlength=V).astype(np.int64)
    order = np.lexsort((-minutes, -rem, l_visit))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = rank_in_group(group_starts(l_visit[order]))
    extra = timed & (rank < left[l_visit]) & (rem > 0)
    return full + extra


def _argmax_in_visit(l_visit, score, V):
    """Index of the line with the highest positive score per visit (-1: none)."""
    order = np.lexsort((-score, l_visit))
    first = order[group_starts(l_visit[order])]
    best = np.full(V, -1, dtype=np.int64)
    best[l_visit[first]] = np.where(score[first] > 0, first, -1)
    return best


# --- Medicare year-to-date and KX --------------------------------------------------


def medicare_ytd(prm, pr, ep, vi, li, rng):
    """Per visit: the KX bucket's allowed amount before the day, known and true.

    Returns ``(ytd_known, ytd_true, visit_allowed)``; ``ytd`` is NaN for
    visits that are not billed to a KX payer. The practice knows therapy
    elsewhere only in part (eligibility responses), so the true amount can be
    higher than the exported one.
    """
    payers = pr.payers
    kx_payer = np.array([p.kx_required for p in payers])[vi.payer]
    years = year_of(vi.dos)
    cf = conversion_factor(years)
    pta = pr.prov_cred[vi.provider] == 1
    line_allowed = cat.CODE_RVU[li.code] * li.units * cf[li.visit]
    line_allowed = line_allowed * np.where(pta[li.visit], 0.85, 1.0)
    visit_allowed = np.bincount(li.visit, weights=line_allowed, minlength=vi.V)
    bucket = ep.ot[vi.ep].astype(np.int64)
    y0 = years.min()
    key_py = (vi.patient * 2 + bucket) * 64 + (years - y0)
    order = np.lexsort((vi.dos, key_py))
    k_sorted = key_py[order]
    d_sorted = vi.dos[order]
    amt = np.where(kx_payer[order], visit_allowed[order], 0.0)
    grp = group_starts(k_sorted)
    day_start = group_starts(k_sorted, d_sorted)
    before = cumsum_exclusive(amt, grp)
    # same-day visits: all see the amount before the day
    before = before[start_index(day_start)]
    # therapy elsewhere this year: some known to the practice, some not
    n_keys = int(key_py.max()) + 1
    u = np.random.default_rng(rng.integers(2**63)).random((2, n_keys))
    known = np.where(u[0] < 0.25, 100 + u[1] * 2500, 0.0)
    hidden = np.where((u[0] > 0.9), 200 + u[1] * 1300, 0.0)
    ytd_known = np.empty(vi.V)
    ytd_true = np.empty(vi.V)
    ytd_known[order] = before + known[k_sorted]
    ytd_true[order] = before + known[k_sorted] + hidden[k_sorted]
    ytd_known[~kx_payer] = np.nan
    ytd_true[~kx_payer] = np.nan
    return ytd_known, ytd_true, visit_allowed


def conversion_factor(years: np.ndarray) -> np.ndarray:
    last = cat.CONVERSION_FACTOR[max(cat.CONVERSION_FACTOR)]
    return np.array(
        [
            cat.CONVERSION_FACTOR.get(int(y), last)
            for y in range(years.min(), years.max() + 1)
        ]
    )[years - years.min()]


def kx_threshold(years: np.ndarray) -> np.ndarray:
    last = max(cat.KX_THRESHOLDS)
    return np.array(
        [
            cat.KX_THRESHOLDS.get(int(y), cat.KX_THRESHOLDS[last])
            for y in range(years.min(), years.max() + 1)
        ]
    )[years - years.min()]


# --- documentation ------------------------------------------------------------------


class Documentation:
    """Notes, progress reports and certifications, with the day each was signed."""

    def __init__(
        self, prm: WorldParams, pr: Practice, ep: Episodes, vi: Visits, li: Lines, rng
    ):
        V = vi.V
        late = prm.late_docs
        v_prov = vi.provider
        q = pr.prov_quality[v_prov]
        cls = pr.prov_late[v_prov]
        # daily note signature: same day for most, days or weeks for some
        mean = np.array([0.4, 3.0, 9.0])[cls]
        delay = rng.geometric(1.0 / (1.0 + mean)) - 1
        delay = np.where(
            rng.random(V) < 0.02 * (cls + 1), delay + rng.integers(10, 40, V), delay
        )
        never = rng.random(V) < 0.003 * (1 + cls)
        self.note_signed = np.where(never, -1, vi.dos + (delay if late else 0))
        # progress reports: signed at the report visit or later
        rmean = np.array([0.8, 5.0, 14.0])[cls]
        rdelay = rng.geometric(1.0 / (1.0 + rmean)) - 1
        self.report_signed = np.where(
            vi.is_report, vi.dos + (rdelay if late else 0), -1
        )
        # certifications: per episode and interval
        E = ep.E
        ecls = pr.prov_late[ep.provider]
        init = np.select(
            [rng.random(E) < 0.5, rng.random(E) < 0.6],
            [rng.integers(1, 11, E), rng.integers(10, 26, E)],
            rng.integers(26, 61, E),
        )
        init = init + np.where(ecls == 2, rng.integers(0, 30, E), 0)
        recert = rng.integers(-20, 16, (E, MAX_CERTS))
        recert = recert + np.where(ecls == 2, rng.integers(0, 25, E), 0)[:, None]
        never_p = np.where(ecls == 2, 0.12, 0.05)
        cert_never = rng.random((E, MAX_CERTS)) < never_p[:, None]
        L = ep.cert_len[:, None]
        c_idx = np.arange(MAX_CERTS)[None, :]
        if late:
            sign = vi.eval_day[:, None] + np.where(
                c_idx == 0, init[:, None], c_idx * L + recert
            )
        else:  # signed before the certified period's first claim went out
            sign = vi.eval_day[:, None] + np.where(c_idx == 0, 0, c_idx * L - 5)
        self.cert_sign = np.where(cert_never, -1, sign)
        self.cert_through = vi.eval_day[:, None] + (c_idx + 1) * L - 1
        # deficits: an episode's findings, each written or not on a given day
        cond = ep.cond
        base_p = np.array(
            [
                [0.80, 0.50, 0.15, 0.40, 0.35],  # neuro
                [0.85, 0.30, 0.05, 0.15, 0.30],  # vestibular
                [0.40, 0.05, 0.02, 0.05, 0.45],  # ortho_lower
                [0.10, 0.02, 0.02, 0.35, 0.10],  # spine
                [0.10, 0.30, 0.15, 0.05, 0.25],  # upper_limb
            ]
        )
        ep_def = rng.random((E, 5)) < base_p[cond]
        written = rng.random((V, 5)) < (0.55 + 0.45 * q)[:, None]
        vdef = ep_def[vi.ep] & written
        self.deficit_mask = (vdef * (1 << np.arange(5))).sum(axis=1)
        # interventions written in the note, from the codes of the visit
        iv_names = list(_INTERVENTIONS)
        iv_bit = {n: 1 << i for i, n in enumerate(iv_names)}
        mask = np.zeros(V, dtype=np.int64)
        for code, name in cat.CODE_INTERVENTION.items():
            has = np.zeros(V, dtype=bool)
            has[li.visit[li.code == cat.C[code]]] = True
            mask |= np.where(has, iv_bit[name], 0)
        has112 = np.zeros(V, dtype=bool)
        has112[li.visit[li.code == cat.C["97112"]]] = True
        # what the 97112 time is described as
        neuro_pick = np.array(
            [
                [
                    0.45,
                    0.25,
                    0.05,
                    0.10,
                    0.15,
                ],  # neuro: NMR, balance, proprio, postural, coord
                [0.30, 0.55, 0.10, 0.03, 0.02],
                [0.20, 0.35, 0.40, 0.03, 0.02],
                [0.30, 0.15, 0.15, 0.35, 0.05],
                [0.35, 0.05, 0.20, 0.05, 0.35],
            ]
        )[cond[vi.ep]]
        first = choice_rows(rng, neuro_pick)
        second = choice_rows(rng, neuro_pick)
        two = rng.random(V) < 0.45
        nbits = np.array([iv_bit[n] for n in cat.NEURO_INTERVENTIONS])
        content_p = 0.04 + 0.12 * (1.0 - q)
        self.content_gap = has112 & (rng.random(V) < content_p)
        nm = nbits[first] | np.where(two, nbits[second], 0)
        mask |= np.where(has112 & ~self.content_gap, nm, 0)
        # a content gap is 97112 time described as gait, exercise or e-stim
        gap_kind = rng.choice(3, V, p=[0.5, 0.35, 0.15])
        gap_bits = np.array(
            [iv_bit["gait_training"], iv_bit["therapeutic_exercise"], iv_bit["nmes"]]
        )[gap_kind]
        mask |= np.where(self.content_gap, gap_bits, 0)
        self.intervention_mask = mask
        key_visit = vi.is_eval | vi.is_reeval | vi.is_report
        self.objective = rng.random(V) < q * np.where(key_visit, 0.92, 0.45)


_INTERVENTIONS = (
    "neuromuscular_reeducation",
    "balance_training",
    "proprioceptive_training",
    "postural_training",
    "coordination_training",
    "gait_training",
    "nmes",
    "therapeutic_exercise",
    "manual_therapy",
    "therapeutic_activities",
    "group_therapy",
)


def submission_days(prm, pr, ep, vi, doc, rng):
    """Day each visit's claim was sent: billing cadence, holds, lost claims."""
    V = vi.V
    cad = pr.clinic_cadence[vi.clinic]
    daily = 1 + rng.geometric(0.6, V) - 1
    wd = (vi.dos + 3) % 7
    to_tue_fri = np.where(wd < 1, 1 - wd, np.where(wd < 4, 4 - wd, 8 - wd))
    to_fri = (4 - wd) % 7 + 1
    lag = np.select([cad == 0, cad == 1], [daily, to_tue_fri], to_fri)
    lag = lag - (rng.random(V) < 0.05) * lag  # sent the same day
    sub = vi.dos + lag
    hold = pr.clinic_hold_unsigned[vi.clinic]
    signed = doc.note_signed
    sub = np.where(hold & (signed >= 0), np.maximum(sub, signed + 1), sub)
    sub = np.where(hold & (signed < 0), sub + 30, sub)
    held = rng.random(V) < 0.03
    sub = sub + np.where(held, rng.integers(15, 81, V), 0)
    lost = rng.random(V) < 0.006
    sub = sub + np.where(lost, rng.integers(80, 420, V), 0)
    return sub.astype(np.int64)
