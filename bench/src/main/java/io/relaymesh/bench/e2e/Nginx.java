package io.relaymesh.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * nginx as the HTTP app (plain HTTP, a 1 KiB static body at {@code /1k}) and, in the same
 * instance, as an HTTPS reverse proxy to it (self-signed EC P-256 certificate, HTTP/1.1 upstream
 * keepalive).
 */
final class Nginx {

  static final String PATH = "/1k";
  static final String BODY = "x".repeat(1023) + "\n";

  private final Procs procs;
  private final Path dir;
  int appPort;
  int tlsPort;
  Procs.Proc proc;

  Nginx(Procs procs, Path dir) {
    this.procs = procs;
    this.dir = dir;
  }

  static String binary() {
    return Files.isExecutable(Path.of("/usr/sbin/nginx")) ? "/usr/sbin/nginx" : null;
  }

  void start() throws Exception {
    Path www = dir.resolve("www");
    Files.createDirectories(www);
    Files.createDirectories(dir.resolve("logs"));
    Files.writeString(www.resolve("1k"), BODY);
    Procs.Result cert = Procs.run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir.resolve("key.pem").toString(), "-out",
        dir.resolve("cert.pem").toString(), "-days", "2", "-subj", "/CN=localhost"), Map.of(), Duration.ofSeconds(30), null);
    if (cert.exit() != 0) {
      throw new IllegalStateException("openssl req: " + cert.err());
    }
    appPort = Procs.freePort();
    tlsPort = Procs.freePort();
    Path pid = dir.resolve("nginx.pid");
    String t = dir.toString();
    Files.writeString(dir.resolve("nginx.conf"), String.join("\n",
        "worker_processes auto;",
        "daemon off;",
        "user root;",
        "pid " + pid + ";",
        "error_log " + t + "/logs/error.log warn;",
        "events { worker_connections 4096; }",
        "http {",
        "  access_log off;",
        "  client_body_temp_path " + t + "/client_body;",
        "  proxy_temp_path " + t + "/proxy;",
        "  fastcgi_temp_path " + t + "/fastcgi;",
        "  uwsgi_temp_path " + t + "/uwsgi;",
        "  scgi_temp_path " + t + "/scgi;",
        "  default_type application/octet-stream;",
        "  sendfile on; tcp_nodelay on; keepalive_requests 1000000; keepalive_timeout 60s;",
        "  server { listen 127.0.0.1:" + appPort + " backlog=4096; root " + www + "; }",
        "  upstream app { server 127.0.0.1:" + appPort + "; keepalive 64; keepalive_requests 1000000; }",
        "  server {",
        "    listen 127.0.0.1:" + tlsPort + " ssl backlog=4096;",
        "    ssl_certificate " + dir.resolve("cert.pem") + ";",
        "    ssl_certificate_key " + dir.resolve("key.pem") + ";",
        "    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; }",
        "  }",
        "}",
        ""));
    proc = procs.start("nginx", List.of(binary(), "-p", t, "-c", dir.resolve("nginx.conf").toString()), Map.of());
    procs.pidFile(pid);
    Procs.await(Duration.ofSeconds(20), "nginx listening", proc, () -> {
      try (var a = Measure.connect(appPort); var b = Measure.connect(tlsPort)) {
        return true;
      } catch (Exception e) {
        return false;
      }
    });
  }
}
