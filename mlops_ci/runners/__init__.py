"""Self-hosted GPU runners: probing the GPUs, the doctor's verdict, labels and JIT runner requests.

``gpu`` parses ``nvidia-smi`` (pure), ``nvidia`` runs it and reads the kernel log, ``gpu_sampler``
and ``gpu_usage`` measure how busy the GPUs were per stage, ``doctor`` decides whether this machine
can run this job (``disk`` checks space and caches), ``selfhosted`` and ``github_runners`` hold the
runner vocabulary and the JIT-config API. May import ``adapters`` and root modules; never ``commands``.
"""
