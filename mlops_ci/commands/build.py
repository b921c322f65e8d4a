"""`mlops-ci build`: build the serving image once, push it, and report its digest.

The work is :func:`mlops_ci.image.build.build_image`; this command passes the options in and
writes the outputs (image, digest, tags, build.json, the job summary).
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from mlops_ci.commands import config_option, option, project_option


@click.command()
@project_option()
@config_option()
@option("--repository", default=None, help="Image repository (default: config build.repository, else "
        "ghcr.io/<owner>/<repo>).")
@option("--model", "model", default=None, help="Model file (DVC output) or models:/<name>@<alias> "
        "(default: config build.model, else registry.model_path).")
@option("--model-name", default=None, help="Model name shown by the server (default: config mlflow.model_name / "
        "repository name; for models:/ URIs the registered name).")
@option("--base-image", default=None, help="Base image of the generated Dockerfile (default: config "
        "build.base_image).")
@option("--dockerfile", default=None, help="Use this Dockerfile (context: the repository root) instead of "
        "generating one.")
@option("--tag", "extra_tags", multiple=True, help="Extra tag(s) besides the commit SHA and the release version.")
@option("--push/--no-push", default=None, help="Push the image (default: config build.push).")
@option("--no-cache", is_flag=True, help="Ignore the engine's layer cache (a cold build).")
def build(project_dir: str, config_path: str | None, repository: str | None, model: str | None,
          model_name: str | None, base_image: str | None, dockerfile: str | None, extra_tags: tuple[str, ...],
          push: bool | None, no_cache: bool) -> None:
    """Build the serving image (model baked in), push it, output its digest."""
    from mlops_ci.adapters.docker_engine import DockerEngine
    from mlops_ci.image.build import build_image
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    engine = DockerEngine.from_env(ws.env)
    result = build_image(ws, engine, repository=repository, model=model, model_name=model_name,
                         base_image=base_image, dockerfile=dockerfile, extra_tags=list(extra_tags),
                         push=ws.config.build.push if push is None else push, no_cache=no_cache)
    rt = ws.runtime
    for key in ("image", "digest", "image-ref", "model-name", "model-version", "runtime"):
        rt.set_output(key, str(result.get(key) or ""))
    rt.set_output("tags", "\n".join(result["tags"]))  # one per line, as docker/metadata-action writes them
    rt.write_file("build.json", json.dumps(result, indent=2) + "\n")
    rt.append_summary(_summary(result))
    click.echo(f"built {result['image-ref'] or result['image-id']} ({result['model-name']} "
               f"v{result['model-version']}, runtime {result['runtime']}, {result['size-bytes'] / 1e6:.0f} MB) in "
               f"{result['seconds']:.1f} s, {result['cached-steps']}/{result['steps']} steps from cache")


def _summary(result: dict[str, Any]) -> str:
    """The job-summary part: the facts as list items (consecutive plain lines would render as one)."""
    lines = ["## Serving image built", "",
             f"Model `{result['model-name']}` version **{result['model-version']}** (`{result['model-uri']}`)", ""]
    if result["image-ref"]:
        lines.append(f"Pushed: `{result['image-ref']}`")
    else:
        lines.append(f"Built (not pushed): `{result['image-id']}`")
    lines += ["", "- Tags: " + ", ".join(f"`{t}`" for t in result["tags"]),
              f"- Runtime: **{result['runtime']}** — {result['runtime-note']}",
              f"- Parity case: {result['parity-case']}",
              f"- Size: {result['size-bytes'] / 1e6:.1f} MB (uncompressed).",
              f"- Build: {result['seconds']:.1f} s, {result['cached-steps']}/{result['steps']} steps from cache."]
    return "\n".join(lines) + "\n"
