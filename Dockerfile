# syntax=docker/dockerfile:1
# Relaymesh: one image for the control plane (`server`) and the relays (`relay`); the Helm charts
# in helm/ run it. Not built or tested on the machine this repository is developed on (no Docker
# engine there): see docs/operations.md ("Container image").
#
#   docker build -t relaymesh:dev .
#   docker run --rm relaymesh:dev --help
#
# The native parts (Netty epoll, BoringSSL) are bundled for linux/amd64; other platforms fall
# back to the JDK's NIO transport and TLS engine.

FROM maven:3-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
# the reactor needs every module's pom; only the CLI and what it depends on are built
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -pl cli -am package -DskipTests \
 && cp cli/target/relaymesh.jar /relaymesh.jar

FROM eclipse-temurin:17-jre
LABEL org.opencontainers.image.title="relaymesh" \
      org.opencontainers.image.description="Relaymesh control plane and regional relay" \
      org.opencontainers.image.source="https://github.com/relaymesh/relaymesh"
# a numeric non-root user with a home directory (the default state directories live below it
# when no setting moves them; the charts mount writable volumes instead)
RUN groupadd --system --gid 10001 relaymesh \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/relaymesh --create-home \
      --shell /usr/sbin/nologin relaymesh
COPY --from=build /relaymesh.jar /opt/relaymesh/relaymesh.jar
USER 10001:10001
WORKDIR /home/relaymesh
# relay (TLS) and control plane (HTTP)
EXPOSE 8443 3000
# heap at half the container memory: Netty's pooled direct buffers, thread stacks and the JIT
# need the rest; exit (and be restarted) on OutOfMemoryError instead of limping on
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=50.0", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/relaymesh/relaymesh.jar"]
CMD ["--help"]
