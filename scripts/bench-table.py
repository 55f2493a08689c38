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
        "| what | SQLite req/s | p50 ms | p99 ms | PostgreSQL req/s | p50 ms | p99 ms | aim |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for what, rate, p50, p99, errors, aim in sqlite:
        other = by_name.get(what)
        theirs = (
            f"{other[1]:,.0f} | {other[2]:.2f} | {other[3]:.2f}" if other else " | | "
        )
        failed = f" ({errors} errors)" if errors not in ("", "0") else ""
        lines.append(f"| {what}{failed} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {theirs} | {aim} |")
    for what, rate, p50, p99, errors, aim in pg:
        if what not in sqlite_names:
            failed = f" ({errors} errors)" if errors not in ("", "0") else ""
            lines.append(f"| {what}{failed} | | | | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {aim} |")
    lines.append("")
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
