"""python -m course_lib.reference [list | table [--write FILE] | train [NAME ...] | requantize [NAME ...] | remeasure NAME ...
                                 | record-quick [NAME ...] | --check [--quick] [NAME ...]]

See the package's docstring."""
import argparse
import sys
from pathlib import Path

from ..errors import CourseError, CourseInputError
from ..io import atomic_open
from . import catalog, views
from .store import read_manifest


def show_list(folder=None, say=print):
    models = read_manifest(folder)["models"]
    for name, recipe in catalog.recipes().items():
        keys = [f"{name}/{m}" for m in recipe.members if f"{name}/{m}" in models]
        weights = sum(models[k]["weights"].get("shipped", True) for k in keys)
        state = "shipped" if len(keys) == len(recipe.members) else f"{len(keys)} of {len(recipe.members)} trained"
        if keys and weights < len(keys):
            state += f" (the weights of {weights} ship, the metrics of all)"
        gpu = ", needs a GPU" if recipe.needs_gpu else ""
        say(f"{name:<22} lesson {recipe.lesson:<3} {len(recipe.members):3d} models, {state}{gpu}: {recipe.what}")


def show_table(folder=None, say=print):
    """The tables of docs/reference-models.md: per recipe with models recorded, its metrics and what
    training them took."""
    models = read_manifest(folder)["models"]
    for name, recipe in catalog.recipes().items():
        entries = {m: models[f"{name}/{m}"] for m in recipe.members if f"{name}/{m}" in models}
        if not entries:
            continue
        seconds = sum(e["trained"]["seconds"] for e in entries.values())
        devices = ", ".join(sorted({e["trained"]["device"] for e in entries.values()}))
        have = "" if len(entries) == len(recipe.members) else f" ({len(entries)} of its {len(recipe.members)} models so far)"
        say(f"**{name}** (lesson {recipe.lesson}): {recipe.what}{have}. Trained in {seconds / 60:.1f} min on "
            f"{devices}; recipe after {recipe.source}.\n")
        metrics = {m: e["metrics"] for m, e in entries.items()}
        if recipe.summarise is not None:
            lines = recipe.summarise(metrics, recipe.members)
        else:
            names = list(dict.fromkeys(k for v in metrics.values() for k in v))   # a model may lack one: "—"
            lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
            lines += [f"| {m} | " + " | ".join(f"{v[k]:.4g}" if k in v else "—" for k in names) + " |"
                      for m, v in metrics.items()]
        for line in lines:
            say(line)
        say("")


START = "<!-- reference-table: start (python -m course_lib.reference table --write docs/reference-models.md) -->"
END = "<!-- reference-table: end -->"


def table_text(folder=None):
    lines = []
    show_table(folder, say=lines.append)
    lines += ["**The targets of lessons 4 and 8b's reference models**, checked on the metrics above:", ""]
    lines += [f"- {line}" for line in views.targets(folder)]
    return "\n".join(lines).strip() + "\n"


def write_table(path, folder=None):
    """Put the tables between the two marker lines of the Markdown file ``path`` (written atomically)."""
    path = Path(path)
    text = path.read_text() if path.is_file() else ""
    if START not in text or END not in text:
        raise CourseInputError(f"{path} has no marker lines {START!r} and {END!r} to write the tables between.")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    with atomic_open(path) as f:
        f.write(f"{before}{START}\n{table_text(folder)}{END}{after}".encode())


COMMANDS = ("list", "train", "table", "requantize", "remeasure", "record-quick")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m course_lib.reference", description=__doc__)
    parser.add_argument("words", nargs="*",
                        metavar="[list | train | table | requantize | remeasure | record-quick] [NAME ...]",
                        help="a command (list by default) and recipe names (default: all)")
    parser.add_argument("--check", action="store_true", help="re-measure every shipped model on the CPU")
    parser.add_argument("--quick", action="store_true",
                        help="with --check: on each recipe's fewer test images, against the quick metrics recorded "
                             "for them (seconds instead of minutes; what make test runs)")
    parser.add_argument("--folder", help="read and write the manifest and weights here instead of in the package")
    parser.add_argument("--device", help="train on this device (default: the best there is)")
    parser.add_argument("--cpu-only", action="store_true", help="train only the recipes that do not need a GPU")
    parser.add_argument("--only", help="train only the models whose names match this pattern, e.g. 'radial-*'")
    parser.add_argument("--write", metavar="FILE", help="with table: write the tables into FILE between its marker lines")
    parser.add_argument("--why", help="with remeasure: what changed in the measurement (recorded in the manifest)")
    parser.add_argument("--again", action="store_true",
                        help="train anew the models the manifest already records (by default they are skipped)")
    return parser


def _check(args):
    problems = catalog.check(args.names or None, args.folder, quick=args.quick)
    for line in problems:
        print("MISMATCH", line)
    print("all shipped reference models agree with their manifest" if not problems
          else f"{len(problems)} mismatch(es)")
    return 1 if problems else 0


def _train(args):
    names = args.names or [n for n, r in catalog.recipes().items() if not (args.cpu_only and r.needs_gpu)]
    for name in names:
        catalog.get_recipe(name)                 # a wrong name fails before any training
    catalog.train(names, args.folder, args.device, only=args.only, again=args.again)
    return 0


def _requantize(args):
    for name in args.names:
        catalog.get_recipe(name)
    tried = catalog.requantize(args.names or None, args.folder)
    print(f"{sum(d != 'float16' for d in tried.values())} of {len(tried)} float16 models now stored in int8")
    return 0


def _remeasure(args):
    if not args.names:
        print("error: remeasure needs the recipe names to measure again", file=sys.stderr)
        return 2
    for name in args.names:
        catalog.remeasure(name, args.why or "", args.folder)
    return 0


def _record_quick(args):
    for name in args.names:
        if not catalog.get_recipe(name).quick:
            print(f"{name} has no quick settings: --check --quick measures it in full, against its metrics")
    problems = catalog.record_quick(args.names or None, args.folder)
    for line in problems:
        print("MISMATCH", line)
    if problems:
        print(f"{len(problems)} mismatch(es) in the full check: no quick metrics recorded for those recipes")
    return 1 if problems else 0


def _table(args):
    if args.write:
        write_table(args.write, args.folder)
        print(f"wrote the tables into {args.write}")
    else:
        print(table_text(args.folder), end="")
    return 0


def _list(args):
    show_list(args.folder)
    return 0


RUN = {"list": _list, "train": _train, "table": _table, "requantize": _requantize, "remeasure": _remeasure,
       "record-quick": _record_quick}


def main(argv=None):
    args = _parser().parse_args(argv)
    words = args.words
    args.command = words[0] if words and words[0] in COMMANDS else None
    args.names = words[1:] if args.command else words
    if args.quick and not args.check:
        print("error: --quick goes with --check (python -m course_lib.reference --check --quick)", file=sys.stderr)
        return 2
    if args.command is None and args.names and not args.check:
        print(f"error: {args.names[0]!r} is not a command; use one of {', '.join(COMMANDS)} "
              "(or --check NAME ... to re-measure some recipes)", file=sys.stderr)
        return 2
    try:
        return _check(args) if args.check else RUN[args.command or "list"](args)
    except CourseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
