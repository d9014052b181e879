package io.relaymesh.config;

/**
 * Where an effective configuration value came from.
 *
 * @param layer the layer that set it
 * @param where the exact origin: {@code "default"}, {@code "/etc/relaymesh.yaml line 4"},
 *     {@code "RELAYMESH_RELAY_REGION"}, {@code "--region"}
 */
public record Source(Layer layer, String where) {

  /** Layers in increasing precedence. */
  public enum Layer { DEFAULT, FILE, ENV, FLAG }

  public static final Source DEFAULT = new Source(Layer.DEFAULT, "default");

  @Override
  public String toString() {
    return where;
  }
}
