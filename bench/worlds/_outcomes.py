"""The latent denial model and the remittance (835-like) fields it produces.

A line's denial log-odds is a sum of named terms: payer, code, clinician,
patient and clinic levels, season, calendar drift, noise, and the billing
and documentation conditions that raise it. The terms are not rules
replayed: most are soft (scaled by a payer's strictness), some depend on
what existed when the claim was sent *and* on what came later (a late
certification signed before adjudication hurts less than one never signed).
The realized outcome is a Bernoulli draw of the truth probability with
lines of a claim sharing part of their randomness; the reason printed on the
remittance is drawn in proportion to the terms that raised the line.
"""

from __future__ import annotations

import numpy as np

from bench.worlds import _catalog as cat
from bench.worlds._arrays import sigmoid

MEDICARE_TYPE = ("medicare", "medicare_advantage", "tricare")
SEASON = {1: 0.22, 2: 0.10, 6: -0.05, 7: -0.06, 8: -0.05, 12: 0.08}
CODE_OFFSET = {
    "97161": -0.7, "97162": -0.7, "97163": -0.7, "97165": -0.7, "97166": -0.7,
    "97164": -0.3, "97168": -0.3, "97112": 0.0, "97110": -0.15, "97140": -0.05,
    "97530": 0.05, "97116": -0.1, "97535": 0.1, "97124": 0.25, "97035": 0.35,
    "97032": 0.1, "97150": 0.2, "G0283": 0.0, "95992": 0.0,
}

# reason -> (Medicare-type payers, other payers): (CARC with group, RARC)
REASON_CODES = {
    "units": (("CO-151", "N362"), ("CO-151", "N362")),
    "mue": (("CO-151", "N362"), ("CO-151", "N362")),
    "gp_missing": (("CO-4", "N822"), ("CO-4", "N822")),
    "cq_missing": (("CO-4", "N822"), ("CO-4", "N822")),
    "kx_missing": (("CO-119", "N640"), ("CO-119", "N640")),
    "cert": (("CO-50", "N29"), ("CO-16", "N29")),
    "progress": (("CO-B12", "N29"), ("CO-B12", "N29")),
    "note_unsigned": (("CO-16", "N29"), ("CO-16", "N29")),
    "auth_missing": (("CO-197", "M62"), ("CO-197", "M62")),
    "auth_exceeded": (("CO-198", "N54"), ("CO-198", "N54")),
    "timely": (("CO-29", ""), ("CO-29", "")),
    "dx_invalid": (("CO-16", "M76"), ("CO-16", "M76")),
    "dx_support": (("CO-50", "N115"), ("CO-11", "N657")),
    "content": (("CO-50", "N115"), ("CO-50", "N130")),
    "referring": (("CO-16", "N286"), ("CO-16", "N286")),
    "ncci": (("CO-97", "M80"), ("CO-236", "M80")),
    "payer_edit": (("CO-97", "M80"), ("CO-97", "M80")),
    "benefit_limit": (("CO-119", "N640"), ("CO-119", "N640")),
    "eligibility": (("CO-27", "N30"), ("CO-27", "N30")),
    "invalid_code": (("CO-181", ""), ("CO-181", "")),
    "necessity": (("CO-50", "N115"), ("CO-50", "N130")),
    "policy": (("CO-50", "N115"), ("CO-50", "N130")),
}
BACKGROUND = {
    "medicare": [
        (("CO-50", "N115"), .25), (("CO-16", "N29"), .15), (("OA-18", ""), .12),
        (("CO-22", ""), .10), (("CO-109", ""), .10), (("CO-B7", ""), .05),
        (("CO-27", "N30"), .08), (("CO-96", "N130"), .05), (("CO-B12", "N29"), .10),
    ],
    "commercial": [
        (("CO-50", "N130"), .20), (("CO-16", "N29"), .15), (("OA-18", ""), .10),
        (("CO-22", ""), .12), (("CO-27", "N30"), .12), (("PR-204", "N130"), .10),
        (("CO-96", "N130"), .08), (("CO-B7", ""), .05), (("CO-197", "M62"), .08),
    ],
    "injury": [
        (("CO-50", "N130"), .25), (("CO-16", "N29"), .25), (("OA-18", ""), .10),
        (("CO-B12", "N29"), .15), (("CO-96", "N130"), .10), (("CO-22", ""), .15),
    ],
}


def denial_terms(x: dict, prm, payers, edits, changes) -> dict[str, np.ndarray]:
    """Named log-odds terms per line; ``background`` holds the levels."""
    n = len(x["code"])
    pi = x["payer"]

    def attr(name, dtype=float):
        return np.array([getattr(p, name) for p in payers], dtype=dtype)[pi]

    pclass = attr("payer_class", object)
    medicare_type = np.isin(pclass, MEDICARE_TYPE)
    review = attr("unit_review")
    doc = attr("doc_strict")
    dxs = attr("dx_strict")
    cert_w = attr("cert_weight")
    is112 = x["cpt"] == "97112"
    t: dict[str, np.ndarray] = {}

    # levels
    code_off = np.array([CODE_OFFSET[c] for c in cat.CODE_NAMES])[x["code"]]
    month = x["sub_month"]
    season = np.zeros(n)
    for m, v in SEASON.items():
        season[month == m] = v
    years = (x["sub"] - x["start_day"]) / 365.25
    t["background"] = (
        attr("base") + code_off + x["prov_eff"] + x["pat_eff"] + x["clinic_eff"]
        + season + prm.trend * years + x["noise"] + prm.level
    )
    # units
    over = np.maximum(x["units"] - x["correct_units"], 0)
    units = np.where(x["timed"] & (over > 0), (0.8 + 0.4 * (over - 1)) * review, 0.0)
    ama = attr("time_rule", object) == "ama"
    short = is112 & ama & (x["minutes"] < 8)
    t["units"] = units + np.where(short, 1.6 * review, 0.0)
    t["mue"] = np.where(is112 & (x["units"] > 4), 3.5, 0.0)
    # modifiers
    mods = x["mods"]
    has = {m: (mods & bit) > 0 for m, bit in x["mod_bits"].items()}
    therapy = has["GP"] | has["GO"]
    t["gp_missing"] = np.where(attr("gp_required", bool) & ~therapy, 3.0, 0.0)
    t["kx_missing"] = np.where(attr("kx_required", bool) & x["kx_needed"] & ~has["KX"],
                               3.4, 0.0)
    t["cq_missing"] = np.where(attr("cq_required", bool) & x["pta"] & ~has["CQ"],
                               0.5, 0.0)
    # plan of care certification: on file when sent? signed before adjudication?
    at_send, by_adj, grace = x["cert_at_send"], x["cert_by_adj"], x["cert_grace"]
    cert = np.where(
        at_send, 0.0,
        np.where(grace,
                 np.where(by_adj, 0.35, 1.3) + np.where(medicare_type, 0.0, 0.3),
                 np.where(by_adj, 0.6, 2.0)),
    )
    t["cert"] = cert * cert_w * doc
    # progress reports as they stood when the claim was sent
    late_pr = np.clip(x["since_send"] - 10, 0, 12) * 0.14
    late_pr = np.where(x["since_adj"] <= 10, 0.5 * late_pr, late_pr)
    t["progress"] = np.where(cert_w > 0, late_pr * doc, 0.0)
    # daily note signature
    note = np.where(x["note_at_send"], 0.0, np.where(x["note_by_adj"], 0.3, 1.1))
    t["note_unsigned"] = note * doc
    # authorization
    t["auth_missing"] = np.where(x["auth_needed"] & ~x["auth_on_file"], 3.2, 0.0)
    t["auth_exceeded"] = np.where(x["auth_needed"] & x["auth_on_file"]
                                  & (x["auth_used"] >= x["auth_approved"]), 2.6, 0.0)
    # timely filing
    t["timely"] = np.where(x["sub"] - x["dos"] > attr("filing_days"), 6.5, 0.0)
    # diagnoses
    t["dx_invalid"] = np.where(x["dx_header"], 4.0, 0.0)
    no_def = x["deficits"] == 0
    prop_bal = (x["deficits"] & 0b10001) > 0  # balance or proprioception
    sup = x["dx_support"]
    weak = np.where(sup == 0, 0.9 + 1.1 * no_def,
                    np.where((sup == 1) & ~(x["dx_conditional"] & prop_bal),
                             0.5 + 0.6 * no_def, 0.0))
    initial = np.where(x["dx_initial"], 0.4, 0.0)  # A (initial) for rehab visits
    t["dx_support"] = np.where(is112, weak * dxs, 0.0) + initial
    # note content for the 97112 time
    content = 1.2 * x["content_gap"] + 0.5 * no_def + 0.25 * ~x["objective"]
    t["content"] = np.where(is112, content * doc, 0.0)
    t["referring"] = np.where((pclass == "medicare") & x["ref_missing"], 3.5, 0.0)
    # NCCI pairs (this world's table) and payer edits
    injury = np.isin(pclass, ["workers_comp", "auto", "other"])
    bypass = (mods & x["bypass_bits"]) > 0
    ncci_w = np.where(medicare_type | (pclass == "medicaid"), 2.8,
                      np.where(injury, 1.0, 2.2))
    ncci = np.where(x["ncci_col2"] & ~bypass, ncci_w, 0.0)
    strict = attr("strict_59", bool) & x["pair_140_530"] & bypass
    t["ncci"] = ncci + np.where(strict, 1.9, 0.0)
    pe = np.zeros(n)
    for e in edits:
        hit = (x["payer_id"] == e.payer_id) & (x["cpt"] == e.cpt_code)
        hit &= x["visit_has"](e.with_code) & ~bypass
        pe = pe + np.where(hit, e.log_odds, 0.0)
    t["payer_edit"] = pe
    limit = attr("visit_limit")
    t["benefit_limit"] = np.where((limit > 0) & (x["visits_ytd"] > limit), 3.0, 0.0)
    t["eligibility"] = np.where(x["dos"] > x["cover_end"], 4.5, 0.0)
    t["invalid_code"] = np.where(x["e97014_medicare"], 4.0, 0.0)
    long_ep = np.minimum(np.maximum(x["k"] - 24, 0) * 0.035, 0.9) * doc
    t["necessity"] = (long_ep + np.where(is112 & (x["units"] >= 3), 0.25, 0.0)
                      + np.where(x["tmr"], 0.25, 0.0))
    pol = np.zeros(n)
    for ch in changes:
        hit = (x["payer_id"] == ch.payer_id) & (x["sub"] >= x["day"](ch.date))
        if ch.cpt_code is not None:
            hit &= x["cpt"] == ch.cpt_code
        pol = pol + np.where(hit, ch.log_odds, 0.0)
    t["policy"] = pol
    return t


def realize(terms: dict, claim: np.ndarray, rho: float, rng):
    """Truth probability, realized denial and the reason drawn for it."""
    logit = sum(terms.values())
    p = np.clip(sigmoid(logit), 1e-4, 1 - 1e-4)
    n = len(p)
    # lines of a claim share their uniform with probability rho: the marginal
    # stays uniform, so P(denied) is exactly p, but denials cluster by claim
    u_claim = rng.random(int(claim.max()) + 1 if n else 0)[claim]
    u_line = rng.random(n)
    u = np.where(rng.random(n) < rho, u_claim, u_line)
    denied = u < p
    names = [k for k in terms if k != "background"] + ["background"]
    d = np.flatnonzero(denied)
    w = np.column_stack([np.maximum(terms[k][d], 0.0) for k in names[:-1]]
                        + [np.ones(len(d))])
    cum = np.cumsum(w, axis=1)
    pick = (rng.random(len(d))[:, None] * cum[:, -1:] > cum).sum(axis=1)
    reason = np.full(n, -1, dtype=np.int64)
    reason[d] = pick
    return logit, p, denied, reason, names


def remit_codes(reason_idx, names, pclass, denied, rng):
    """CARC (with group) and RARC of each denied line."""
    n = len(reason_idx)
    reason = np.array(names + [""], dtype=object)[reason_idx]
    carc = np.full(n, "", dtype=object)
    rarc = np.full(n, "", dtype=object)
    mtype = np.isin(pclass, MEDICARE_TYPE)
    for name, (mc, oc) in REASON_CODES.items():
        sel = denied & (reason == name)
        carc[sel & mtype], rarc[sel & mtype] = mc
        carc[sel & ~mtype], rarc[sel & ~mtype] = oc
    bg = denied & (reason == "background")
    group = np.where(mtype, "medicare",
                     np.where(np.isin(pclass, ["workers_comp", "auto", "other"]),
                              "injury", "commercial"))
    for g, mix in BACKGROUND.items():
        sel = np.flatnonzero(bg & (group == g))
        if not len(sel):
            continue
        codes, w = zip(*mix, strict=True)
        w = np.array(w) / sum(w)
        k = rng.choice(len(codes), len(sel), p=w)
        carc[sel] = np.array([c[0] for c in codes], dtype=object)[k]
        rarc[sel] = np.array([c[1] for c in codes], dtype=object)[k]
    return carc, rarc
