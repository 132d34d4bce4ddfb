# tycho container image.
#   docker build -t tycho .
#   docker run --rm -p 8080:8080 --read-only tycho
# Build stage: the same set-up and build scripts as the README (scripts/setup is
# the one list of Debian dependencies), then the unit tests. Runtime stage: the
# shared libraries the binary links (found with ldd, nothing else), the tycho
# binary, lua/ and routes/, a non-root user; works with a read-only root file
# system (the only writable path is the /tmp volume). Checked statically by
# tests/deploy/test_dockerfile.sh.

FROM debian:bookworm-slim AS build
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when setup changes.
COPY scripts/setup scripts/setup
# `scripts/setup --run-only` installs only what building and running need; the
# unit tests below need two more: libcmocka-dev (CMake configures them,
# TYCHO_TESTS=ON) and python3 (tests/unit/test_http_client.c runs
# tests/aws/fake_http.py with /usr/bin/python3; the base image has no Python,
# and Debian's nodejs does not pull it in).
RUN scripts/setup --run-only \
 && apt-get install -y -qq --no-install-recommends libcmocka-dev python3 \
 && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY scripts/ scripts/
COPY server/ server/
COPY exporters/ exporters/
COPY lua/ lua/
COPY routes/ routes/
COPY tests/ tests/
RUN TYCHO_BUILD_TYPE=Release scripts/build \
 && ctest --test-dir build -L unit --output-on-failure
# The runtime packages are exactly those that own the libraries tycho links.
RUN ldd build/tycho | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' > /tmp/libs \
 && : > /runtime-packages \
 && while read -r lib; do \
      owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null) \
        || { echo "no Debian package owns $lib" >&2; exit 1; }; \
      echo "${owner%%:*}" >> /runtime-packages; \
    done < /tmp/libs \
 && sort -u -o /runtime-packages /runtime-packages \
 && echo "runtime packages: $(tr '\n' ' ' < /runtime-packages)"

FROM debian:bookworm-slim AS runtime
COPY --from=build /runtime-packages /tmp/runtime-packages
# ca-certificates: TLS to AWS endpoints. No curl or wget: the health check is
# `tycho health`.
RUN apt-get update -qq \
 && xargs -a /tmp/runtime-packages apt-get install -y -qq --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin tycho
COPY --from=build /src/build/tycho /usr/local/bin/tycho
COPY lua/ /usr/local/share/tycho/lua/
COPY routes/ /app/routes/
WORKDIR /app
# Scratch space for a read-only root file system (Fargate mounts a task volume
# here; `docker run --read-only` gets an anonymous volume).
VOLUME ["/tmp"]
ENV TYCHO_LISTEN=0.0.0.0:8080 \
    TYCHO_ADMIN_LISTEN=127.0.0.1:9090 \
    TYCHO_DATA_DIR=/tmp \
    TYCHO_LUA_DIR=/usr/local/share/tycho/lua
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
# No --url: `tycho health` checks /health on TYCHO_LISTEN's port, so
# `docker run -e TYCHO_LISTEN=0.0.0.0:3000` stays healthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/tycho", "health"]
ENTRYPOINT ["/usr/local/bin/tycho"]
CMD ["serve", "--routes", "/app/routes"]
