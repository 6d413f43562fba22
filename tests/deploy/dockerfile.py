"""Replay a Dockerfile's build without a container engine: the stand-in for ``docker build``.

No container engine runs on the build machines and no base image can be pulled, so
``replay(dockerfile, context, root)`` does what the builder would do, stage by stage, on this
machine: ``COPY`` takes files from the build context as ``.dockerignore`` filters it (or from an
earlier stage), ``WORKDIR`` and ``ENV`` set the directory and environment of the next steps,
and ``RUN`` runs its shell command. Every image path ``/x`` lives at ``root/x`` on the host; a
stage that is done moves aside, so a later stage sees only what it copies ``--from`` it, at the
same path (a venv built in one stage works in the next, as in an image).

The base image is this machine: ``python`` is the interpreter running the tests, and the
system packages a final stage installs (``apt-get install``) must already be installed here,
which ``replay`` checks rather than runs; so are the steps that need root (``useradd``,
``chown``, clearing apt's lists). Any other instruction it does not know fails the replay, so
a Dockerfile it cannot reproduce fails the test instead of passing it untested.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["DockerIgnore", "Image", "Instruction", "Stage", "context_files", "parse_dockerfile", "replay"]

# The python image's PATH after the interpreter's own directory.
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Steps of a RUN that need root or the base image's package manager: stood in for by this machine.
ROOT_ONLY = ("apt-get update", "rm -rf /var/lib/apt/lists/*", "useradd ", "chown ")
IGNORED = {"EXPOSE", "HEALTHCHECK", "LABEL", "USER", "ARG"}  # no effect on files or the command run


class ReplayError(AssertionError):
    """The Dockerfile asks for something this replay does not reproduce."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def copies_from(self) -> set[str]:
        """The earlier stages this one reads (``COPY --from=NAME``)."""
        return {match for i in self.instructions if (match := _copy_flags(i)[0].get("from"))}


@dataclass
class Image:
    """What a replayed target leaves: its files under ``root``, environment, directory and command."""

    root: Path
    environment: dict[str, str]
    workdir: Path
    entrypoint: list[str]
    command: list[str]
    copied: list[str]  # build-context paths the replayed stages copied
    apt_packages: list[str]

    def host(self, image_path: str) -> Path:
        """Where an absolute image path lives on this machine."""
        return self.root / image_path.lstrip("/")


class DockerIgnore:
    """``.dockerignore`` rules: glob patterns (``**`` any depth), ``!`` exceptions, last match wins.

    A pattern that matches a directory excludes everything under it, as Docker's does.
    """

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pattern = str(PurePosixPath(line.lstrip("!").strip().lstrip("/")))
            self.rules.append((keep, re.compile(_glob_regex(pattern))))

    def excluded(self, relative: str) -> bool:
        parts = PurePosixPath(relative).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for keep, regex in self.rules:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                verdict = not keep
        return verdict


def _glob_regex(pattern: str) -> str:
    """Docker's glob as a regex over ``/``-separated paths: ``*`` and ``?`` stay in one segment."""
    parts = pattern.split("/")
    regex = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]+/)*"
            continue
        for char in part:
            regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        regex += "" if last else "/"
    return regex


def parse_dockerfile(text: str) -> list[Stage]:
    """The stages in order; continuation lines joined, comments dropped."""
    stages: list[Stage] = []
    logical = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not logical):
            continue
        if not logical:
            start = number
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, arguments = logical.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip(), start)
        logical = ""
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, words[0]))
        elif not stages:
            raise ReplayError(f"line {start}: {instruction.keyword} before FROM")
        else:
            stages[-1].instructions.append(instruction)
    return stages


def _needed(stages: list[Stage], target: str | None) -> list[Stage]:
    """The target stage (default: the last) and the stages it copies from, in file order."""
    by_name = {stage.name: stage for stage in stages}
    wanted: set[str] = set()
    todo = [target or stages[-1].name]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(by_name[name].copies_from())
            if by_name[name].base in by_name:
                raise ReplayError(f"stage {name}: FROM another stage is not reproduced")
    return [stage for stage in stages if stage.name in wanted]


def _copy_flags(instruction: Instruction) -> tuple[dict[str, str], list[str]]:
    if instruction.keyword != "COPY":
        return {}, []
    words = shlex.split(instruction.arguments)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words


def context_files(context: Path, source: str, ignore: DockerIgnore) -> list[str]:
    """The context-relative files a ``COPY`` source names, once ``.dockerignore`` has filtered them."""
    base = context / source
    if base.is_file():
        candidates = [base]
    elif base.is_dir():
        candidates = sorted(path for path in base.rglob("*") if path.is_file() or path.is_symlink())
    else:
        candidates = []
    files = [path.relative_to(context).as_posix() for path in candidates]
    return [name for name in files if not ignore.excluded(name)]


@dataclass
class _StageState:
    root: Path
    environment: dict[str, str]
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)

    def host(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def rebase(self, text: str, image_paths: set[str]) -> str:
        """``text`` with each of the Dockerfile's own absolute paths moved under ``root`` (one pass)."""
        if not image_paths:
            return text
        names = "|".join(re.escape(path) for path in sorted(image_paths, key=len, reverse=True))
        return re.sub(rf"(?<![\w./-])(?:{names})(?=[/:\s\"']|$)", lambda m: str(self.host(m.group(0))), text)


def _own_paths(stages: list[Stage]) -> set[str]:
    """Absolute paths the Dockerfile creates or names: WORKDIRs, COPY targets, path-valued ENV, CMD."""
    paths: set[str] = set()
    for stage in stages:
        for instruction in stage.instructions:
            words: list[str] = []
            if instruction.keyword == "WORKDIR":
                words = [instruction.arguments]
            elif instruction.keyword == "COPY":
                words = _copy_flags(instruction)[1][-1:]
            elif instruction.keyword == "ENV":
                words = [value for _, value in _env_pairs(instruction.arguments)]
            elif instruction.keyword in ("CMD", "ENTRYPOINT"):
                words = json.loads(instruction.arguments)
            paths.update(word for word in words if re.fullmatch(r"(/[\w.-]+)+/?", word))
    return {path.rstrip("/") for path in paths if path != "/"}


def _env_pairs(arguments: str) -> list[tuple[str, str]]:
    return [(word.partition("=")[0], word.partition("=")[2]) for word in shlex.split(arguments)]


def _expand(value: str, environment: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: environment.get(m.group(1), ""), value)


def _base_environment(bin_dir: Path) -> dict[str, str]:
    """This machine as the base image: its Python first on PATH, pip's own settings and cache kept."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(sys._base_executable)  # type: ignore[attr-defined]
    keep = {name: value for name, value in os.environ.items() if not name.startswith(("MG_", "PYTHON"))}
    keep.pop("VIRTUAL_ENV", None)
    return {**keep, "PATH": f"{bin_dir}:{BASE_PATH}"}


def replay(dockerfile: Path, context: Path, root: Path, target: str | None = None) -> Image:
    """Build ``target`` (default: the last stage) of ``dockerfile`` into ``root``; return the image."""
    stages = parse_dockerfile(dockerfile.read_text(encoding="utf-8"))
    ignore_file = context / ".dockerignore"
    ignore = DockerIgnore(ignore_file.read_text(encoding="utf-8") if ignore_file.exists() else "")
    own_paths = _own_paths(stages)
    base_environment = _base_environment(root.parent / "base-bin")
    finished: dict[str, Path] = {}
    copied: list[str] = []
    apt_packages: list[str] = []
    needed = _needed(stages, target)
    state = _StageState(root, dict(base_environment))
    for stage in needed:
        if root.exists():
            raise ReplayError(f"{root} exists: replay into a fresh directory")
        root.mkdir(parents=True)
        state = _StageState(root, dict(base_environment))
        for instruction in stage.instructions:
            _step(instruction, state, own_paths, context, ignore, finished, copied, apt_packages)
        if stage is not needed[-1]:
            finished[stage.name] = root.rename(root.parent / f"stage-{stage.name}")
    return Image(
        root, state.environment, state.host(state.workdir), state.entrypoint, state.command, copied, apt_packages
    )


def _step(
    instruction: Instruction,
    state: _StageState,
    own_paths: set[str],
    context: Path,
    ignore: DockerIgnore,
    finished: dict[str, Path],
    copied: list[str],
    apt_packages: list[str],
) -> None:
    where = f"Dockerfile line {instruction.line}"
    keyword = instruction.keyword
    if keyword in IGNORED:
        return
    if keyword == "WORKDIR":
        state.workdir = str(PurePosixPath(state.workdir) / instruction.arguments)
        state.host(state.workdir).mkdir(parents=True, exist_ok=True)
    elif keyword == "ENV":
        for name, value in _env_pairs(instruction.arguments):
            state.environment[name] = _expand(state.rebase(value, own_paths), state.environment)
    elif keyword == "COPY":
        _copy(instruction, state, context, ignore, finished, copied)
    elif keyword == "RUN":
        for command in instruction.arguments.split("&&"):
            command = command.strip()
            if command.startswith("apt-get install"):
                apt_packages += [word for word in command.split()[2:] if not word.startswith("-")]
            elif not command.startswith(ROOT_ONLY):
                _run(command, state, own_paths, where)
    elif keyword in ("ENTRYPOINT", "CMD"):
        try:
            words = json.loads(instruction.arguments)
        except json.JSONDecodeError:
            raise ReplayError(f"{where}: {keyword} in shell form: use the exec (JSON) form") from None
        if keyword == "ENTRYPOINT":
            state.entrypoint = words
        else:
            state.command = words
    else:
        raise ReplayError(f"{where}: {keyword} is not reproduced by tests/deploy/dockerfile.py")


def _copy(
    instruction: Instruction,
    state: _StageState,
    context: Path,
    ignore: DockerIgnore,
    finished: dict[str, Path],
    copied: list[str],
) -> None:
    flags, words = _copy_flags(instruction)
    *sources, destination = words
    into_directory = destination.endswith("/") or len(sources) > 1
    target = state.host(str(PurePosixPath(state.workdir) / destination))
    for source in sources:
        if "from" in flags:
            origin = finished[flags["from"]] / source.lstrip("/")
            _place(origin, target, into_directory)
            continue
        files = context_files(context, source, ignore)
        if not files:
            raise ReplayError(f"Dockerfile line {instruction.line}: COPY {source}: nothing in the build context")
        copied.extend(files)
        for name in files:
            if (context / source).is_dir():
                destination_file = target / Path(name).relative_to(source)
            else:
                destination_file = target / Path(name).name if into_directory else target
            destination_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(context / name, destination_file, follow_symlinks=False)


def _place(origin: Path, target: Path, into_directory: bool) -> None:
    if origin.is_dir():
        shutil.copytree(origin, target, symlinks=True, dirs_exist_ok=True)
    else:
        destination = target / origin.name if into_directory else target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, destination, follow_symlinks=False)


def _run(command: str, state: _StageState, own_paths: set[str], where: str) -> None:
    result = subprocess.run(
        ["sh", "-c", state.rebase(command, own_paths)],
        cwd=state.host(state.workdir),
        env=state.environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout[-3000:] + result.stderr[-3000:]
        raise ReplayError(f"{where}: RUN {command} exited {result.returncode}:\n{output}")
