package io.relaymesh.proxy.testutil;

import java.util.Arrays;

/** Byte-exact comparison with a short diagnosis instead of a multi-megabyte dump. */
public final class Bytes {
  private Bytes() {}

  public static void assertSame(byte[] expected, byte[] actual) {
    int mismatch = Arrays.mismatch(expected, actual);
    if (mismatch < 0) {
      return;
    }
    String where = "";
    if (mismatch < actual.length) {
      // where do the received bytes at the mismatch really come from?
      byte[] probe = Arrays.copyOfRange(actual, mismatch, Math.min(actual.length, mismatch + 32));
      for (int i = 0; i + probe.length <= expected.length; i++) {
        if (Arrays.equals(expected, i, i + probe.length, probe, 0, probe.length)) {
          where = ", bytes received there are expected at offset " + i;
          break;
        }
      }
    }
    throw new AssertionError("byte mismatch at offset " + mismatch + ": expected "
        + expected.length + " bytes, got " + actual.length + where);
  }
}
