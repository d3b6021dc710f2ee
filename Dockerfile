# The one image of every app service in compose.yaml: web, workers and the migrate step.
# PyTorch comes from its own index: cu128 (default) for GPU workers, or
#   docker compose build --build-arg TORCH_VARIANT=cpu   for a CPU-only deployment.
FROM python:3.11-slim-bookworm

ARG TORCH_VARIANT=cu128
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install --index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}" \
        --extra-index-url https://pypi.org/simple "torch==2.13.0" \
    && mkdir -p annotator projects inference \
    && touch annotator/__init__.py projects/__init__.py inference/__init__.py \
    && pip install . \
    && pip uninstall -y annotator \
    # sam2 from PyPI would pull another torch; without its deps and build isolation it
    # installs on the torch above (no CUDA extension: SAM2 runs without it).
    && SAM2_BUILD_CUDA=0 pip install --no-deps --no-build-isolation "sam2==1.1.0"

# The app runs from its source folder (manage.py, templates, static), not as a package.
COPY . .
RUN useradd --system --uid 1000 --home-dir /app annotator \
    && mkdir -p /data /models \
    && chown annotator:annotator /data /models

USER annotator
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
