# syntax=docker/dockerfile:1
# Parley in a container: `docker build -t parley .`, then `docker run -p 8000:8000 -p 8080:8080
# -v parley-data:/var/lib/parley parley`. compose.yaml runs three of them behind Caddy with
# PostgreSQL and Redis; docs/deploy.md explains both.

# Node for the widget and dashboard bundles, which build.rs makes and the binary embeds.
FROM node:20-bookworm-slim AS node

FROM rust:1-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p parley \
    && install -D -m 0755 target/release/parley /out/parley

# glibc binary on Debian's slim image: the same Debian as the build stage, so the same glibc.
FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --home-dir /var/lib/parley --no-create-home \
       --shell /usr/sbin/nologin parley \
    && install -d -o parley -g parley -m 0750 /var/lib/parley
COPY --from=build /out/parley /usr/bin/parley
# Listen on every interface of the container; the realtime server is told the same.
ENV PARLEY_DATA_DIR=/var/lib/parley \
    PARLEY_HTTP_ADDR=0.0.0.0:8000 \
    REVERB_SERVER_HOST=0.0.0.0 \
    REVERB_SERVER_PORT=8080 \
    APP_ENV=production
USER parley
WORKDIR /var/lib/parley
VOLUME ["/var/lib/parley"]
# 8000: the chat API, widget script and dashboard; 8080: the realtime server (WebSocket /app/…).
EXPOSE 8000 8080
# /up answers 200 when the database, the realtime server and Redis (when used) are up, 503 when
# one is not. No curl in the image: bash's /dev/tcp speaks enough HTTP.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000 && printf 'GET /up HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/parley"]
CMD ["serve"]
