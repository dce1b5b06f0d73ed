# deepclust: multi-stage image. The build stage installs the Makefile's `deps` packages
# and runs the Makefile's CMake build; the runtime stage has only the shared libraries,
# curl for the health check and a non-root user. State lives in the /data volume.
#
#   docker build -t deepclust .                       # add --build-arg DC_TEST=1 to run ctest
#   docker run -p 8080:8080 -v deepclust-data:/data deepclust
#   docker compose -f docker/compose.yaml up --build   # PostgreSQL, 2 API nodes, 2 workers
#   (docs/deploy.md)

FROM debian:bookworm-slim AS build
# Keep in sync with DEPS in the Makefile.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev \
      libopenblas-dev libsqlite3-dev libpq-dev zlib1g-dev curl python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same build as `make build` (RelWithDebInfo, into ./build).
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build -j"$(nproc)"
ARG DC_TEST=0
RUN if [ "$DC_TEST" = 1 ]; then cd build && ctest --output-on-failure; fi
RUN strip -o /deepclust build/deepclust

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libjansson4 libopenblas0 libsqlite3-0 libpq5 zlib1g curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin deepclust \
 && mkdir -p /data && chown deepclust:deepclust /data
COPY --from=build /deepclust /usr/local/bin/deepclust
ENV DEEPCLUST_DB=/data/deepclust.db \
    DEEPCLUST_HOST=0.0.0.0 \
    DEEPCLUST_PORT=8080
VOLUME ["/data"]
WORKDIR /data
USER deepclust
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${DEEPCLUST_PORT:-8080}/healthz" >/dev/null || exit 1
# SIGTERM (docker stop) shuts the service down cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["deepclust"]
CMD ["serve"]
