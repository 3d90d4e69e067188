"""Remove the trained models that other versions of course_lib left in the model cache.

    python -m course_lib.prune_cache              remove them, and say how much space that freed
    python -m course_lib.prune_cache --dry-run    only say what would be removed
    python -m course_lib.prune_cache --dir D      another cache folder (default: $COURSE_LIB_CACHE
                                                  or ~/.cache/course_lib/models)

A cached model is keyed by the library's source (``cache.code_version``): after an update of the
course, models trained before it are never loaded again, and only take up disk space.  Models of
the current version, and files the cache did not write, are left alone.
"""
import argparse
from pathlib import Path

from .training.cache import cache_dir, code_version, model_files, prune

MIB = 2 ** 20


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.prune_cache",
                                     description="Remove the models that other course_lib versions trained.")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    parser.add_argument("--dir", default=None, help="the cache folder (default: $COURSE_LIB_CACHE or "
                                                    "~/.cache/course_lib/models)")
    args = parser.parse_args(argv)
    folder = Path(args.dir) if args.dir else cache_dir()
    kept, stale = model_files(folder)
    print(f"cache folder {folder}: {len(kept)} models of this course_lib version ({code_version()}), "
          f"{sum(p.stat().st_size for p in kept) / MIB:.1f} MiB, kept")
    if args.dry_run:
        size = sum(p.stat().st_size for p in stale)
        print(f"{len(stale)} models of other versions, {size / MIB:.1f} MiB, would be removed"
              + "".join(f"\n  {p.name}" for p in stale[:20]) + ("\n  ..." if len(stale) > 20 else ""))
        return
    removed, freed = prune(folder)
    print(f"removed {removed} models of other versions, {freed / MIB:.1f} MiB")


if __name__ == "__main__":
    main()
