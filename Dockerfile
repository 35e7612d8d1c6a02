# The API image: gunicorn serving the app (see gunicorn.conf.py and api/edge/asgi.py).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HTCONTENT_BIND=0.0.0.0:8000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY schemas ./schemas
COPY seed ./seed
COPY migrations ./migrations
COPY openapi.yaml gunicorn.conf.py ./
RUN pip install --no-cache-dir . && useradd --system --uid 10001 htcontent
USER htcontent
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
