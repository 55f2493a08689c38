"""Makes the README's benchmark table from the benchmark's own output, so that it is never
copied by hand.

usage: python3 scripts/bench-table.py SQLITE_OUT POSTGRES_OUT                   print the table
       python3 scripts/bench-table.py SQLITE_OUT POSTGRES_OUT --write FILE [NAME] update FILE
       python3 scripts/bench-table.py SQLITE_OUT POSTGRES_OUT --check FILE [NAME] fail if it differs

SQLITE_OUT and POSTGRES_OUT are what `cargo bench --bench load [-- --scale]` printed
(stdout) on each backend; docs/bench/ keeps the ones the README shows. In FILE the table
sits between the lines `<!-- NAME:start -->` and `<!-- NAME:end -->` (NAME: bench).
"""
import sys



def rows(path):
    """(what, rate, p50, p99, errors, aim) for each measured row, in order, and the header."""
    header, out, notes = "", [], []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("hindsight ") and not header:
            header = line
        if line.startswith(("memory", "live:", "migrations")):
            notes.append(line)
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 6:
            continue
        try:
            rate, p50, p99 = (float(c) for c in cells[1:4])
        except ValueError:
            continue  # the column names
        out.append((cells[0], rate, p50, p99, cells[4], cells[5]))
    if not out:
        sys.exit(f"{path}: no benchmark rows (is it the output of cargo bench --bench load?)")
    return header, out, notes


def number(text):
    return float(text.replace(",", ""))


def met(aim, row, appends):
    """Whether `row` (what, rate, p50, p99, errors, aim) meets `aim` as the benchmark wrote
    it; None for an aim that is not a measurable bound. `appends` is the same backend's
    one-server append rate (for aims stated against it)."""
    import re
    _, rate, p50, p99, errors, _ = row
    checks = []
    for part in (p.strip() for p in aim.split(", ")):
        m = re.fullmatch(r"(p50|p99|first byte)? ?< ([\d.,]+) ms", part)
        if m:
            value = p99 if m.group(1) == "p99" else p50
            checks.append(value < number(m.group(2)))
            continue
        m = re.fullmatch(r">= ([\d.,]+)(?: req)?/s", part)
        if m:
            checks.append(rate >= number(m.group(1)))
            continue
        if part == "0 errors":
            checks.append(errors in ("", "0"))
            continue
        m = re.fullmatch(r"(>|>=) one server's appends", part)
        if m and appends:
            checks.append(rate > appends if m.group(1) == ">" else rate >= appends)
            continue
        return None
    return all(checks) if checks else None


def verdict(ok):
    return {True: "met", False: "**not met**", None: ""}[ok]


def find(rows, prefix):
    return next((r for r in rows if r[0].startswith(prefix)), None)


def across(sqlite, pg):
    """The aims that compare the two databases or a row with the static ceiling."""
    lines = []
    s_app, p_app = find(sqlite, "timeline appends via API"), find(pg, "timeline appends via API")
    if s_app and p_app:
        share = p_app[1] / s_app[1]
        ok = share >= 0.5 and p_app[3] < 50
        lines.append(
            f"- Aim: PostgreSQL appends >= 50% of SQLite's, p99 < 50 ms: {share:.0%} "
            f"({p_app[1]:,.0f} of {s_app[1]:,.0f}/s), p99 {p_app[3]:.1f} ms: {verdict(ok)}"
        )
    s_page, p_page = find(sqlite, "incident page, 1,000 entries"), find(pg, "incident page, 1,000 entries")
    if s_page and p_page:
        share = p_page[1] / s_page[1]
        lines.append(
            f"- Aim: PostgreSQL incident page >= 80% of SQLite's: {share:.0%} "
            f"({p_page[1]:,.0f} of {s_page[1]:,.0f} req/s): {verdict(share >= 0.8)}"
        )
    ceiling = find(sqlite, "same ")
    if s_page and ceiling:
        share = s_page[1] / ceiling[1]
        lines.append(
            f"- Aim: SQLite incident page >= 50% of the same bytes served from memory: {share:.0%} "
            f"({s_page[1]:,.0f} of {ceiling[1]:,.0f} req/s): {verdict(share >= 0.5)}"
        )
    return lines


def table(sqlite_path, pg_path):
    sqlite_header, sqlite, sqlite_notes = rows(sqlite_path)
    pg_header, pg, pg_notes = rows(pg_path)
    by_name = {r[0]: r for r in pg}
    sqlite_names = {r[0] for r in sqlite}
    lines = [
        f"SQLite: `{sqlite_header}`",
        "",
        f"PostgreSQL: `{pg_header}`",
        "",
        "| what | SQLite req/s | p50 ms | p99 ms | PostgreSQL req/s | p50 ms | p99 ms | aim | SQLite | PostgreSQL |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    appends = {
        "s": (find(sqlite, "timeline appends via API") or (0, 0))[1],
        "p": (find(pg, "timeline appends via API") or (0, 0))[1],
    }
    for row in sqlite:
        what, rate, p50, p99, errors, aim = row
        other = by_name.get(what)
        theirs = (
            f"{other[1]:,.0f} | {other[2]:.2f} | {other[3]:.2f}" if other else " | | "
        )
        failed = f" ({errors} errors)" if errors not in ("", "0") else ""
        ours_ok = verdict(met(aim, row, appends["s"]))
        theirs_ok = verdict(met(aim, other, appends["p"])) if other else ""
        lines.append(
            f"| {what}{failed} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {theirs} | {aim} | {ours_ok} | {theirs_ok} |"
        )
    for row in pg:
        what, rate, p50, p99, errors, aim = row
        if what not in sqlite_names:
            failed = f" ({errors} errors)" if errors not in ("", "0") else ""
            ok = verdict(met(aim, row, appends["p"]))
            lines.append(
                f"| {what}{failed} | | | | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {aim} | | {ok} |"
            )
    lines.append("")
    lines.extend(across(sqlite, pg))
    lines.extend(f"- SQLite {n}" for n in sqlite_notes)
    lines.extend(f"- PostgreSQL {n}" for n in pg_notes)
    return "\n".join(lines)


def replaced(text, generated, name):
    START, END = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if START not in text or END not in text:
        sys.exit(f"the file has no {START} … {END} section")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{generated}\n{END}{after}"


def main(args):
    if len(args) not in (2, 4, 5):
        sys.exit(__doc__)
    generated = table(args[0], args[1])
    if len(args) == 2:
        print(generated)
        return
    mode, path = args[2], args[3]
    text = open(path, encoding="utf-8").read()
    want = replaced(text, generated, args[4] if len(args) == 5 else "bench")
    if mode == "--write":
        open(path, "w", encoding="utf-8").write(want)
    elif mode == "--check":
        if want != text:
            again = " ".join(["python3 scripts/bench-table.py", *args]).replace("--check", "--write")
            sys.exit(f"{path}: the benchmark table is not what {args[0]} and {args[1]} give; run {again}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
