package io.relaymesh.control.store;

import io.relaymesh.control.apps.ShareLevel;
import io.vertx.core.Future;
import io.vertx.sqlclient.Tuple;

/**
 * Settings an admin changes at run time, shared by every control-plane replica through the
 * database: for now the maximum share level ({@code max_share_level}, default {@code public}).
 */
public final class SettingsStore {

  public static final String MAX_SHARE_LEVEL = "max_share_level";
  public static final ShareLevel DEFAULT_MAX_SHARE_LEVEL = ShareLevel.PUBLIC;

  private final Db db;

  public SettingsStore(Db db) {
    this.db = db;
  }

  /** The raw value of a setting, or {@code null}. */
  public Future<String> get(String key) {
    return db.one("settings.get", "SELECT value FROM settings WHERE key = $1", Tuple.of(key),
        r -> r.getString("value"));
  }

  /** The highest level a port may be shared at. */
  public Future<ShareLevel> maxShareLevel() {
    return get(MAX_SHARE_LEVEL).map(v -> v == null ? DEFAULT_MAX_SHARE_LEVEL : ShareLevel.parse(v));
  }

  /**
   * Sets the maximum share level and lowers every share above it to it, in one transaction, so
   * that lowering the maximum takes effect for existing shares too (within one app-token
   * lifetime). Returns how many shares were lowered.
   */
  public Future<Integer> setMaxShareLevel(ShareLevel level) {
    return db.tx("settings.set-max-share-level", c ->
        Db.exec(c, "INSERT INTO settings (key, value) VALUES ($1, $2) "
                + "ON CONFLICT (key) DO UPDATE SET value = $2",
                Tuple.of(MAX_SHARE_LEVEL, level.wireName()))
            .compose(x -> Db.exec(c, "UPDATE port_shares SET level = $1, updated_at = now() "
                + "WHERE level = ANY($2::text[])",
                Tuple.tuple().addString(level.wireName()).addArrayOfString(above(level))))
            .map(r -> r.rowCount()));
  }

  private static String[] above(ShareLevel level) {
    return java.util.Arrays.stream(ShareLevel.values())
        .filter(l -> l.compareTo(level) > 0).map(ShareLevel::wireName).toArray(String[]::new);
  }
}
