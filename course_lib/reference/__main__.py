"""python -m course_lib.reference [list | table | train [NAME ...] | --check [NAME ...]]

See the package's docstring."""
import argparse
import sys

from ..errors import CourseError
from . import catalog
from .store import read_manifest


def show_list(folder=None, say=print):
    models = read_manifest(folder)["models"]
    for name, recipe in catalog.recipes().items():
        have = sum(f"{name}/{m}" in models for m in recipe.members)
        state = "shipped" if have == len(recipe.members) else f"{have} of {len(recipe.members)} shipped"
        gpu = ", needs a GPU" if recipe.needs_gpu else ""
        say(f"{name:<22} lesson {recipe.lesson:<3} {len(recipe.members):3d} models, {state}{gpu}: {recipe.what}")


def show_table(folder=None, say=print):
    """The README's tables: per shipped recipe, its recorded metrics and what training them took."""
    models = read_manifest(folder)["models"]
    for name, recipe in catalog.recipes().items():
        keys = [f"{name}/{m}" for m in recipe.members]
        if not all(k in models for k in keys):
            continue
        entries = {m: models[f"{name}/{m}"] for m in recipe.members}
        seconds = sum(e["trained"]["seconds"] for e in entries.values())
        devices = ", ".join(sorted({e["trained"]["device"] for e in entries.values()}))
        say(f"**{name}** (lesson {recipe.lesson}): {recipe.what}. Trained in {seconds / 60:.1f} min on {devices}; "
            f"recipe after {recipe.source}.\n")
        metrics = {m: e["metrics"] for m, e in entries.items()}
        if recipe.summarise is not None:
            lines = recipe.summarise(metrics)
        else:
            names = list(next(iter(metrics.values())))
            lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
            lines += [f"| {m} | " + " | ".join(f"{v[k]:.4g}" for k in names) + " |" for m, v in metrics.items()]
        for line in lines:
            say(line)
        say("")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.reference", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("list", "train", "table"), default="list")
    parser.add_argument("names", nargs="*", help="recipe names (default: all)")
    parser.add_argument("--check", action="store_true", help="re-measure every shipped model on the CPU")
    parser.add_argument("--folder", help="read and write the manifest and weights here instead of in the package")
    parser.add_argument("--device", help="train on this device (default: the best there is)")
    parser.add_argument("--cpu-only", action="store_true", help="train only the recipes that do not need a GPU")
    parser.add_argument("--only", help="train only the models whose names match this pattern, e.g. 'radial-*'")
    parser.add_argument("--again", action="store_true",
                        help="train anew the models the manifest already records (by default they are skipped)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = catalog.check(args.names or None, args.folder)
            for line in problems:
                print("MISMATCH", line)
            print("all shipped reference models agree with their manifest" if not problems
                  else f"{len(problems)} mismatch(es)")
            return 1 if problems else 0
        if args.command == "train":
            names = args.names or [n for n, r in catalog.recipes().items() if not (args.cpu_only and r.needs_gpu)]
            for name in names:
                catalog.get_recipe(name)                 # a wrong name fails before any training
            catalog.train(names, args.folder, args.device, only=args.only, again=args.again)
            return 0
        if args.command == "table":
            show_table(args.folder)
            return 0
        show_list(args.folder)
        return 0
    except CourseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
