package io.relaymesh.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * One-sentence description of a configuration key, shown in the generated reference page
 * {@code docs/config.md} (see {@link ConfigDocs}). Javadoc is not available at run time, hence
 * this annotation.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD, ElementType.PARAMETER, ElementType.METHOD})
public @interface Doc {
  String value();
}
