package io.relaymesh.config.internal;

import io.relaymesh.config.Source;

/**
 * A value as given by a layer, before conversion: a {@code String}, a {@code List<String>} (YAML
 * sequence) or {@code null} (YAML null). Not public API.
 */
public record Raw(Object value, Source source) {}
