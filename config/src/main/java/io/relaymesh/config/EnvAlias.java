package io.relaymesh.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Additional environment variable(s) accepted for a key besides its canonical
 * {@code RELAYMESH_<PATH>} name, for names fixed by the public surface (e.g.
 * {@code RELAYMESH_CONFIG_DIR}). The canonical name wins when both are set.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD, ElementType.PARAMETER, ElementType.METHOD})
public @interface EnvAlias {
  String[] value();
}
