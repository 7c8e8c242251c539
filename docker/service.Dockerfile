# syntax=docker/dockerfile:1
#
# One image per fleet binary: auth, tickets, orders, payments, expiration, client.
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=auth -t ticketing/auth .
# skaffold.yaml passes SERVICE through `buildArgs`. The build context is the repository root
# (the Cargo workspace); .dockerignore keeps target/ and .git out of it.
#
# Layers: `chef` (toolchain + cargo-chef) -> `planner` (recipe.json: the dependency graph only)
# -> `builder` (dependencies cooked once for the whole workspace, shared by all six images because
# nothing before the cook depends on SERVICE; then the one binary) -> distroless runtime.

ARG RUST_VERSION=1.95

# Builder and runtime share one Debian release (bookworm = debian12), so the binary's glibc matches.
FROM rust:${RUST_VERSION}-slim-bookworm AS chef
# pkg-config/libssl-dev/cmake: for crates that link OpenSSL or build C (native-tls, aws-lc-sys).
# Versions are not pinned: the base image's Debian suite already fixes them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev cmake \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# Dependencies only: this layer changes only when Cargo.toml/Cargo.lock change.
RUN cargo chef cook --release --locked --bins --recipe-path recipe.json
COPY . .
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<binary>" >&2; exit 1; }
RUN cargo build --release --locked --bin "${SERVICE}" \
    && install -D -m 0755 "target/release/${SERVICE}" /out/service

# glibc, libgcc, libssl3, ca-certificates, tzdata; no shell; user 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="ticketing-${SERVICE}" \
      org.opencontainers.image.description="Ticketing fleet service: ${SERVICE}"
COPY --from=builder /out/service /usr/local/bin/service
USER 65532:65532
ENV PORT=3000
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/service"]
