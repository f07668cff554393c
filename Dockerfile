# The browser UI is built with Node 20 (Vite 8 needs it), then copied into the Python image.
FROM node:20-slim AS ui
WORKDIR /ui
COPY frontend/ ./
RUN npm ci --no-audit --no-fund && npm run build

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml requirements-model.txt README.md manage.py ./
COPY annotate annotate
COPY api api
COPY frontend frontend
COPY --from=ui /ui/dist frontend/dist
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --require-hashes --no-deps -r requirements-model.txt
RUN SECRET_KEY=collectstatic-only DEBUG=False python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "annotate.wsgi:application", "--bind", "0.0.0.0:8000"]
