"""Score the offline CV parser on labelled CVs: precision, recall and F1 per field, and time per CV.

Usage: python bench/parse_eval.py [DATA_DIR] [--half 1|2] [--show FIELD]

DATA_DIR defaults to ../shared/data/cv-ner-dev relative to the repository root. Each file is a CV with inline
`<label type="...">` tags; the tags are removed and the plain text is parsed.

Matching rule (per CV, then summed over all CVs, i.e. micro-averaged):
- Each value is normalised: lower case, dots removed, every other non-alphanumeric character (except + and #)
  turned into a space, whitespace collapsed. Skills are also mapped through the skills vocabulary's aliases, so
  "Postgres" and "PostgreSQL" are the same skill.
- Gold and predicted values are de-duplicated per CV (as sets).
- A predicted value matches a gold value when they are equal, or when their token overlap is large enough:
  Dice = 2·|A∩B| / (|A|+|B|) ≥ 0.5 over word tokens, ignoring the filler words in/of/the/and/at/&.
  So "B.E." matches "B.E. in ENC", "Oracle India Pvt Ltd" does not match "oracle".
- Precision = matched predicted values / predicted values; recall = matched gold values / gold values.

Field mapping (label → JSON Resume): Name → basics.name; Email Address → basics.email; Designation →
work[].position; Companies worked at → work[].name; College Name → education[].institution; Degree →
education[].studyType + " " + area; Tech Tools + Job Specific Skills → skills[].name and skills[].keywords.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.local import parse_cv  # noqa: E402
from core.local.skills import vocabulary  # noqa: E402

FIELDS = {
    "name": ("Name",),
    "email": ("Email Address",),
    "title": ("Designation",),
    "company": ("Companies worked at",),
    "college": ("College Name",),
    "degree": ("Degree",),
    "skills": ("Tech Tools", "Job Specific Skills"),
}
_LABEL = re.compile(r'<label type="([^"]+)">(.*?)</label>', re.S)
_FILLER = {"in", "of", "the", "and", "at", "&"}


def norm(value: str) -> str:
    value = html.unescape(value).lower().replace(".", "")
    return " ".join(re.sub(r"[^a-z0-9+#]+", " ", value).split())


def norm_skill(value: str) -> str:
    canon = vocabulary().canonical(html.unescape(value))
    return norm(canon or value)


def tokens(value: str) -> set[str]:
    return {t for t in value.split() if t not in _FILLER} or set(value.split())


def same(a: str, b: str) -> bool:
    if a == b:
        return True
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return False
    return 2 * len(ta & tb) / (len(ta) + len(tb)) >= 0.5


def gold_of(xml: str) -> tuple[str, dict[str, set[str]]]:
    body = xml.split("<cv>", 1)[-1].rsplit("</cv>", 1)[0]
    gold: dict[str, set[str]] = {f: set() for f in FIELDS}
    for typ, val in _LABEL.findall(body):
        for field, labels in FIELDS.items():
            if typ in labels:
                v = norm_skill(val) if field == "skills" else norm(val)
                if v:
                    gold[field].add(v)
    text = html.unescape(re.sub(r"</?label[^>]*>", "", body)).strip()
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return text, gold


def predicted(resume: dict) -> dict[str, set[str]]:
    basics = resume["basics"]
    skills = set()
    for group in resume["skills"]:
        for v in [group.get("name", ""), *group.get("keywords", [])]:
            if norm_skill(v):
                skills.add(norm_skill(v))
    out = {
        "name": {norm(basics.get("name", ""))},
        "email": {norm(basics.get("email", ""))},
        "title": {norm(w.get("position", "")) for w in resume["work"]},
        "company": {norm(w.get("name", "")) for w in resume["work"]},
        "college": {norm(e.get("institution", "")) for e in resume["education"]},
        "degree": {norm(f"{e.get('studyType', '')} {e.get('area', '')}") for e in resume["education"]},
        "skills": skills,
    }
    return {k: {x for x in v if x} for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data" / "cv-ner-dev"))
    ap.add_argument("--half", type=int, choices=(1, 2), help="score only the first or second half of the files")
    ap.add_argument("--show", help="print misses for one field")
    args = ap.parse_args()

    files = sorted(Path(args.data_dir).glob("*.xml"), key=lambda p: (len(p.stem), p.stem))
    if args.half:
        mid = len(files) // 2
        files = files[:mid] if args.half == 1 else files[mid:]
    counts = {f: [0, 0, 0, 0] for f in FIELDS}  # matched pred, pred, matched gold, gold
    times = []
    cpu0 = time.process_time()
    for path in files:
        text, gold = gold_of(path.read_text(encoding="utf-8"))
        t0 = time.perf_counter()
        resume = parse_cv(text)
        times.append(time.perf_counter() - t0)
        pred = predicted(resume)
        for field in FIELDS:
            g, p = gold[field], pred[field]
            mp = sum(any(same(x, y) for y in g) for x in p)
            mg = sum(any(same(y, x) for x in p) for y in g)
            c = counts[field]
            c[0] += mp
            c[1] += len(p)
            c[2] += mg
            c[3] += len(g)
            if args.show == field and (mp < len(p) or mg < len(g)):
                print(f"{path.name}: gold={sorted(g)} pred={sorted(p)}")

    print(f"CVs: {len(files)} from {args.data_dir}")
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    print(f"{'field':10} {'precision':>9} {'recall':>7} {'F1':>6} {'gold':>6} {'pred':>6}")
    for field, (mp, np_, mg, ng) in counts.items():
        p = mp / np_ if np_ else 0.0
        r = mg / ng if ng else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{field:10} {p:9.3f} {r:7.3f} {f1:6.3f} {ng:6d} {np_:6d}")
    cpu = time.process_time() - cpu0
    times.sort()
    mean = sum(times) / len(times) * 1000
    print(
        f"time per CV: mean {mean:.2f} ms, median {times[len(times) // 2] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms"
    )
    print(
        f"CPU time per CV (whole run incl. scoring): {cpu / len(files) * 1000:.2f} ms;"
        f" load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
