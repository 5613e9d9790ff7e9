"""Score the offline CV parser on labelled CVs: precision, recall and F1 per field, and time per CV.

Usage: python bench/parse_eval.py [DATA_DIR] [--half 1|2] [--folds K] [--show FIELD --half N]

Prints precision/recall/F1 for all CVs and for each half (files sorted by number, split in two), and the worse
half's F1: tune on one half, read the other. The worse half is the figure to trust for unseen CVs.
--folds K also prints F1 per field on K contiguous folds (files sorted by number), with the worst and the mean:
the spread says how much a figure moves between sets of CVs of the same kind.

"Tuning" here is a person reading the parser's misses (--show) and writing rules; nothing is fitted
automatically. So the protocol is: read misses only on the tuning half (--show needs --half, so the misses of
both halves are never printed together), write general rules, and report the other half as held out. After a
round on one half, only the other half's figure is an honest estimate for CVs the parser has not seen.

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


def _default_data_dir() -> str:
    """The labelled set beside the repository, or beside the shared checkout when run from a worktree."""
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / "shared" / "data" / "cv-ner-dev"
        if candidate.is_dir():
            return str(candidate)
    return str(ROOT.parent / "shared" / "data" / "cv-ner-dev")


def score(files: list[Path], show: str | None = None) -> tuple[dict[str, list[int]], list[float]]:
    """Per-field counts (matched pred, pred, matched gold, gold) and the CPU time of each parse."""
    counts = {f: [0, 0, 0, 0] for f in FIELDS}
    times = []
    for path in files:
        text, gold = gold_of(path.read_text(encoding="utf-8"))
        t0 = time.process_time()  # CPU time: the wall clock mostly measures other work on a shared machine
        resume = parse_cv(text)
        times.append(time.process_time() - t0)
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
            if show == field and (mp < len(p) or mg < len(g)):
                print(f"{path.name}: gold={sorted(g)} pred={sorted(p)}")
    return counts, times


def f1_of(c: list[int]) -> tuple[float, float, float]:
    mp, np_, mg, ng = c
    p = mp / np_ if np_ else 0.0
    r = mg / ng if ng else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def print_folds(files: list[Path], k: int) -> None:
    """F1 per field on k contiguous folds, then the worst fold and the mean over folds."""
    size = len(files) / k
    folds = [files[round(i * size) : round((i + 1) * size)] for i in range(k)]
    f1s = {f: [] for f in FIELDS}
    for part in folds:
        counts, _ = score(part)
        for field in FIELDS:
            f1s[field].append(f1_of(counts[field])[2])
    print(f"{k} folds of {', '.join(str(len(p)) for p in folds)} CVs: F1 per fold, worst, mean")
    for field in FIELDS:
        row = " ".join(f"{x:6.3f}" for x in f1s[field])
        print(f"{field:10} {row}   worst {min(f1s[field]):6.3f}   mean {sum(f1s[field]) / k:6.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default=_default_data_dir())
    ap.add_argument("--half", type=int, choices=(1, 2), help="score only the first or second half of the files")
    ap.add_argument("--show", help="print misses for one field (with --half: the tuning half only)")
    ap.add_argument("--folds", type=int, default=0, help="also score K contiguous folds and print worst and mean F1")
    args = ap.parse_args()
    if args.folds and (args.folds < 2 or args.half or args.show):
        ap.error("--folds needs K >= 2 and scores all CVs: do not combine it with --half or --show")
    if args.show and not args.half:
        ap.error("--show needs --half: read the misses of the tuning half only, and keep the other half held out")

    files = sorted(Path(args.data_dir).glob("*.xml"), key=lambda p: (len(p.stem), p.stem))
    if not files:
        sys.exit(f"no labelled CVs (*.xml) in {args.data_dir}")
    mid = len(files) // 2
    halves = {"half 1": files[:mid], "half 2": files[mid:]}
    if args.half:
        key = f"half {args.half}"
        halves = {key: halves[key]}
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    print(f"CVs: {len(files)} from {args.data_dir} (half 1: {mid}, half 2: {len(files) - mid})")
    cpu0 = time.process_time()
    results = {name: score(part, args.show) for name, part in halves.items()}
    cpu = time.process_time() - cpu0
    if len(results) == 2:
        total = {f: [a + b for a, b in zip(*(results[h][0][f] for h in results), strict=True)] for f in FIELDS}
        results = {"all": (total, [t for h in list(results) for t in results[h][1]]), **results}
    names = list(results)
    print(f"{'field':10} " + " ".join(f"{n + ' P/R/F1':>22}" for n in names) + f" {'worse half F1':>14}")
    for field in FIELDS:
        cells, halves_f1 = [], []
        for n in names:
            p, r, f1 = f1_of(results[n][0][field])
            cells.append(f"{p:6.3f} {r:6.3f} {f1:6.3f}  ")
            if n.startswith("half"):
                halves_f1.append(f1)
        print(f"{field:10} " + " ".join(f"{c:>22}" for c in cells) + f" {min(halves_f1):14.3f}")
    if args.folds:
        print_folds(files, args.folds)
    times = sorted(t for n in names if n != "all" for t in results[n][1])
    mean = sum(times) / len(times) * 1000
    print(
        f"CPU time per CV (parse only): mean {mean:.2f} ms, median {times[len(times) // 2] * 1000:.2f} ms,"
        f" max {times[-1] * 1000:.2f} ms"
    )
    print(
        f"CPU time per CV (whole run incl. scoring): {cpu / len(times) * 1000:.2f} ms;"
        f" load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
