package io.relaymesh.relay.apps;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import java.util.Locale;
import java.util.Map;

/**
 * What is sent to the app for one browser request, computed once on the browser's context: the
 * method and URI, the headers without hop-by-hop ones ({@link HopByHop}), {@code Host} = the
 * browser's authority (an HTTP/2 request has no {@code Host} header), {@code Expect} removed
 * (the relay answers {@code 100-continue} itself), and the body framing: the browser's
 * {@code Content-Length}, else chunked for a chunked HTTP/1.1 body or an HTTP/2 body of unknown
 * length, else none. A WebSocket upgrade keeps its {@code Upgrade}/{@code Sec-WebSocket-*}
 * headers and has no body.
 *
 * @param close the browser asked for {@code Connection: close}
 * @param http2 the browser speaks HTTP/2 (the answer goes back as HTTP/2)
 */
record UpstreamRequest(String method, String uri, HttpHeaders headers, Body body, boolean webSocket,
    boolean expectContinue, boolean close, boolean http2) {

  /** How the request body is framed upstream. */
  enum Body { NONE, LENGTH, CHUNKED }

  static UpstreamRequest of(HttpServerRequest req, String uri, MultiMap headers) {
    String method = req.method().name();
    boolean http2 = req.version() == io.vertx.core.http.HttpVersion.HTTP_2;
    boolean ws = !http2 && HopByHop.isWebSocketUpgrade(method, headers);
    HttpHeaders out = new DefaultHttpHeaders();
    HopByHop.copy(headers, out, ws);
    if (!out.contains(HttpHeaderNames.HOST)) {
      HostAndPort authority = req.authority();
      if (authority != null) {
        out.set(HttpHeaderNames.HOST, authority.port() > 0
            ? authority.host() + ":" + authority.port() : authority.host());
      }
    }
    boolean expect = !http2 && out.containsValue(HttpHeaderNames.EXPECT, "100-continue", true);
    out.remove(HttpHeaderNames.EXPECT);
    Body body;
    String length = out.get(HttpHeaderNames.CONTENT_LENGTH);
    if (ws) {
      body = Body.NONE;
      out.remove(HttpHeaderNames.CONTENT_LENGTH);
    } else if (length != null) {
      body = "0".equals(length.trim()) ? Body.NONE : Body.LENGTH;
    } else if (!http2 && isChunked(headers)) {
      body = Body.CHUNKED;
    } else if (http2 && !req.isEnded() && !(method.equals("GET") || method.equals("HEAD"))) {
      body = Body.CHUNKED;
    } else {
      body = Body.NONE;
    }
    if (body == Body.CHUNKED) {
      out.set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
    }
    return new UpstreamRequest(method, uri, out, body, ws, expect && body != Body.NONE,
        HopByHop.saysClose(headers), http2);
  }

  /** The request head; its headers are this plan's (the encoder only reads them). */
  HttpRequest head() {
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1,
        io.netty.handler.codec.http.HttpMethod.valueOf(method), uri, headers);
  }

  private static boolean isChunked(MultiMap headers) {
    for (Map.Entry<String, String> e : headers) {
      if (e.getKey().equalsIgnoreCase("transfer-encoding")
          && e.getValue().toLowerCase(Locale.ROOT).contains("chunked")) {
        return true;
      }
    }
    return false;
  }
}
