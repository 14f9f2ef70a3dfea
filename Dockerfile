# Multi-stage build of the `todos` binary. Untested here (no Docker engine
# on the machines this project is built on); see compose.yaml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p todos-app \
    && cp target/release/todos /usr/local/bin/todos

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/todos --create-home todos
COPY --from=build /usr/local/bin/todos /usr/local/bin/todos
USER todos
WORKDIR /var/lib/todos
ENV TODOS_ADDR=0.0.0.0:8000
# 9100: metrics, when TODOS_METRICS_ADDR is set (compose.yaml sets it).
EXPOSE 8000 9100
ENTRYPOINT ["todos"]
CMD ["serve"]
