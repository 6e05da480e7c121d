"""`tamgu <command>`: wiring only. Commands are the table in `commands`; their options are generated from the
library functions' signatures (`argspec`), so every default exists once, in the function."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback

from . import argspec
from .commands import BY_NAME, COMMANDS, COMMON, shape_of
from .errors import TamguError, did_you_mean

PROG = "tamgu"
BUG_EXIT = 70  # sysexits' EX_SOFTWARE: not the user's mistake (2) nor inputs that failed (1)
GROUPS = sorted({c.name.split()[0] for c in COMMANDS if " " in c.name})  # detect, denoise: two-word commands


def top_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Image AI the Kaggle way: chapter 5 of 머신러닝 탐구생활 and more.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="commands:\n" + "\n".join(f"  {c.name:<16} {c.help}" for c in COMMANDS)
                                + f"\n\n`{PROG} COMMAND --help` lists a command's options.")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    return p


def command_parser(name: str) -> tuple[argparse.ArgumentParser, list[argspec.Option]]:
    """The parser of one command, generated from its function (only that function's module is imported)."""
    cmd = BY_NAME[name]
    fn = cmd.function()
    shape = shape_of(cmd)
    p = argparse.ArgumentParser(prog=f"{PROG} {name}", description=cmd.help or argspec.summary_line(fn))
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    options = argspec.options_of(fn, shape, COMMON)
    argspec.add_options(p, options, shape)
    return p, options


def split_command(argv: list[str]) -> tuple[str | None, list[str], bool]:
    """(command name, its arguments, -v given before it) from argv: `detect faces X` -> ("detect faces", [X])."""
    verbose = False
    while argv and argv[0] in ("-v", "--verbose"):
        verbose, argv = True, argv[1:]
    if len(argv) >= 2 and f"{argv[0]} {argv[1]}" in BY_NAME:
        return f"{argv[0]} {argv[1]}", argv[2:], verbose
    if argv and argv[0] in BY_NAME:
        return argv[0], argv[1:], verbose
    if argv and "-" in argv[0] and argv[0].replace("-", " ", 1) in BY_NAME:  # the old spelling: detect-faces
        return argv[0].replace("-", " ", 1), argv[1:], verbose
    return None, argv, verbose


def report_bug(name: str, error: BaseException, verbose: bool) -> None:
    """An error tamgu did not foresee: say it is ours, how to see more and where to report it."""
    if verbose:
        traceback.print_exception(error, file=sys.stderr)
    print(f"{PROG} {name}: internal error ({type(error).__name__}: {error}). This is a bug in tamgu, not in your "
          f"input: please report it with the command and the traceback that `{PROG} -v {name} ...` prints"
          + ("" if verbose else " (run it again with -v to see it)") + ".", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    name, rest, verbose = split_command(argv)
    if name is None:
        if argv and argv[0] in GROUPS:  # `tamgu detect --help`, `tamgu detect`: the group's commands
            subs = [c for c in COMMANDS if c.name.startswith(argv[0] + " ")]
            print(f"usage: {PROG} {argv[0]} {{{','.join(c.name.split()[1] for c in subs)}}} ...\n\n" +
                  "\n".join(f"  {c.name:<16} {c.help}" for c in subs))
            return 0 if rest[1:2] in (["--help"], ["-h"]) or len(rest) == 1 else 2
        top = top_parser()
        if not argv or argv[0] in ("-h", "--help"):
            top.print_help()
            return 0 if argv else 2
        top.error(f"unknown command {argv[0]!r}{did_you_mean(argv[0], BY_NAME)}; `{PROG} --help` lists them")
    parser, options = command_parser(name)
    args = parser.parse_args(argspec.join_dash_values(rest, argspec.value_options(parser)))
    logging.basicConfig(level=logging.INFO if verbose or args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    cmd = BY_NAME[name]
    fn = cmd.function()
    values = argspec.call_values(fn, args, options)
    try:
        result = fn(**values)
        if cmd.show is not None:
            cmd.show(result, values)
    except TamguError as e:  # the user's to fix: one line, what and how
        print(f"{PROG} {name}: error: {e}", file=sys.stderr)
        return e.exit_code
    except (FileExistsError, NotADirectoryError) as e:  # mkdir of an output folder where a file is
        print(f"{PROG} {name}: error: {e.filename} is a file, so it cannot hold outputs: choose another --out "
              "(nothing was written).", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a read-only folder...
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        print(f"{PROG} {name}: error: cannot read or write{where}: {e.strerror or e}. Free some space, fix the "
              "permissions or choose another --out; outputs are written atomically, so earlier ones are intact.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - not a refusal tamgu explains: a bug, reported as one
        report_bug(name, e, verbose or args.verbose)
        return BUG_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
