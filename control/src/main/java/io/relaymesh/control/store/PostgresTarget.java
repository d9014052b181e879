package io.relaymesh.control.store;

import io.vertx.pgclient.PgConnectOptions;

/**
 * Where the control plane's PostgreSQL database is. Built from a URL
 * ({@code postgresql://user:password@host:port/db}, {@code postgres://...} or
 * {@code jdbc:postgresql://host:port/db?user=..&password=..}) or from the embedded server.
 */
public record PostgresTarget(String host, int port, String database, String user, String password) {

  /** Parses a PostgreSQL URL; the message of the exception never contains the password. */
  public static PostgresTarget parse(String url) {
    String u = url.strip();
    if (u.startsWith("jdbc:")) {
      u = u.substring("jdbc:".length());
    }
    if (!u.startsWith("postgresql://") && !u.startsWith("postgres://")) {
      throw new IllegalArgumentException(
          "postgres URL must start with postgresql://, postgres:// or jdbc:postgresql://");
    }
    PgConnectOptions o;
    try {
      o = PgConnectOptions.fromUri(u);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("postgres URL is not valid (scheme://user:password@host:port/database)");
    }
    return new PostgresTarget(o.getHost(), o.getPort(), o.getDatabase(), o.getUser(), o.getPassword());
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://" + host + ":" + port + "/" + database;
  }

  public PgConnectOptions connectOptions() {
    PgConnectOptions o = new PgConnectOptions()
        .setHost(host)
        .setPort(port)
        .setDatabase(database)
        .setUser(user)
        .setCachePreparedStatements(true);
    if (password != null) {
      o.setPassword(password);
    }
    return o;
  }

  /** {@code host:port/database}, safe to log. */
  public String describe() {
    return host + ":" + port + "/" + database;
  }

  @Override
  public String toString() {
    return "PostgresTarget[" + user + "@" + describe() + "]";
  }
}
