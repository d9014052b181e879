package io.relaymesh.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks an {@code int} or {@code long} record component that holds a number of bytes. Its value
 * is read as a plain number of bytes or with a binary unit: {@code 512}, {@code 512B},
 * {@code 64KiB}, {@code 4MiB}, {@code 1GiB}, {@code 1TiB}. Decimal units ({@code MB}) are refused
 * on purpose: they are ambiguous.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD, ElementType.PARAMETER, ElementType.METHOD})
public @interface ByteSize {}
