# fcgi-conformance with the real FastCGI peers CI tests against.
#
#   docker build -t fcgi-conformance .
#   docker run --rm --network host fcgi-conformance app --connect 127.0.0.1:9000
#   docker run --rm fcgi-conformance app          # the bundled reference application
#
# The peers (php-fpm, nginx, lighttpd, apache2, fcgiwrap, libfcgi, flup,
# Go's net/http/fcgi) are installed by conformance/peers/install.sh, the
# script CI runs, into /opt/fcgi-conformance/peers-bin; start one with
# /opt/fcgi-conformance/peers/start.sh NAME /tmp/peers (see its README).

# Debian 12 with the workspace's minimum Rust, as CI builds it.
FROM rust:1.85-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p fcgi-conformance

FROM debian:bookworm-slim
# cc and libc headers build the libfcgi echo app; python3-venv holds flup.
# The report tests' tools (xmllint, chromium) are left out of the image.
ENV FCGI_PEERS_NO_TEST_TOOLS=1 \
    FCGI_PEERS_BIN=/opt/fcgi-conformance/peers-bin
COPY conformance/peers /opt/fcgi-conformance/peers
# Unpinned, as install.sh installs them for CI: Debian 12's current point
# release; docs/interop.md records the versions measured.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       ca-certificates gcc libc6-dev python3 python3-venv \
    && sh /opt/fcgi-conformance/peers/install.sh "$FCGI_PEERS_BIN" \
    && rm -rf /var/lib/apt/lists/* "$FCGI_PEERS_BIN/.go-cache"
COPY --from=build /src/target/release/fcgi-conformance /usr/local/bin/fcgi-conformance
ENTRYPOINT ["fcgi-conformance"]
CMD ["--help"]
