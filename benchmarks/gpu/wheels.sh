#!/usr/bin/env bash
# Run HERE (not on the GPU machine): downloads, as wheels for that machine (CPython 3.12,
# manylinux x86_64), the packages `mlops-ci runner doctor / repro / report` need there and its
# image lacks - dvc, pydantic and pygithub with their dependencies - into .whl/ (ignored through
# .git/info/exclude). mlflow is left out: none of these commands imports it (lazy imports).
# Versions follow requirements.lock. Then: benchmarks/gpu/check.sh, with carry [".whl"].
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="${WHEEL_DIR:-.whl}"
if [ "$dest" = .whl ] && ! grep -qx '/.whl/' .git/info/exclude 2>/dev/null; then
  echo '/.whl/' >> .git/info/exclude
fi
mkdir -p "$dest"
# The dependency closure of dvc, pydantic and pygithub as installed in this checkout's venv (from
# requirements.lock), one pinned name per line.
venv_python="${VENV_PYTHON:-.venv/bin/python}"
"$venv_python" - > "$dest/closure.txt" <<'PY'
import re
from importlib.metadata import PackageNotFoundError, distribution
from packaging.requirements import Requirement

env = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux",
       "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
       "platform_python_implementation": "CPython", "os_name": "posix", "extra": ""}
todo, seen = ["dvc", "pydantic", "pygithub"], {}
while todo:
    name = re.sub(r"[-_.]+", "-", todo.pop().lower())
    if name in seen:
        continue
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        continue
    seen[name] = dist.version
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(env):
            todo.append(req.name)
print("\n".join(f"{n}=={v}" for n, v in sorted(seen.items())))
PY
platforms="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
while read -r spec; do
  # shellcheck disable=SC2086
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --abi cp312 $platforms -d "$dest" "$spec" 2>/dev/null \
  || python3 -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$dest" "$spec" \
  || { echo "wheels.sh: no wheel for $spec" >&2; exit 1; }
done < "$dest/closure.txt"
# What the GPU machine's image already has (/work/.library/device/KINDS.md, 2026-11): carrying
# them again would shadow the versions its PyTorch was built with.
present="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs certifi
charset-normalizer click cloudpickle colorama contourpy cycler filelock fonttools frozenlist fsspec h11 h5py
httpcore httpx humanize hypothesis idna iniconfig jinja2 joblib kiwisolver markdown markdown-it-py markupsafe
matplotlib mdurl mpmath msgpack multidict networkx numpy nvidia-ml-py packaging pandas pathspec pillow pip
pluggy portalocker propcache protobuf psutil pyarrow pygments pyparsing python-dateutil pyyaml regex requests
rich scipy setuptools shellingham six sortedcontainers sympy tabulate toolz torch tqdm typer typing-extensions
urllib3 wheel wrapt xxhash yarl zipp"
for wheel in "$dest"/*.whl; do
  name=$(basename "$wheel" | cut -d- -f1 | tr '[:upper:]_.' '[:lower:]--')
  for have in $present; do
    if [ "$name" = "$have" ]; then rm -f "$wheel"; fi
  done
done
find "$dest" -name "*.whl" | wc -l | xargs echo "wheels:"
du -sh "$dest"
