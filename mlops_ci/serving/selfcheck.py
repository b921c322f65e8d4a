"""`python -m mlops_ci.serving.selfcheck`: the image's last build step — can it serve its own model?

Run inside the image being built (as its user, with its interpreter and
libraries): load the model the way the server will, and predict the rows of
the baked-in parity case. An import that fails because a wheel was pruned, a
native library the base image lacks, a model the runtime cannot read: the
build fails here, with the reason, instead of a deploy failing later.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from mlops_ci.serving import MODEL_DIR, PARITY_FILE
from mlops_ci.serving.model import ModelInfo, load_model


def main() -> int:
    model_dir = Path(os.environ.get("MLOPS_SERVING_MODEL_DIR") or MODEL_DIR)
    started = time.perf_counter()
    info = ModelInfo.read(model_dir)
    model = load_model(model_dir, info)
    case = model_dir / PARITY_FILE
    rows = json.loads(case.read_text(encoding="utf-8")).get("rows") or [] if case.is_file() else []
    predictions = model.predict(rows[:50]) if rows else []
    if len(predictions) != len(rows[:50]):
        print(f"selfcheck: {len(rows[:50])} rows in, {len(predictions)} predictions out", file=sys.stderr)
        return 1
    print(f"selfcheck: {info.name} v{info.version} ({info.runtime}) loaded and predicted {len(predictions)} rows "
          f"in {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
